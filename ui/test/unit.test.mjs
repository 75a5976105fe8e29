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
//     truncation are refused;
//   - feed-chain records (SPEC §6.1): both layouts parse, hash and recover
//     to their camera as internal/feedchain's vectors and the independent
//     noble vectors say, and every encoding Go refuses is refused;
//   - the viewer chain (SPEC §15): the vector session verifies, each
//     corruption a proxy could make is named by the same break Go names,
//     every refused link is refused, and a broken session stays broken;
//   - parts (SPEC §7.3, §15.2): internal/feedchain's part statements parse,
//     hash and recover to their camera, follow one another and are sealed
//     by their records as Go says, every statement Go refuses is refused;
//     internal/viewchain's live session with parts verifies part by part
//     (open until the tail seals them) and each of its corruptions is
//     named by Go's break;
//   - end-to-end encryption (e2ee.ts, SPEC §17.2): every sealed segment and
//     part of internal/e2ee's content vectors opens with each recipient's
//     viewing key to its plaintext, through the camera-signed envelope; a
//     segment sealed in parts opens whole; every corrupted chunk and
//     envelope is refused (never plaintext), an envelope checked against
//     another camera is refused, and an account not among the recipients
//     gets "no key"; history envelopes (SPEC §17.6) give a grantee exactly
//     the re-wrapped segments (not the cut period's earlier one), and every
//     corrupted, forged or other owner's one is refused, another grantee's
//     opens nothing;
//   - fMP4 decode time (fmp4.ts): tfdt over its own track's mdhd timescale,
//     both box versions; any truncation or garbage gives null or a number,
//     never an exception.
import assert from "node:assert/strict";
import { readFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { test } from "node:test";
import { build } from "esbuild";
import { HDNodeWallet, Wallet, Signature } from "ethers";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "camchain-ui-unit-"));
const entry = join(dir, "entry.ts");
writeFileSync(
  entry,
  ["eip712", "tx", "sig", "cbor", "bytes", "pairing", "feedchain", "viewchain", "viewingkey", "fmp4", "e2ee"].map((m) => `export * from ${JSON.stringify(join(here, "..", "src", m))};`).join("\n"),
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
    m[f.name] = f.type === "uint64" ? BigInt(raw) : f.type === "bytes" ? ui.fromHex(raw) : raw;
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

test("Encryption (SPEC §2.2, §17.4): the page's type string is the ledger's, and its vector is among those checked above", () => {
  const v = signable.find((v) => v.type === "Encryption");
  assert.ok(v, "internal/tx's v2 vectors hold an Encryption");
  assert.deepEqual(v.typed_data.types.Encryption, ui.TYPES.Encryption);
  assert.equal(ui.TYPES.Encryption.map((f) => `${f.type} ${f.name}`).join(","), "address camera,uint64 epoch,uint64 on,uint64 nonce,uint64 expiry");
});

// The viewing key (SPEC §17.1): the page's derivation against
// internal/e2ee's vectors, and from an ethers wallet restored from the
// vectors' words, as a browser wallet session does it.
const vkVectors = JSON.parse(readFileSync(join(root, "internal", "e2ee", "testdata", "viewing_key_vectors.json"), "utf8"));

test("viewing key: the page derives every vector's message, seed, public key and id", async () => {
  for (const v of vkVectors.valid) {
    assert.equal(ui.viewingKeyMessage(v.account), v.message, v.name);
    const seed = await ui.seedFromSignature(v.account, v.signature);
    assert.equal(ui.hex0x(seed), v.seed, v.name);
    const pub = await ui.publicKeyOf(seed);
    assert.equal(ui.hex0x(pub), v.public_key, v.name);
    assert.equal(await ui.keyID(pub), "viewkey:" + v.key_id, v.name);
  }
  for (const v of vkVectors.same_key) {
    assert.equal(ui.hex0x(await ui.seedFromSignature(v.account, v.signature)), v.seed, v.name);
  }
  for (const v of vkVectors.invalid.filter((v) => v.expect === "wrong_signer")) {
    await assert.rejects(ui.seedFromSignature(v.account, v.signature), Error, v.name);
  }
});

test("viewing key: an ethers wallet from the same words gives the CLI's key; a wallet that signs twice differently is refused", async () => {
  for (const v of vkVectors.valid.filter((v) => v.mnemonic)) {
    const w = HDNodeWallet.fromPhrase(v.mnemonic, v.passphrase ?? "", "m/44'/60'/0'/0/0");
    const vk = await ui.deriveViewingKey(w.address, (text) => w.signMessage(text));
    assert.equal(vk.account, v.account);
    assert.equal(ui.hex0x(vk.publicKey), v.public_key, v.name);
    assert.equal(vk.id, "viewkey:" + v.key_id);
    const m = ui.viewingKeyMsg(vk, 1n, 2n);
    assert.equal(m.kem, 25722n);
  }
  const w = Wallet.createRandom();
  const other = Wallet.createRandom();
  let n = 0;
  // Alternates its own signature with a valid-looking other one: not deterministic.
  await assert.rejects(ui.deriveViewingKey(w.address, (text) => (n++ % 2 ? other.signMessage(text) : w.signMessage(text))), /does not sign deterministically/);
});

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

const feedV2 = JSON.parse(readFileSync(join(root, "internal", "feedchain", "testdata", "vectors_v2.json"), "utf8"));
const feedNoble = JSON.parse(readFileSync(join(root, "internal", "feedchain", "testdata", "noble_vectors.json"), "utf8"));
const viewV = JSON.parse(readFileSync(join(root, "internal", "viewchain", "testdata", "vectors.json"), "utf8"));
const bytesOf = (h) => ui.fromHex(h.startsWith("0x") ? h : "0x" + h);

test("records v2: parse, body, hash and signer are Go's; segments match their records", () => {
  const camera = new Wallet(feedV2.camera_private_key).address;
  feedV2.records_hex.forEach((h, i) => {
    const r = ui.parseRecord(bytesOf(h));
    assert.equal(ui.bytesToHex(r.body), feedV2.bodies_hex[i]);
    assert.equal(ui.bytesToHex(r.hash), feedV2.record_hashes[i].replace(/^0x/, ""));
    assert.equal(ui.signerOf(r.hash, r.sig), camera);
    ui.verifyRecordSignature(r);
    assert.equal(ui.segmentMismatch(r, bytesOf(feedV2.segments_hex[i])), null);
    const flipped = bytesOf(feedV2.segments_hex[i]);
    if (flipped.length > 0) {
      flipped[0] ^= 1;
      assert.match(ui.segmentMismatch(r, flipped), /SHA-256/);
    }
  });
  assert.deepEqual(new Set(feedV2.records_hex.map((h) => ui.parseRecord(bytesOf(h)).stream)), new Set(["main", "sub"]));
});

test("records v2: every encoding Go refuses is refused", () => {
  for (const bad of feedV2.invalid) assert.throws(() => ui.parseRecord(bytesOf(bad.hex)), Error, bad.why);
});

test("records v1: the independent noble vectors parse, hash and recover to their camera", () => {
  for (const cam of feedNoble.cameras) {
    for (const rec of cam.records) {
      const r = ui.parseRecord(bytesOf(rec.record));
      assert.equal(r.version, 1);
      assert.equal(ui.bytesToHex(r.body), rec.body);
      assert.equal(ui.bytesToHex(r.hash), rec.hash);
      assert.equal(ui.signerOf(r.hash, r.sig).toLowerCase(), ("0x" + cam.address.replace(/^0x/, "")).toLowerCase());
      assert.equal(r.seq, BigInt(rec.seq));
      assert.equal(r.size, BigInt(rec.segment_size));
    }
  }
});

test("signatures: high s, v out of range and a flipped record are refused", () => {
  const r = ui.parseRecord(bytesOf(feedV2.records_hex[0]));
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const s = BigInt("0x" + ui.bytesToHex(r.sig.subarray(32, 64)));
  const high = r.sig.slice();
  high.set(ui.fromHex("0x" + (n - s).toString(16).padStart(64, "0")), 32);
  high[64] = high[64] === 27 ? 28 : 27;
  assert.throws(() => ui.signerOf(r.hash, high), /high s/);
  const v = r.sig.slice();
  v[64] = 1;
  assert.throws(() => ui.signerOf(r.hash, v));
  const other = ui.parseRecord(bytesOf(feedV2.records_hex[0]));
  other.hash[0] ^= 1; // the camera did not sign this hash
  assert.throws(() => ui.verifyRecordSignature(other), /signed by/);
});

function playVector(frames, wantEnd = true) {
  const camera = new Wallet(viewV.camera_private_key).address;
  const v = new ui.Verifier(viewV.hub, camera, bytesOf(viewV.nonce), "main");
  const checked = [];
  for (const f of frames) {
    const c = v.frame(bytesOf(f));
    if (c) checked.push(c);
  }
  v.finish(wantEnd);
  return { v, checked };
}

test("viewer chain: the vector session verifies in the page as in Go", () => {
  const { v, checked } = playVector(viewV.frames_hex);
  assert.ok(v.isEnded);
  assert.ok(checked.every((c) => c.kind === "segment"));
  assert.equal(checked.length, viewV.Links.filter((l) => l.kind === "segment").length);
  viewV.Links.filter((l) => l.kind === "segment").forEach((l, i) => {
    assert.equal(ui.bytesToHex(checked[i].link.hash), l.hash);
    assert.equal(ui.bytesToHex(checked[i].record.hash), l.record_hash);
  });
});

for (const c of viewV.corruptions) {
  test(`viewer chain: ${c.name} → ${c.expect_break}, and it stays broken`, () => {
    const camera = new Wallet(viewV.camera_private_key).address;
    const v = new ui.Verifier(viewV.hub, camera, bytesOf(viewV.nonce), "main");
    let err;
    try {
      for (const f of c.frames_hex) v.frame(bytesOf(f));
      v.finish(true);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ui.BreakError, `no break for ${c.name}: ${err}`);
    assert.equal(err.brk, c.expect_break, err.message);
    assert.throws(() => v.finish(false), (e) => e === err, "a broken session fails the same way afterwards");
  });
}

test("viewer chain: a session for another nonce, camera or stream is refused", () => {
  const camera = new Wallet(viewV.camera_private_key).address;
  const first = bytesOf(viewV.frames_hex[0]);
  const other = new Uint8Array(16).fill(0x33);
  assert.throws(() => new ui.Verifier(viewV.hub, camera, other, "main").frame(first), (e) => e.brk === "foreign");
  assert.throws(() => new ui.Verifier(viewV.hub, viewV.hub, bytesOf(viewV.nonce), "main").frame(first), (e) => e.brk === "foreign");
  assert.throws(() => new ui.Verifier(viewV.hub, camera, bytesOf(viewV.nonce), "sub").frame(first), (e) => e.brk === "wrong-stream");
  assert.throws(() => new ui.Verifier(camera, camera, bytesOf(viewV.nonce), "main").frame(first), (e) => e.brk === "forged");
});

test("viewer chain: every link Go refuses is refused, and frames are bounded", () => {
  for (const bad of viewV.links_parse_must_refuse) assert.throws(() => ui.parseLink(bytesOf(bad.link_hex)), Error, bad.why);
  assert.throws(() => ui.decodeFrame(new Uint8Array(0)), /frame of 0 bytes/);
  assert.throws(() => ui.decodeFrame(Uint8Array.of(5, 0, 0)), /unknown frame type/);
  assert.throws(() => ui.decodeFrame(Uint8Array.of(3, 0, 0)), /part frame of 3 bytes/);
  assert.throws(() => ui.decodeFrame(new Uint8Array(1 + ui.PART_SIZE + ui.LINK_SIZE - 1).fill(3)), /part frame of/);
  assert.equal(ui.decodeFrame(new Uint8Array(1 + ui.PART_SIZE + ui.LINK_SIZE).fill(3)).data.length, 0, "a part frame's bounds, not its content, are decodeFrame's");
  assert.throws(() => ui.decodeFrame(Uint8Array.of(4, 0xff, 0xff)), /record of 65535 bytes/);
  assert.throws(() => ui.decodeFrame(Uint8Array.of(1, 0xff, 0xff)), /record of 65535 bytes/);
  assert.throws(() => ui.decodeFrame(Uint8Array.of(2, 1, 2)), /end frame/);
});

// Parts (SPEC §7.3): internal/feedchain/testdata/parts.json.
const partV = JSON.parse(readFileSync(join(root, "internal", "feedchain", "testdata", "parts.json"), "utf8"));

test("parts: statements parse, hash and recover to their camera; each follows the one before and its record seals them", () => {
  const camera = new Wallet(partV.camera_private_key).address;
  const cam = ui.fromHex(camera, 20);
  let head = null;
  partV.parts.forEach((ps, i) => {
    let prev = null;
    const data = [];
    for (const pv of ps) {
      const p = ui.parsePart(bytesOf(pv.statement_hex));
      assert.equal(ui.bytesToHex(bytesOf(pv.statement_hex).subarray(0, ui.PART_BODY_SIZE)), pv.body_hex);
      assert.equal(ui.bytesToHex(p.hash), pv.part_hash);
      assert.equal(ui.signerOf(p.hash, p.sig), camera);
      ui.verifyPart(p);
      ui.verifyPartNext(cam, 3n, "main", head, prev, p);
      ui.verifyPartData(p, bytesOf(pv.data_hex));
      const flipped = bytesOf(pv.data_hex);
      flipped[0] ^= 1;
      assert.throws(() => ui.verifyPartData(p, flipped), (e) => e instanceof ui.PartError && e.field === "sha256");
      assert.throws(() => ui.verifyPartData(p, flipped.subarray(1)), (e) => e instanceof ui.PartError && e.field === "size");
      data.push(bytesOf(pv.data_hex));
      prev = p;
    }
    if (i < partV.records.length) {
      const r = ui.parseRecord(bytesOf(partV.records[i].record_hex));
      assert.equal(ui.bytesToHex(r.hash), partV.records[i].record_hash);
      ui.verifySealed(prev, r);
      assert.equal(ui.segmentMismatch(r, ui.concatBytes(...data)), null, "the parts' concatenation is the record's segment");
      assert.equal(ui.bytesToHex(ui.concatBytes(...data)), partV.records[i].segment_hex);
      head = { seq: r.seq, hash: r.hash };
    }
  });
  // Out of place: part 1 first, part 2 after part 0, part 0 of another record, another camera, epoch or stream.
  const p = (i, j) => ui.parsePart(bytesOf(partV.parts[i][j].statement_hex));
  const r0 = ui.parseRecord(bytesOf(partV.records[0].record_hex));
  const h0 = { seq: r0.seq, hash: r0.hash };
  const field = (f, fn) => assert.throws(fn, (e) => e instanceof ui.PartError && e.field === f, f);
  field("index", () => ui.verifyPartNext(cam, 3n, "main", h0, null, p(1, 1)));
  field("index", () => ui.verifyPartNext(cam, 3n, "main", h0, p(1, 0), p(1, 2)));
  field("seq", () => ui.verifyPartNext(cam, 3n, "main", null, null, p(1, 0)));
  field("camera", () => ui.verifyPartNext(new Uint8Array(20), 3n, "main", h0, null, p(1, 0)));
  field("epoch", () => ui.verifyPartNext(cam, 4n, "main", h0, null, p(1, 0)));
  field("stream", () => ui.verifyPartNext(cam, 3n, "sub", h0, null, p(1, 0)));
  field("seq", () => ui.verifySealed(p(1, 2), r0));
  const other = p(1, 0);
  other.hash[0] ^= 1; // the camera did not sign this hash
  field("signature", () => ui.verifyPart(other));
});

test("parts: every statement Go refuses is refused", () => {
  assert.ok(partV.invalid.length >= 10);
  for (const bad of partV.invalid) assert.throws(() => ui.parsePart(bytesOf(bad.hex)), ui.MalformedError, bad.why);
});

// The viewer chain with parts: internal/viewchain/testdata/parts_vectors.json.
const partsV = JSON.parse(readFileSync(join(root, "internal", "viewchain", "testdata", "parts_vectors.json"), "utf8"));

test("viewer chain with parts: the vector session verifies part by part, open until its tail seals it", () => {
  const v = new ui.Verifier(partsV.hub, partsV.camera, bytesOf(partsV.nonce), "main");
  const kinds = [];
  let sealed = 0;
  for (const f of partsV.frames_hex) {
    const c = v.frame(bytesOf(f));
    kinds.push(c.kind);
    if (c.kind === "part") {
      assert.equal(v.openParts.count, c.part.index + 1, "the parts so far are open");
      assert.equal(v.openParts.last, c.part);
    } else {
      assert.equal(v.openParts, null, "a record leaves no part open");
      if (c.kind === "tail") sealed += c.parts;
    }
  }
  v.finish(false);
  assert.deepEqual(kinds, ["segment", "part", "part", "part", "tail", "part", "part", "tail", "segment"]);
  assert.equal(sealed, 5);
  assert.throws(() => v.finish(true), (e) => e.brk === "truncated", "a live session has no signed end");
});

for (const c of partsV.corruptions) {
  test(`viewer chain with parts: ${c.name} → ${c.expect_break}, and it stays broken`, () => {
    const v = new ui.Verifier(partsV.hub, partsV.camera, bytesOf(partsV.nonce), "main");
    let err;
    try {
      for (const f of c.frames_hex) v.frame(bytesOf(f));
      v.finish(false);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ui.BreakError, `no break for ${c.name}: ${err}`);
    assert.equal(err.brk, c.expect_break, err.message);
    assert.throws(() => v.frame(bytesOf(partsV.frames_hex[0])), (e) => e === err, "a broken session fails the same way afterwards");
  });
}

test("viewer chain with parts: each frame of the session replaced by a flipped, cut, lengthened or random one is refused, always as a break", () => {
  const frames = partsV.frames_hex.map(bytesOf);
  for (let i = 0; i < frames.length; i++) {
    const variants = [frames[i].subarray(0, frames[i].length - 1), ui.concatBytes(frames[i], Uint8Array.of(0))];
    for (const at of [0, 1, 40, 216, 300, frames[i].length - 1]) {
      if (at >= frames[i].length) continue;
      const b = frames[i].slice();
      b[at] ^= 0x80;
      variants.push(b);
    }
    // and random changes: a few random bytes anywhere, or random bytes behind a frame type
    for (let n = 0; n < 40; n++) {
      const b = frames[i].slice();
      for (let m = 1 + Math.floor(Math.random() * 3); m > 0; m--) b[Math.floor(Math.random() * b.length)] ^= 1 + Math.floor(Math.random() * 255);
      if (!ui.equalBytes(b, frames[i])) variants.push(b);
      const junk = new Uint8Array(1 + Math.floor(Math.random() * 600)).map(() => Math.floor(Math.random() * 256));
      junk[0] = 1 + (n % 4);
      variants.push(junk);
    }
    for (const bad of variants) {
      const v = new ui.Verifier(partsV.hub, partsV.camera, bytesOf(partsV.nonce), "main");
      assert.throws(() => frames.forEach((f, j) => v.frame(j === i ? bad : f)), ui.BreakError, `frame ${i}: ${ui.bytesToHex(bad.subarray(0, 24))}…`);
    }
  }
});

// A minimal fMP4 segment: init (moov: an audio trak first, then the video
// trak) and a fragment (moof: traf with tfhd and tfdt).
function box(type, ...parts) {
  const body = Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));
  const h = Buffer.alloc(8);
  h.writeUInt32BE(8 + body.length);
  h.write(type, 4, "latin1");
  return Buffer.concat([h, body]);
}
const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32BE(v); return b; };
const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(v)); return b; };
function segment({ v1 = false, scale = 90000, tfdt = 180000, track = 2 } = {}) {
  const tkhd = (id) => box("tkhd", [v1 ? 1 : 0, 0, 0, 0], v1 ? u64(0) : u32(0), v1 ? u64(0) : u32(0), u32(id), Buffer.alloc(64));
  const mdhd = (ts) => box("mdhd", [v1 ? 1 : 0, 0, 0, 0], v1 ? u64(0) : u32(0), v1 ? u64(0) : u32(0), u32(ts), v1 ? u64(0) : u32(0), Buffer.alloc(4));
  const trak = (id, ts) => box("trak", tkhd(id), box("mdia", mdhd(ts)));
  const moov = box("moov", box("mvhd", Buffer.alloc(100)), trak(1, 48000), trak(2, scale));
  const moof = box("moof", box("mfhd", Buffer.alloc(8)), box("traf", box("tfhd", [0, 0, 0, 0], u32(track)), box("tfdt", [v1 ? 1 : 0, 0, 0, 0], v1 ? u64(tfdt) : u32(tfdt))));
  return new Uint8Array(Buffer.concat([box("ftyp", Buffer.from("isom\0\0\0\0")), moov, moof, box("mdat", Buffer.alloc(16))]));
}

