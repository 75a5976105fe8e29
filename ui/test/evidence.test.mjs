// evidence.test.mjs: the offline HTML verifier's checks (ui/src/evidence.ts)
// against Go's evidence vectors (internal/evidence/testdata/bundle-v1.json,
// bundle-v2.json and bundle-v3.json): on each case — the bundle as is,
// pinned or not, witness trusted or not, every systematic corruption and
// every attack on the validator-set history — the page's
// verdict is the kind Go's evidence.Verify gives, and on a bundle that
// verifies its report is Go's report, field for field. internal/webui
// TestEvidenceVerifierAgainstVectors runs it.
import assert from "node:assert/strict";
import { readFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { test } from "node:test";
import { build } from "esbuild";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { randomBytes } from "node:crypto";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "camchain-ui-evidence-"));
const entry = join(dir, "entry.ts");
writeFileSync(
  entry,
  `export * from ${JSON.stringify(join(here, "..", "src", "evidence"))};\nexport { KnownSigner, recoverKey, signerOf, addressOf } from ${JSON.stringify(join(here, "..", "src", "feedchain"))};\nexport { decodeBundle } from ${JSON.stringify(join(here, "..", "src", "bundle"))};`,
);
const out = join(dir, "evidence.mjs");
await build({ entryPoints: [entry], bundle: true, format: "esm", platform: "neutral", outfile: out, logLevel: "warning", mainFields: ["module", "main"] });
const ev = await import(pathToFileURL(out).href);

const hex = (s) => Uint8Array.from(Buffer.from(s, "hex"));

for (const name of ["bundle-v1", "bundle-v2", "bundle-v3"]) {
  const testdata = join(root, "internal", "evidence", "testdata");
  const vec = JSON.parse(readFileSync(join(testdata, name + ".json"), "utf8"));
  const bundle = readFileSync(join(testdata, name + ".cbor"));
  const now = BigInt(Math.floor(Date.parse(vec.now) / 1000));
  for (const c of vec.cases) {
    test(`${name}: ${c.comment} → ${c.expect}`, async () => {
      // bundle-v3's attacks on the history are bundle files of their own.
      let b = Uint8Array.from(c.variant ? readFileSync(join(testdata, c.variant)) : bundle);
      if (c.flip) b[c.flip.offset] ^= c.flip.xor;
      if (c.append) b = Uint8Array.from([...b, ...hex(c.append)]);
      const opts = { now };
      if (c.pinned_validators_hash) opts.pin = hex(c.pinned_validators_hash);
      if (c.trust_witness) opts.witnesses = [ev.parseWitnessKey(vec.witness)];
      let rep, kind = "ok", err;
      try {
        rep = ev.verifyBytes(b, opts);
      } catch (e) {
        err = e;
        kind = ev.kindOf(e);
      }
      assert.equal(kind, c.expect, `verdict ${kind} (${err?.message}), Go says ${c.expect}`);
      if (c.reason) assert.ok(err.message.includes(c.reason), `the page says ${JSON.stringify(err.message)}, Go's error says ${JSON.stringify(c.reason)}`);
      if (c.report) assert.deepEqual(ev.reportJSON(rep), c.report);
      // The page's path: segments hashed by WebCrypto, the same verdict.
      let arep, akind = "ok", aerr;
      try {
        arep = await ev.verifyBytesAsync(b, opts);
      } catch (e) {
        aerr = e;
        akind = ev.kindOf(e);
      }
      assert.equal(akind, c.expect, `with WebCrypto digests: verdict ${akind} (${aerr?.message}), Go says ${c.expect}`);
      if (c.report) assert.deepEqual(ev.reportJSON(arep), c.report);
    });
  }
}

test("a witness key string round-trips and a wrong id is refused", () => {
  const vec = JSON.parse(readFileSync(join(root, "internal", "evidence", "testdata", "bundle-v2.json"), "utf8"));
  const k = ev.parseWitnessKey(vec.witness);
  assert.equal(ev.witnessKeyString(k), vec.witness);
  const bad = vec.witness.replace(/\+[0-9a-f]{8}\+/, "+00000000+");
  assert.throws(() => ev.parseWitnessKey(bad), /key id/);
});

