// unit.test.mjs: the page's own crypto and encodings (ui/src, bundled here
// with the pinned esbuild) against the ledger's vectors and the Go pairing
// code, and its decoders against malformed input. internal/webui
// TestUIAgainstVectors runs it; PAIRING_CODE (a code made by Go's
// pairing.NewCode) and its fields come from there.
//
//   - EIP-712 domain v2: digestV2 and walletJSON equal every page-signable
//     vector of internal/tx/testdata/vectors_v2.json;
//   - transactions: encodeTx re-encodes each vector's wire bytes exactly;
//   - signatures: recover() gives the vector's signer; normalize() maps a
//     high-s or v=0/1 signature to the one canonical form;
//   - pairing codes: parseCode reads Go's code, and refuses every one-symbol
//     change it cannot read as a code (never throwing anything but an Error);
//   - CBOR: non-minimal integers, trailing bytes, indefinite lengths and
//     truncation are refused.
import assert from "node:assert/strict";
import { readFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { test } from "node:test";
import { build } from "esbuild";
import { Wallet, Signature } from "ethers";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "camchain-ui-unit-"));
const entry = join(dir, "entry.ts");
writeFileSync(
  entry,
  ["eip712", "tx", "sig", "cbor", "bytes", "pairing"].map((m) => `export * from ${JSON.stringify(join(here, "..", "src", m))};`).join("\n"),
);
const out = join(dir, "ui.mjs");
// The page modules touch window only in wallet.ts/api.ts, which pairing.ts
// imports; a bare global keeps them loadable in Node.
globalThis.window = globalThis.window ?? { addEventListener() {}, dispatchEvent() {} };
await build({ entryPoints: [entry], bundle: true, format: "esm", platform: "neutral", outfile: out, logLevel: "warning", mainFields: ["module", "main"] });
const ui = await import(pathToFileURL(out).href);

const vectors = JSON.parse(readFileSync(join(root, "internal", "tx", "testdata", "vectors_v2.json"), "utf8"));
const ledger = `camchain-${vectors.chain_id}`;
const signable = vectors.valid.filter((v) => v.type in ui.TYPES);

function message(v) {
  const m = {};
  for (const f of ui.TYPES[v.type]) {
    const raw = v.typed_data.message[f.name];
    m[f.name] = f.type === "uint64" ? BigInt(raw) : raw;
  }
  return m;
}

test("every page-signable type is among the vectors", () => {
  assert.deepEqual(signable.map((v) => v.type).sort(), Object.keys(ui.TYPES).sort());
});

test("the v2 salt is keccak256 of the ledger's chain id", () => {
  assert.equal(ui.hex0x(ui.ledgerSalt(ledger)), vectors.salt);
});

for (const v of signable) {
  test(`${v.type}: digest, wallet JSON, wire bytes and signer match the ledger's vector`, () => {
    const m = message(v);
    assert.equal(ui.hex0x(ui.digestV2(ledger, v.type, m)), v.eip712_digest);
    assert.deepEqual(JSON.parse(ui.walletJSON(ledger, v.type, m)), v.typed_data);
    const wire = ui.fromHex(v.wire);
    const sigs = ui.decode(wire)[4];
    assert.equal(ui.hex0x(ui.encodeTx(BigInt(vectors.chain_id), v.type, m, sigs)), v.wire);
    v.signers.forEach((name, i) => {
      assert.equal(ui.recover(ui.fromHex(v.eip712_digest), sigs[i]), new Wallet(vectors.private_keys[name]).address);
    });
  });
}

test("normalize: v 0/1 and high s become the one canonical signature", () => {
  const v = signable[0];
  const sig = ui.decode(ui.fromHex(v.wire))[4][0];
  const canonical = ui.hex0x(sig);
  const s = Signature.from(canonical);
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const highS = "0x" + s.r.slice(2) + (n - BigInt(s.s)).toString(16).padStart(64, "0") + (s.v === 27 ? "1c" : "1b");
  assert.equal(ui.hex0x(ui.normalize(highS)), canonical);
  assert.equal(ui.hex0x(ui.normalize(canonical.slice(0, -2) + (sig[64] - 27).toString(16).padStart(2, "0"))), canonical);
  assert.throws(() => ui.normalize(canonical.slice(0, -2) + "05"));
  assert.throws(() => ui.normalize(canonical.slice(0, -4)));
});

test("a pairing code from Go parses to its fields", () => {
  const c = ui.parseCode(process.env.PAIRING_CODE);
  assert.equal(c.camera, process.env.PAIRING_CAMERA);
  assert.equal(c.addr, process.env.PAIRING_ADDR);
  assert.equal(c.epoch, BigInt(process.env.PAIRING_EPOCH));
  assert.equal(c.expiry, Number(process.env.PAIRING_EXPIRY));
  assert.equal(ui.parseCode("  " + process.env.PAIRING_CODE.toLowerCase() + "\n").camera, c.camera, "case and spaces do not matter");
});

test("a pairing code with any one symbol changed is refused or still a well-formed code", () => {
  const code = process.env.PAIRING_CODE;
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567:1!";
  let refused = 0;
  for (let i = 0; i < code.length; i++) {
    for (const ch of alphabet) {
      if (ch === code[i]) continue;
      const bad = code.slice(0, i) + ch + code.slice(i + 1);
      try {
        const c = ui.parseCode(bad);
        assert.match(c.camera, /^0x[0-9a-fA-F]{40}$/);
        assert.equal(c.pin.length, 32);
      } catch (e) {
        assert.ok(e instanceof Error, `symbol ${i} → ${ch}: threw ${e}`);
        refused++;
      }
    }
  }
  assert.ok(refused > 0);
  for (const cut of [0, 8, 20, code.length - 1]) assert.throws(() => ui.parseCode(code.slice(0, cut)), Error);
  assert.throws(() => ui.parseCode(code + "A"), Error);
});

test("CBOR: only the canonical encoding of one item is read", () => {
  const ok = ui.encode([1n, ui.fromHex("0xaabb"), "x", [300n]]);
  assert.deepEqual(ui.decode(ok), [1n, ui.fromHex("0xaabb"), "x", [300n]]);
  const bad = {
    "trailing byte": Uint8Array.of(...ok, 0),
    "truncated": ok.slice(0, ok.length - 1),
    "non-minimal integer": Uint8Array.of(0x18, 0x01),
    "non-minimal length": Uint8Array.of(0x58, 0x01, 0xaa),
    "indefinite array": Uint8Array.of(0x9f, 0x01, 0xff),
    "a map": Uint8Array.of(0xa1, 0x01, 0x02),
    "a tag": Uint8Array.of(0xc2, 0x41, 0x00),
    "nested too deep": Uint8Array.of(0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x01),
    "array longer than the input": Uint8Array.of(0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
    "invalid UTF-8": Uint8Array.of(0x61, 0xff),
    "empty": new Uint8Array(0),
  };
  for (const [name, b] of Object.entries(bad)) assert.throws(() => ui.decode(b), Error, name);
});