test("fmp4: a segment's first decode time, over its own track's timescale", () => {
  assert.equal(ui.decodeStart(segment()), 2);
  assert.equal(ui.decodeStart(segment({ v1: true, tfdt: 90000 * 3600 * 30 })), 3600 * 30);
  assert.equal(ui.decodeStart(segment({ track: 1, tfdt: 96000 })), 2, "the audio track's own timescale");
  assert.equal(ui.decodeStart(segment({ track: 3 })), null, "a fragment of a track the init does not have");
  assert.equal(ui.decodeStart(segment({ scale: 0 })), null);
});

test("fmp4: truncated or garbage segments give null or a number, never an exception", () => {
  const s = segment({ v1: true });
  for (let n = 0; n < s.length; n++) {
    const got = ui.decodeStart(s.subarray(0, n));
    assert.ok(got === null || typeof got === "number", `truncated to ${n}: ${got}`);
  }
  for (let i = 0; i < s.length; i++) {
    const b = s.slice();
    b[i] ^= 0xff;
    const got = ui.decodeStart(b);
    assert.ok(got === null || Number.isFinite(got), `byte ${i} flipped: ${got}`);
  }
  for (let i = 0; i < 200; i++) {
    const b = new Uint8Array(1 + Math.floor(Math.random() * 300)).map(() => Math.floor(Math.random() * 256));
    const got = ui.decodeStart(b);
    assert.ok(got === null || Number.isFinite(got));
  }
});