// EVIDENCE_CASES (from internal/webui TestEvidenceVerifierAgreesWithGo):
// bundles corrupted all over, each with the verdict Go gave.
if (process.env.EVIDENCE_CASES) {
  const cases = JSON.parse(readFileSync(process.env.EVIDENCE_CASES, "utf8"));
  const data = {};
  test(`${cases.length} corrupted bundles: the verdicts Go gives`, async () => {
    const wrong = [];
    for (const c of cases) {
      data[c.bundle] ??= readFileSync(join(root, "internal", "evidence", "testdata", c.bundle + ".cbor"));
      let b = Uint8Array.from(data[c.bundle]);
      if (c.offset >= 0) b[c.offset] ^= c.xor;
      if (c.truncate) b = b.subarray(0, c.truncate);
      const opts = { now: BigInt(Math.floor(Date.parse(c.now) / 1000)), pin: hex(c.pin) };
      if (c.witness) opts.witnesses = [ev.parseWitnessKey(c.witness)];
      let kind = "ok", msg = "";
      try {
        ev.verifyBytes(b, opts);
      } catch (e) {
        kind = ev.kindOf(e);
        msg = e.message;
      }
      if (kind !== c.expect) wrong.push(`${c.bundle} offset ${c.offset} xor ${c.xor} cut ${c.truncate ?? "-"}: page ${kind} (${msg}), Go ${c.expect}`);
      let akind = "ok";
      try {
        await ev.verifyBytesAsync(b, opts);
      } catch (e) {
        akind = ev.kindOf(e);
      }
      if (akind !== c.expect) wrong.push(`${c.bundle} offset ${c.offset} xor ${c.xor} cut ${c.truncate ?? "-"}: page with WebCrypto digests ${akind}, Go ${c.expect}`);
    }
    assert.deepEqual(wrong, []);
  });
}

// KnownSigner is the record check's fast path: it must say yes exactly when
// recovery gives its key — never for a flipped recovery id, another key's
// signature, a high s, or another digest.
test("KnownSigner agrees with recovery", () => {
  const N = secp256k1.Point.CURVE().n;
  const other = ev.recoverKey; // keep the import used
  assert.ok(other);
  for (let i = 0; i < 60; i++) {
    const sk = secp256k1.utils.randomSecretKey();
    const pub = secp256k1.getPublicKey(sk, false);
    const digest = Uint8Array.from(randomBytes(32));
    const sig = secp256k1.sign(digest, sk, { prehash: false, format: "recovered", lowS: true });
    const eth = Uint8Array.from([...sig.subarray(1, 65), sig[0] + 27]);
    const k = new ev.KnownSigner(pub);
    assert.equal(ev.signerOf(digest, eth), ev.addressOf(pub));
    assert.equal(k.recovers(digest, eth), true);
    const flipped = Uint8Array.from(eth);
    flipped[64] = flipped[64] === 27 ? 28 : 27;
    assert.equal(k.recovers(digest, flipped), ev.signerOf(digest, flipped) === ev.addressOf(pub));
    assert.equal(k.recovers(digest, flipped), false);
    const d2 = Uint8Array.from(digest);
    d2[0] ^= 1;
    assert.equal(k.recovers(d2, eth), false);
    let s = 0n;
    for (const b of eth.subarray(32, 64)) s = (s << 8n) | BigInt(b);
    const high = Uint8Array.from(eth);
    let hs = N - s;
    for (let j = 63; j >= 32; j--) {
      high[j] = Number(hs & 0xffn);
      hs >>= 8n;
    }
    high[64] = high[64] === 27 ? 28 : 27;
    assert.equal(k.recovers(digest, high), false, "a high-s twin is not the ledger's signature");
    const sk2 = secp256k1.utils.randomSecretKey();
    const sig2 = secp256k1.sign(digest, sk2, { prehash: false, format: "recovered", lowS: true });
    assert.equal(k.recovers(digest, Uint8Array.from([...sig2.subarray(1, 65), sig2[0] + 27])), false);
  }
});

