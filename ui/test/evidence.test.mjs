// evidence.test.mjs: the offline HTML verifier's checks (ui/src/evidence.ts)
// against Go's evidence vectors (internal/evidence/testdata/bundle-v1.json
// and bundle-v2.json): on each case — the bundle as is, pinned or not,
// witness trusted or not, and every systematic corruption — the page's
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

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "camchain-ui-evidence-"));
const entry = join(dir, "entry.ts");
writeFileSync(entry, `export * from ${JSON.stringify(join(here, "..", "src", "evidence"))};`);
const out = join(dir, "evidence.mjs");
await build({ entryPoints: [entry], bundle: true, format: "esm", platform: "neutral", outfile: out, logLevel: "warning", mainFields: ["module", "main"] });
const ev = await import(pathToFileURL(out).href);

const hex = (s) => Uint8Array.from(Buffer.from(s, "hex"));

for (const name of ["bundle-v1", "bundle-v2"]) {
  const vec = JSON.parse(readFileSync(join(root, "internal", "evidence", "testdata", name + ".json"), "utf8"));
  const bundle = readFileSync(join(root, "internal", "evidence", "testdata", name + ".cbor"));
  const now = BigInt(Math.floor(Date.parse(vec.now) / 1000));
  for (const c of vec.cases) {
    test(`${name}: ${c.comment} → ${c.expect}`, () => {
      let b = Uint8Array.from(bundle);
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
      if (c.report) assert.deepEqual(ev.reportJSON(rep), c.report);
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
  test(`${cases.length} corrupted bundles: the verdicts Go gives`, () => {
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
    }
    assert.deepEqual(wrong, []);
  });
}