// End-to-end encryption (SPEC §17.2): internal/e2ee's content vectors opened
// as the player opens them, through a Keyring whose envelope fetch returns
// the vector's envelope.
const cv = JSON.parse(readFileSync(join(root, "internal", "e2ee", "testdata", "content_vectors.json"), "utf8"));

async function viewingKeyOf(privateKey) {
  const w = new Wallet(privateKey);
  const seed = await ui.seedFromSignature(w.address, await w.signMessage(ui.viewingKeyMessage(w.address)));
  return ui.loadViewingKey(w.address, seed);
}

function ringFor(vk, envelope = cv.envelope, camera = cv.camera) {
  let fetches = 0;
  let loads = 0;
  const ring = new ui.Keyring(vk.account, async () => (loads++, vk), async (cam, epoch, serial) => {
    fetches++;
    assert.equal(cam, camera);
    assert.equal(epoch, BigInt(cv.epoch));
    assert.equal(serial, BigInt(cv.serial));
    return ui.fromHex(envelope);
  });
  return { ring, fetches: () => fetches, loads: () => loads };
}

const openVector = (ring, v, sealed = v.sealed, camera = cv.camera) =>
  ring.open(camera, BigInt(cv.epoch), v.stream, BigInt(v.seq), ui.fromHex(sealed), v.index === 0 ? null : v.index);

