// feedchain.mjs: feed-chain records (docs/SPEC.md §6.1) and acknowledgements
// computed from the spec with @noble/hashes and @noble/curves (pinned in
// package.json), an implementation that shares no code with camchain's Go.
// It prints the vectors that internal/feedchain/testdata/noble_vectors.json
// holds; TestNobleVectors checks camchain's code against that file and that
// this script still prints exactly it.
//
//   node feedchain.mjs > ../../internal/feedchain/testdata/noble_vectors.json
//
// The inputs (keys, segment bytes, times) are fixed below; everything else
// is derived here:
//   address  = keccak256(uncompressed public key without its 0x04)[12:]
//   body     = version u8 ‖ camera [20] ‖ epoch u64 ‖ seq u64 ‖ prev [32] ‖
//              segment [32] ‖ start i64 ‖ duration i64 ‖ size u64 ‖
//              codecLen u8 ‖ codec            (integers big-endian)
//   hash     = SHA-256("camchain/v1/segment" ‖ 0x00 ‖ body)
//   sig      = r ‖ s ‖ (recovery id + 27), RFC 6979 deterministic, low s
//   record   = body ‖ sig
//   ack      = SHA-256("camchain/v1/ack" ‖ 0x00 ‖ camera ‖ epoch u64 ‖ seq u64 ‖ head [32])
import { sha256 } from "@noble/hashes/sha2.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex, hexToBytes, concatBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";

const u64 = (v) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(v)));
  return b;
};

const address = (priv) => keccak_256(secp256k1.getPublicKey(priv, false).subarray(1)).subarray(12);

const sign = (priv, digest) => {
  const rec = secp256k1.sign(digest, priv, { prehash: false, format: "recovered", lowS: true });
  return concatBytes(rec.subarray(1), Uint8Array.of(rec[0] + 27));
};

const labelled = (label, ...parts) => sha256(concatBytes(utf8ToBytes(label), Uint8Array.of(0), ...parts));

// segment i of a camera: the bytes "camchain noble segment <camera tag> <i>" repeated to size
const segmentBytes = (tag, i, size) => {
  const unit = utf8ToBytes(`camchain noble segment ${tag} ${i}\n`);
  const out = new Uint8Array(size);
  for (let o = 0; o < size; o++) out[o] = unit[o % unit.length];
  return out;
};

const cameras = [
  { tag: "a", key: "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", epoch: 0n,
    start: 1767225600000000000n, duration: 2000000000n, codec: "avc1.4d401e", sizes: [1, 1000, 65536, 4096] },
  { tag: "b", key: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", epoch: 7n,
    start: 1767225600123456789n, duration: 6000000000n, codec: "hvc1.1.6.L93.B0", sizes: [300, 0] },
];
const hubKey = "b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291";

const out = {
  comment: "Feed-chain records and acknowledgements computed by test/interop/feedchain.mjs with @noble/hashes and @noble/curves (pinned in test/interop/package.json) from docs/SPEC.md §6.1, not by camchain's code. TestNobleVectors (internal/feedchain) checks camchain against them and reruns the script to check the file is its output. Regenerate: node test/interop/feedchain.mjs > internal/feedchain/testdata/noble_vectors.json",
  hub_private_key: hubKey,
  hub_address: bytesToHex(address(hexToBytes(hubKey))),
  cameras: [],
};
for (const c of cameras) {
  const priv = hexToBytes(c.key);
  const cam = address(priv);
  const recs = [];
  let prev = new Uint8Array(32);
  c.sizes.forEach((size, i) => {
    const seg = segmentBytes(c.tag, i, size);
    const segHash = sha256(seg);
    const start = c.start + BigInt(i) * c.duration;
    const codec = utf8ToBytes(c.codec);
    const body = concatBytes(Uint8Array.of(1), cam, u64(c.epoch), u64(i), prev, segHash,
      u64(start), u64(c.duration), u64(size), Uint8Array.of(codec.length), codec);
    const hash = labelled("camchain/v1/segment", body);
    const sig = sign(priv, hash);
    const ack = labelled("camchain/v1/ack", cam, u64(c.epoch), u64(i), hash);
    recs.push({
      seq: i, segment_size: size, segment_sha256: bytesToHex(segHash),
      start: start.toString(), duration: c.duration.toString(),
      body: bytesToHex(body), hash: bytesToHex(hash), sig: bytesToHex(sig),
      record: bytesToHex(concatBytes(body, sig)),
      ack_digest: bytesToHex(ack), ack_sig: bytesToHex(sign(hexToBytes(hubKey), ack)),
    });
    prev = hash;
  });
  out.cameras.push({ tag: c.tag, private_key: c.key, address: bytesToHex(cam), epoch: Number(c.epoch), codec: c.codec, records: recs });
}
process.stdout.write(JSON.stringify(out, null, 2) + "\n");