// recoversAll (one batch inversion for a batch) answers, for each
// signature of a batch mixing genuine ones with every kind the check
// refuses, what recovers (one inversion each) and recovery answer alone —
// wherever in the batch the refused ones are.
test("KnownSigner.recoversAll is recovers of each", () => {
  const N = secp256k1.Point.CURVE().n;
  const sk = secp256k1.utils.randomSecretKey();
  const pub = secp256k1.getPublicKey(sk, false);
  const k = new ev.KnownSigner(pub);
  const be = (x) => Uint8Array.from(Buffer.from(x.toString(16).padStart(64, "0"), "hex"));
  const batch = [];
  for (let i = 0; i < 40; i++) {
    const digest = Uint8Array.from(randomBytes(32));
    const sig = secp256k1.sign(digest, sk, { prehash: false, format: "recovered", lowS: true });
    const eth = Uint8Array.from([...sig.subarray(1, 65), sig[0] + 27]);
    const bad = Uint8Array.from(eth);
    const d2 = Uint8Array.from(digest);
    switch (i % 8) {
      case 1: bad[64] ^= 0x07; break; // 27 ↔ 28: the other R
      case 2: d2[31] ^= 1; break; // another digest
      case 3: bad.set(be(0n), 0); break; // r = 0
      case 4: bad.set(be(N), 0); break; // r = n
      case 5: bad.set(be(N - 1n), 32); break; // high s
      case 6: bad[64] = 29; break;
      case 7: { const o = secp256k1.sign(digest, secp256k1.utils.randomSecretKey(), { prehash: false, format: "recovered", lowS: true }); bad.set(o.subarray(1, 65)); bad[64] = o[0] + 27; break; }
    }
    batch.push({ digest: d2, sig: i % 8 === 0 || i % 8 === 2 ? eth : bad });
  }
  batch.push({ digest: new Uint8Array(32), sig: new Uint8Array(0) });
  const one = batch.map(({ digest, sig }) => k.recovers(digest, sig));
  const byRecovery = batch.map(({ digest, sig }) => { try { return ev.signerOf(digest, sig) === ev.addressOf(pub); } catch { return false; } });
  assert.deepEqual(one, byRecovery);
  assert.deepEqual(k.recoversAll(batch), one);
  assert.deepEqual(k.recoversAll([...batch].reverse()), [...one].reverse());
  assert.equal(one.filter(Boolean).length, 5, "only the genuine signatures recover to the key");
  assert.deepEqual(k.recoversAll([]), []);
});

// Version 4 (SPEC §10.8): bundle-v4 reveals the segment keys of #0 and #2
// of its 3 sealed clips. The page's report is Go's, field for field (#0
// and #2 revealed, #1 sealed); the revealed clips open to the plaintext
// Go sealed (WebCrypto AES-GCM); a key flipped, a key for a record not in
// the bundle, or bound to another content key is a reveal failure; two
// keys for one clip are malformed — the verdicts reveal_test.go gives.
{
  const testdata = join(root, "internal", "evidence", "testdata");
  const vec = JSON.parse(readFileSync(join(testdata, "bundle-v4.json"), "utf8"));
  const bundle = readFileSync(join(testdata, "bundle-v4.cbor"));
  const opts = { now: BigInt(Math.floor(Date.parse(vec.now) / 1000)), pin: hex(vec.validators_hash) };
  const n = bundle.length; // the last reveal: 83 <seq> <serial> 58 20 <key 32>
  const cases = [
    ["as is", (b) => b, "ok"],
    ["a bit of #2's key flipped", (b) => ((b[n - 1] ^= 1), b), "reveal"],
    ["#2's key given for record #9, not a clip of the bundle", (b) => ((b[n - 36] = 9), b), "reveal"],
    ["#2's key bound to content key 2", (b) => ((b[n - 35] = 2), b), "reveal"],
    ["#2's key given as #0's a second time", (b) => ((b[n - 36] = 0), b), "malformed"],
  ];
  for (const [name, edit, expect] of cases) {
    test(`bundle-v4: ${name} → ${expect}`, async () => {
      assert.equal(bundle[n - 37], 0x83);
      const b = edit(Uint8Array.from(bundle));
      let rep, kind = "ok", err;
      try {
        rep = await ev.verifyBytesAsync(b, opts);
      } catch (e) {
        err = e;
        kind = ev.kindOf(e);
      }
      assert.equal(kind, expect, `verdict ${kind} (${err?.message})`);
      if (expect !== "ok") return;
      assert.deepEqual(ev.reportJSON(rep), vec.report);
      const d = ev.decodeBundle(b);
      for (const [i, c] of rep.clips.entries()) {
        const p = await ev.playable(d, i);
        const want = vec.plaintext_sha256[String(c.seq)];
        if (!want) {
          assert.equal(p, null, `clip ${i}, not revealed, plays`);
          continue;
        }
        assert.equal(Buffer.from(await crypto.subtle.digest("SHA-256", p)).toString("hex"), want, `clip ${i}'s plaintext`);
      }
    });
  }
}