test("e2ee: each recipient opens every vector's segment and part through the camera-signed envelope, fetched once", async () => {
  assert.equal(cv.recipients.length, 2);
  for (const pk of cv.recipients) {
    const vk = await viewingKeyOf(pk);
    const { ring, fetches, loads } = ringFor(vk);
    for (const v of cv.segments) {
      assert.ok(ui.isSealed(ui.fromHex(v.sealed)));
      const pt = await openVector(ring, v);
      assert.equal(ui.hex0x(pt), v.plaintext, `${v.stream}/${v.seq}/${v.index}`);
    }
    assert.equal(fetches(), 1, "one envelope per camera, epoch and serial");
    assert.equal(loads(), 1, "the viewing key asked for once");
  }
});

test("e2ee: a segment sealed in parts (indexes 1, 2, 3) opens whole; out of order or cut, it is refused", async () => {
  const v = cv.segments.find((s) => s.seq === 1 && s.stream === 0);
  const key = await crypto.subtle.importKey("raw", ui.fromHex(v.segment_key), "AES-GCM", false, ["encrypt"]);
  const hdr = ui.fromHex(v.sealed).slice(0, 54);
  const seal = async (index, text) => {
    const h = hdr.slice();
    new DataView(h.buffer).setUint32(50, index);
    const iv = new Uint8Array(12);
    new DataView(iv.buffer).setUint32(8, index);
    const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: h }, key, new TextEncoder().encode(text)));
    return ui.concatBytes(h, ct);
  };
  const [a, b, c] = [await seal(1, "part zero "), await seal(2, "part one "), await seal(3, "and the rest")];
  const { ring } = ringFor(await viewingKeyOf(cv.recipients[0]));
  const whole = await ring.open(cv.camera, BigInt(cv.epoch), 0, 1n, ui.concatBytes(a, b, c), null);
  assert.equal(new TextDecoder().decode(whole), "part zero part one and the rest");
  // A part alone, under its own index (part i: i + 1), as the live player opens it.
  assert.equal(new TextDecoder().decode(await ring.open(cv.camera, BigInt(cv.epoch), 0, 1n, b, 2)), "part one ");
  await assert.rejects(ring.open(cv.camera, BigInt(cv.epoch), 0, 1n, b, 3), (e) => e instanceof ui.DecryptError && e.reason === "open");
  await assert.rejects(ring.open(cv.camera, BigInt(cv.epoch), 0, 1n, ui.concatBytes(a, c, b), null), (e) => e instanceof ui.DecryptError);
  await assert.rejects(ring.open(cv.camera, BigInt(cv.epoch), 0, 1n, ui.concatBytes(b, c), null), (e) => e instanceof ui.DecryptError);
  await assert.rejects(ring.open(cv.camera, BigInt(cv.epoch), 0, 1n, ui.concatBytes(a, b, c.subarray(0, c.length - 1)), null), (e) => e instanceof ui.DecryptError);
  // The record it came with names another segment: refused before any key is used.
  await assert.rejects(ring.open(cv.camera, BigInt(cv.epoch), 0, 2n, a, 1), (e) => e instanceof ui.DecryptError && e.reason === "open");
  await assert.rejects(ring.open(cv.camera, BigInt(cv.epoch), 1, 1n, a, 1), (e) => e instanceof ui.DecryptError && e.reason === "open");
});

