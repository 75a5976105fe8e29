// verifyrate.mjs: the web player's verification in Debian's Chromium, for
// tools/bench's player group (player.go). Usage:
//
//   node test/verifyrate.mjs INPUT.json RUNS [KEYS.json]
//
// INPUT is a recorded playback session as the hub sent it (its binary
// frames, base64) with the hub, camera, stream and nonce the page would
// check it against. Each run verifies every frame with the page's own
// Verifier (ui/src/viewchain.ts: session chain, camera signature, record
// chain, SHA-256 of the bytes against the record), then — the baseline, in
// the same page — computes SHA-256 alone over the same segments' bytes
// with the same library (@noble/hashes). Prints JSON {segments, bytes,
// verifyMs: [...], shaMs: [...]}.
//
// With KEYS ({account, signature, envelope}: the viewer's account, its
// viewing-key signature, the camera's key envelope, hex) the session is
// sealed (SPEC §17.2): each run then also verifies and decrypts every
// segment as the player does (the page's Keyring: the envelope checked as
// the camera's and opened with the viewing key once per run, then per
// segment HKDF and AES-GCM in WebCrypto), reported as decryptMs beside
// verifyMs of the same sealed frames.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const [input, runsArg, keysArg] = process.argv.slice(2);
const runs = Number(runsArg || 5);
const src = join(here, "..", "src");
const b = await build({
  stdin: { contents: `export { Verifier } from "./viewchain"; export { sha256 } from "@noble/hashes/sha2.js"; export { fromHex } from "./bytes"; export { Keyring, loadViewingKey } from "./e2ee"; export { seedFromSignature } from "./viewingkey";`, resolveDir: src, loader: "ts" },
  bundle: true,
  format: "iife",
  globalName: "cc",
  minify: true,
  target: "es2022",
  write: false,
  logLevel: "warning",
});
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
try {
  const page = await browser.newPage();
  // Served as http://localhost/ (a secure context: WebCrypto's subtle is there, as on a hub's page).
  await page.route("http://localhost/", (r) => r.fulfill({ contentType: "text/html", body: "<!doctype html><title>verify rate</title>" }));
  await page.goto("http://localhost/");
  await page.addScriptTag({ content: b.outputFiles[0].text });
  const out = await page.evaluate(
    async ({ s, runs, keys }) => {
      const dec = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const frames = s.frames.map(dec);
      const nonce = cc.fromHex(s.nonce, 16);
      const res = { segments: 0, bytes: 0, verifyMs: [], shaMs: [], decryptMs: [], plainBytes: 0 };
      const vk = keys ? await cc.loadViewingKey(keys.account, await cc.seedFromSignature(keys.account, keys.signature)) : null;
      let datas = [];
      for (let r = 0; r < runs; r++) {
        const t0 = performance.now();
        const v = new cc.Verifier(s.hub, s.camera, nonce, s.stream);
        const got = [];
        for (const f of frames) {
          const c = v.frame(f);
          if (c) got.push(c.data);
        }
        v.finish(true);
        res.verifyMs.push(performance.now() - t0);
        datas = got;
        const t1 = performance.now();
        let x = 0;
        for (const d of got) x ^= cc.sha256(d)[0];
        res.shaMs.push(performance.now() - t1);
        if (x === 256) throw new Error("unreachable"); // keeps the hashes used
        if (vk) {
          const t2 = performance.now();
          const ring = new cc.Keyring(keys.account, async () => vk, async () => cc.fromHex(keys.envelope));
          const v2 = new cc.Verifier(s.hub, s.camera, nonce, s.stream);
          let plain = 0;
          for (const f of frames) {
            const c = v2.frame(f);
            if (c) plain += (await ring.open(s.camera, c.record.epoch, 0, c.record.seq, c.data, null)).length;
          }
          v2.finish(true);
          res.decryptMs.push(performance.now() - t2);
          res.plainBytes = plain;
        }
      }
      res.segments = datas.length;
      res.bytes = datas.reduce((n, d) => n + d.length, 0);
      return res;
    },
    { s: JSON.parse(readFileSync(input, "utf8")), runs, keys: keysArg ? JSON.parse(readFileSync(keysArg, "utf8")) : null },
  );
  process.stdout.write(JSON.stringify(out));
} finally {
  await browser.close();
}
