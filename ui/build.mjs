// build.mjs: builds camchain's web UI into ../internal/webui/dist (or the
// directory given with --out), which camchaind embeds with go:embed.
//
// The output is deterministic (same sources and toolchain, same bytes), so
// a test can rebuild into a temporary directory and compare with the
// committed build (internal/webui TestCommittedBuildIsFresh). Type checking
// is `npm run check` (tsc --noEmit), run by `make ui`.
//
// Files: index.html (names the hashed assets), app-<hash>.js,
// app-<hash>.css, and chunk-<hash>.js files the app imports on demand (the
// QR scanner). Nothing is loaded from anywhere else.
//
// It also builds the offline evidence verifier (src/verifier.ts): one HTML
// file with its script and stylesheet inline, allowed by their hashes in
// the page's own Content-Security-Policy (no network at all), into
// ../internal/webui/verifier/verify.html (or --verifier-out DIR), where
// `camchain evidence export --html` puts a bundle into it.
import { createHash } from "node:crypto";
import { build } from "esbuild";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const argOut = process.argv.indexOf("--out");
const out = argOut > 0 ? process.argv[argOut + 1] : join(here, "..", "internal", "webui", "dist");
const argVer = process.argv.indexOf("--verifier-out");
const verOut = argVer > 0 ? process.argv[argVer + 1] : join(here, "..", "internal", "webui", "verifier");

const res = await build({
  entryPoints: [join(here, "src", "main.ts"), join(here, "src", "style.css")],
  bundle: true,
  splitting: true, // the QR scanner (jsQR) loads only when the user scans
  minify: true,
  format: "esm",
  target: ["es2022", "chrome111", "firefox115", "safari16"],
  legalComments: "none",
  charset: "utf8",
  write: false,
  outdir: "/out",
  entryNames: "app-[hash]",
  chunkNames: "chunk-[hash]",
  metafile: true,
  logLevel: "warning",
});

const files = {};
const chunks = [];
for (const f of res.outputFiles) {
  const name = f.path.slice("/out/".length);
  const meta = res.metafile.outputs["../out/" + name] ?? res.metafile.outputs[Object.keys(res.metafile.outputs).find((k) => k.endsWith("/" + name))];
  const entry = meta?.entryPoint ?? "";
  if (entry.endsWith("main.ts")) files.js = { name, bytes: f.contents };
  else if (entry.endsWith("style.css")) files.css = { name, bytes: f.contents };
  else chunks.push({ name, bytes: f.contents });
}
if (!files.js || !files.css) throw new Error("build: no app script or stylesheet among " + res.outputFiles.map((f) => f.path));

let html = readFileSync(join(here, "src", "index.html"), "utf8");
html = html.replace("{{CSS}}", "/" + files.css.name).replace("{{JS}}", "/" + files.js.name);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "index.html"), html);
for (const f of [...Object.values(files), ...chunks]) writeFileSync(join(out, f.name), f.bytes);
for (const n of readdirSync(out).sort()) console.log(n);

// The verifier: one file.
const ver = await build({
  entryPoints: [join(here, "src", "verifier.ts"), join(here, "src", "verifier.css")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2022", "chrome111", "firefox115", "safari16"],
  legalComments: "none",
  charset: "utf8",
  write: false,
  outdir: "/ver",
  logLevel: "warning",
});
const vjs = new TextDecoder().decode(ver.outputFiles.find((f) => f.path.endsWith(".js")).contents).trimEnd();
const vcss = new TextDecoder().decode(ver.outputFiles.find((f) => f.path.endsWith(".css")).contents).trimEnd();
if (/<\/script|<!--/i.test(vjs) || /<\/style/i.test(vcss)) throw new Error("build: the verifier's script or style would end its element early");
const hash = (s) => "'sha256-" + createHash("sha256").update(s, "utf8").digest("base64") + "'";
const csp = `default-src 'none'; script-src ${hash(vjs)}; style-src ${hash(vcss)}; media-src blob:; base-uri 'none'; form-action 'none'`;
let vhtml = readFileSync(join(here, "src", "verifier.html"), "utf8");
vhtml = vhtml.replace("{{CSP}}", csp).replace("{{CSS}}", () => vcss).replace("{{JS}}", () => vjs);
if ((vhtml.match(/@@BUNDLE@@/g) ?? []).length !== 1) throw new Error("build: the verifier must hold the bundle marker exactly once");
rmSync(verOut, { recursive: true, force: true });
mkdirSync(verOut, { recursive: true });
writeFileSync(join(verOut, "verify.html"), vhtml);
console.log("verifier/verify.html", vhtml.length, "bytes");