test("e2ee: every corrupted sealed chunk and envelope of the vectors is refused; another camera's or a stranger's key opens nothing", async () => {
  const vk = await viewingKeyOf(cv.recipients[0]);
  const base = cv.segments[0];
  let sealedCases = 0, envCases = 0;
  for (const bad of cv.invalid) {
    if (bad.sealed) {
      sealedCases++;
      const b = ui.fromHex(bad.sealed);
      let h = null;
      try {
        h = ui.parseSealedHeader(b);
      } catch (e) {
        assert.ok(e instanceof ui.DecryptError, bad.name);
        assert.equal(bad.expect, "not_sealed", bad.name);
        continue;
      }
      const { ring } = ringFor(vk);
      // As if the record named exactly the segment the (altered) header names.
      await assert.rejects(
        ring.open(cv.camera, h.epoch, h.stream, h.seq, b, h.index === 0 ? null : h.index),
        (e) => e instanceof ui.DecryptError && e.reason === "open",
        bad.name,
      );
    } else {
      envCases++;
      const { ring } = ringFor(vk, bad.envelope);
      await assert.rejects(openVector(ring, base), (e) => e instanceof ui.DecryptError && e.reason === "envelope", bad.name);
      assert.throws(() => ui.decodeEnvelope(ui.fromHex(bad.envelope), cv.camera), ui.DecryptError, bad.name);
    }
  }
  assert.ok(sealedCases >= 8 && envCases >= 4);
  // The envelope checked against the camera the page knows: another camera's address refuses it.
  const other = new Wallet("0x" + "04".repeat(32)).address;
  assert.throws(() => ui.decodeEnvelope(ui.fromHex(cv.envelope), other), /not signed by the camera/);
  // A stranger (not a recipient): no key, and nothing opened.
  const stranger = await viewingKeyOf("0x" + "05".repeat(32));
  await assert.rejects(openVector(ringFor(stranger).ring, base), (e) => e instanceof ui.DecryptError && e.reason === "no-key" && /no key for this video/.test(e.message));
  // A recipient's account with another viewing key (the wrapped key does not open): no key.
  const wrongKey = { account: vk.account, key: stranger.key };
  await assert.rejects(openVector(ringFor(wrongKey).ring, base), (e) => e instanceof ui.DecryptError && e.reason === "no-key");
  // Plaintext fMP4 is not sealed.
  assert.equal(ui.isSealed(Uint8Array.of(0, 0, 0, 24, 0x66, 0x74, 0x79, 0x70)), false);
});

test("e2ee: decodeEnvelope and parseSealedHeader, fed 3000 mutations of the vectors (bit flips, cuts, insertions), throw only DecryptError and accept only the original envelope", () => {
  const env = ui.fromHex(cv.envelope);
  const seg = ui.fromHex(cv.segments[2].sealed);
  let seed = 1;
  const rnd = (n) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  const mutate = (b) => {
    const c = b.slice();
    switch (rnd(3)) {
      case 0: c[rnd(c.length)] ^= 1 << rnd(8); return c;
      case 1: return c.slice(0, rnd(c.length));
      default: { const i = rnd(c.length); return ui.concatBytes(c.slice(0, i), Uint8Array.of(rnd(256)), c.slice(i)); }
    }
  };
  for (let i = 0; i < 3000; i++) {
    const m = mutate(env);
    try {
      ui.decodeEnvelope(m, cv.camera);
      assert.equal(ui.hex0x(m), cv.envelope, "a mutated envelope was accepted");
    } catch (e) {
      assert.ok(e instanceof ui.DecryptError, String(e));
    }
    const s = mutate(seg);
    try {
      ui.parseSealedHeader(s);
    } catch (e) {
      assert.ok(e instanceof ui.DecryptError, String(e));
    }
  }
});

// History envelopes (SPEC §17.6): internal/e2ee's history vectors — the
// owner 0x01…01 re-wraps to the grantee 0x02…02 the content key of serial
// 8 and, of serial 7 (the content vectors' key), the segment keys of main
// seq 1 and sub seq 1 only — through a Keyring whose camera envelope is
// not the grantee's, as for video recorded before its grant reached the
// camera.
const hv = JSON.parse(readFileSync(join(root, "internal", "e2ee", "testdata", "history_vectors.json"), "utf8"));

function historyRing(vk, envelopes = [hv.envelope], owner = hv.owner) {
  let asked = 0;
  const ring = new ui.Keyring(
    vk.account,
    async () => vk,
    async () => {
      throw new ui.DecryptError("no-key", "cannot decrypt: this account has no key for this video");
    },
    async (cam, epoch) => {
      asked++;
      assert.equal(cam, hv.camera);
      assert.equal(epoch, BigInt(hv.epoch));
      return { owner, envelopes: envelopes.map((e) => ui.fromHex(e)) };
    },
  );
  return { ring, asked: () => asked };
}

test("e2ee history: the grantee opens exactly the re-wrapped segments, through the owner-signed history envelope, asked for once", async () => {
  const vk = await viewingKeyOf(hv.grantee_private_key);
  const h = ui.decodeHistory(ui.fromHex(hv.envelope), hv.camera, hv.owner);
  assert.equal(h.recipient, vk.account);
  assert.equal(h.historyFrom, BigInt(hv.history_from));
  assert.deepEqual(h.items.map((i) => `${i.kind}/${i.serial}/${i.stream}/${i.seq}`), hv.keys.map((k) => `${k.kind}/${k.serial}/${k.stream}/${k.seq}`));
  const { ring, asked } = historyRing(vk);
  let opened = 0;
  for (const v of cv.segments) {
    if (v.seq === 1) {
      assert.equal(ui.hex0x(await openVector(ring, v)), v.plaintext, `${v.stream}/${v.seq}/${v.index}`);
      opened++;
    } else {
      // Main seq 0 of the cut period: its content key is not given, nor its segment key.
      await assert.rejects(openVector(ring, v), (e) => e instanceof ui.DecryptError && e.reason === "no-key" && /history-from/.test(e.message), `${v.stream}/${v.seq}`);
    }
  }
  assert.equal(opened, 3);
  assert.equal(asked(), 1);
});

test("e2ee history: every corrupted or forged history envelope is refused, one for another grantee opens nothing, another owner's is refused", async () => {
  const vk = await viewingKeyOf(hv.grantee_private_key);
  const v1 = cv.segments.find((s) => s.seq === 1 && s.stream === 0 && s.index === 0);
  let n = 0;
  for (const bad of hv.invalid) {
    n++;
    if (bad.expect === "not_recipient") {
      const h = ui.decodeHistory(ui.fromHex(bad.envelope), hv.camera, hv.owner);
      await assert.rejects(ui.openHistory(h, vk), (e) => e instanceof ui.DecryptError && e.reason === "no-key", bad.name);
      await assert.rejects(openVector(historyRing(vk, [bad.envelope]).ring, v1), (e) => e instanceof ui.DecryptError && e.reason === "no-key", bad.name);
      continue;
    }
    assert.throws(() => ui.decodeHistory(ui.fromHex(bad.envelope), hv.camera, hv.owner), ui.DecryptError, bad.name);
    await assert.rejects(openVector(historyRing(vk, [bad.envelope]).ring, v1), (e) => e instanceof ui.DecryptError && e.reason === "envelope", bad.name);
  }
  assert.ok(n >= 8);
  // Checked against the ledger's owner: the same bytes taken as the hub's (0x05…05) are refused.
  const hub = new Wallet("0x" + "05".repeat(32)).address;
  assert.throws(() => ui.decodeHistory(ui.fromHex(hv.envelope), hv.camera, hub), /not signed by the camera's owner/);
  await assert.rejects(openVector(historyRing(vk, [hv.envelope], hub).ring, v1), (e) => e instanceof ui.DecryptError && e.reason === "envelope");
  // Another grantee (0x04…04) with the grantee's envelope: nothing.
  const other = await viewingKeyOf("0x" + "04".repeat(32));
  await assert.rejects(openVector(historyRing(other).ring, v1), (e) => e instanceof ui.DecryptError && e.reason === "no-key");
});

test("e2ee history: decodeHistory, fuzzed: every one-bit change and every truncation of the vector is refused with a DecryptError, never another exception", () => {
  const b = ui.fromHex(hv.envelope);
  let n = 0;
  for (let i = 0; i < b.length; i += i < 200 ? 1 : 37) {
    for (const bit of [0x01, 0x80]) {
      const m = b.slice();
      m[i] ^= bit;
      assert.throws(() => ui.decodeHistory(m, hv.camera, hv.owner), ui.DecryptError, `byte ${i} bit ${bit}`);
      n++;
    }
  }
  for (const cut of [0, 1, 10, 100, b.length - 66, b.length - 1]) {
    assert.throws(() => ui.decodeHistory(b.subarray(0, cut), hv.camera, hv.owner), ui.DecryptError, `cut at ${cut}`);
  }
  assert.throws(() => ui.decodeHistory(ui.concatBytes(b, Uint8Array.of(0)), hv.camera, hv.owner), ui.DecryptError);
  assert.ok(n > 400);
});
