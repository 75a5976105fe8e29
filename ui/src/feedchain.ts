// feedchain.ts: the camera's records (SPEC §6.1, §6.2) as the page checks
// them itself: strict decoding of both layouts, the record hash, and the
// camera's signature, with @noble/hashes and @noble/curves. The page never
// takes a hub's word that a segment is the camera's: it recovers the signer
// and compares it with the camera address it paired or was granted.
import { sha256 } from "@noble/hashes/sha2.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { FpInvertBatch } from "@noble/curves/abstract/modular.js";
import { bytesToHex, checksum, concatBytes, keccak, utf8ToBytes } from "./bytes";

export const RECORD_V1 = 1;
export const RECORD_V2 = 2;
const BODY_FIXED = 1 + 20 + 8 + 8 + 32 + 32 + 8 + 8 + 8 + 1;
const BODY_FIXED_V2 = BODY_FIXED + 2;
export const SIGNATURE_SIZE = 65;
export const MAX_CODEC_LEN = 64;
export const MAX_RECORD_SIZE = BODY_FIXED_V2 + MAX_CODEC_LEN + SIGNATURE_SIZE;
const LABEL_RECORD = utf8ToBytes("camchain/v1/segment");

export type Stream = "main" | "sub";
export type Clock = "unknown" | "arrival" | "rtcp" | "arrival-ntp";

/** A decoded record. Integers that may pass 2^53 are bigint. */
export interface Record {
  version: number;
  camera: Uint8Array; // 20 bytes
  epoch: bigint;
  seq: bigint;
  prev: Uint8Array; // 32
  segment: Uint8Array; // 32: SHA-256 of the segment file
  start: bigint; // Unix ns of the first frame
  duration: bigint; // ns
  size: bigint;
  stream: Stream;
  clock: Clock;
  codec: string;
  sig: Uint8Array; // 65: r ‖ s ‖ v (27/28)
  body: Uint8Array; // the signed bytes
  hash: Uint8Array; // RecordHash
}

export class MalformedError extends Error {}

export const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);
export const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const u64 = (b: Uint8Array, o: number): bigint => new DataView(b.buffer, b.byteOffset + o, 8).getBigUint64(0);

/** labelled is SHA-256(label ‖ 0x00 ‖ body), the hash of every signed camchain message. */
export const labelled = (label: Uint8Array, body: Uint8Array): Uint8Array => sha256(concatBytes(label, Uint8Array.of(0), body));

function codecOK(codec: Uint8Array, version: number): boolean {
  if (codec.length === 0 || codec.length > MAX_CODEC_LEN) return false;
  for (let i = 0; i < codec.length; i++) {
    const c = codec[i];
    if (c === 0x2c && version >= RECORD_V2 && i > 0 && i < codec.length - 1 && codec[i - 1] !== 0x2c) continue;
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x5f;
    if (!ok) return false;
  }
  return true;
}

/** parseRecord decodes a record strictly, as the Go parser does (exact
 * length, known version, stream and clock, codec characters, prev zero on
 * record 0 and only there). It does not check the signature. */
export function parseRecord(b: Uint8Array): Record {
  if (b.length === 0) throw new MalformedError("malformed record: empty");
  const version = b[0];
  if (version !== RECORD_V1 && version !== RECORD_V2) throw new MalformedError(`unknown record version ${version}`);
  const fixed = version === RECORD_V2 ? BODY_FIXED_V2 : BODY_FIXED;
  if (b.length < fixed + 1 + SIGNATURE_SIZE) throw new MalformedError(`malformed record: ${b.length} bytes is too short`);
  if (b.length > MAX_RECORD_SIZE) throw new MalformedError(`malformed record: ${b.length} bytes is over the ${MAX_RECORD_SIZE}-byte limit`);
  let p = 1;
  const take = (n: number) => b.subarray(p, (p += n));
  const camera = take(20);
  const epoch = u64(b, p);
  p += 8;
  const seq = u64(b, p);
  p += 8;
  const prev = take(32);
  const segment = take(32);
  const start = BigInt.asIntN(64, u64(b, p));
  p += 8;
  const duration = BigInt.asIntN(64, u64(b, p));
  p += 8;
  const size = u64(b, p);
  p += 8;
  let stream: Stream = "main";
  let clock: Clock = "unknown";
  if (version === RECORD_V2) {
    const s = b[p],
      c = b[p + 1];
    p += 2;
    if (s > 1) throw new MalformedError(`malformed record: unknown stream ${s}`);
    if (c < 1 || c > 3) throw new MalformedError(`malformed record: unknown clock source ${c}`);
    stream = s === 0 ? "main" : "sub";
    clock = c === 1 ? "arrival" : c === 2 ? "rtcp" : "arrival-ntp";
  }
  const n = b[p++];
  if (b.length - p !== n + SIGNATURE_SIZE) throw new MalformedError(`malformed record: codec length ${n} does not match the record size`);
  const codecBytes = take(n);
  if (!codecOK(codecBytes, version)) throw new MalformedError("malformed record: codec has a character outside [A-Za-z0-9._-]");
  if (duration < 0n) throw new MalformedError("malformed record: negative duration");
  if (seq === 0n && !isZero(prev)) throw new MalformedError("malformed record: record 0 must have a zero prev hash");
  if (seq > 0n && isZero(prev)) throw new MalformedError(`malformed record: record ${seq} has a zero prev hash`);
  const sig = b.slice(p, p + SIGNATURE_SIZE);
  const body = b.slice(0, p);
  return {
    version,
    camera: camera.slice(),
    epoch,
    seq,
    prev: prev.slice(),
    segment: segment.slice(),
    start,
    duration,
    size,
    stream,
    clock,
    codec: new TextDecoder().decode(codecBytes),
    sig,
    body,
    hash: labelled(LABEL_RECORD, body),
  };
}

const N = secp256k1.Point.CURVE().n;
const scalar = (b: Uint8Array): bigint => BigInt("0x" + (bytesToHex(b) || "0"));

/** signerOf recovers the EIP-55 address that signed digest, under the
 * ledger's rules (SPEC §1): v 27 or 28, 0 < r < n, 0 < s ≤ n/2. It throws
 * on any other signature. */
export function signerOf(digest: Uint8Array, sig: Uint8Array): string {
  return addressOf(recoverKey(digest, sig));
}

/** recoverKey is signerOf's public key (65 bytes, uncompressed). */
export function recoverKey(digest: Uint8Array, sig: Uint8Array): Uint8Array {
  const [v] = sigParts(sig);
  const rec = concatBytes(Uint8Array.of(v - 27), sig.subarray(0, 64));
  const pub = secp256k1.recoverPublicKey(rec, digest, { prehash: false });
  return secp256k1.Point.fromBytes(pub).toBytes(false);
}

/** The EIP-55 address of an uncompressed public key. */
export const addressOf = (full: Uint8Array): string => checksum(keccak(full.subarray(1)).subarray(12));

function sigParts(sig: Uint8Array): [number, bigint, bigint] {
  if (sig.length !== SIGNATURE_SIZE) throw new Error("a signature is 65 bytes");
  const v = sig[64];
  const r = scalar(sig.subarray(0, 32)),
    s = scalar(sig.subarray(32, 64));
  if ((v !== 27 && v !== 28) || r === 0n || r >= N || s === 0n || s > N / 2n) throw new Error("not a valid signature (v, r or s out of range, or high s)");
  return [v, r, s];
}

/** KnownSigner answers, for one public key, whether a signature recovers
 * to it — exactly signerOf(digest, sig) === its address — without the
 * recovery's square root, with the key's multiples precomputed once: the
 * evidence verifier checks thousands of one camera's records this way.
 * R = (z/s)·G + (r/s)·Q must be the point recovery would choose: x = r,
 * y's parity = v − 27. */
export class KnownSigner {
  private readonly q;
  constructor(readonly key: Uint8Array) {
    this.q = secp256k1.Point.fromBytes(key);
    this.q.precompute(8, false);
  }
  recovers(digest: Uint8Array, sig: Uint8Array): boolean {
    return this.recoversAll([{ digest, sig }])[0];
  }
  /** recoversAll is recovers of each signature, the answers in their
   * order, with the two field inversions each needs (1/s, and 1/Z to take
   * R to affine x and y) done for all of them at once: Montgomery's batch
   * inversion, one inversion and three multiplications an element. Each
   * answer is recovers' own: the same points, compared the same way. */
  recoversAll(sigs: readonly { digest: Uint8Array; sig: Uint8Array }[]): boolean[] {
    const { Fn, Fp, BASE } = secp256k1.Point;
    const parts = sigs.map(({ sig }) => {
      try {
        return sigParts(sig);
      } catch {
        return null;
      }
    });
    // 0 < s < n for every signature sigParts accepts: each has an inverse.
    const sInv = FpInvertBatch(
      Fn,
      parts.map((p) => (p ? p[2] : Fn.ONE)),
    );
    const Rs = parts.map((p, i) => {
      if (!p) return null;
      const [, r] = p;
      const z = Fn.create(scalar(sigs[i].digest));
      const R = BASE.multiplyUnsafe(Fn.mul(z, sInv[i])).add(this.q.multiplyUnsafe(Fn.mul(r, sInv[i])));
      return R.is0() ? null : R;
    });
    // Z ≠ 0 for every point but the identity, left out above.
    const zInv = FpInvertBatch(
      Fp,
      Rs.map((R) => (R ? R.Z : Fp.ONE)),
    );
    return Rs.map((R, i) => {
      if (!R) return false;
      const [v, r] = parts[i]!;
      const a = R.toAffine(zInv[i]); // it checks Z · zInv = 1
      return a.x === r && Number(a.y & 1n) === v - 27;
    });
  }
}

/** verifyRecordSignature throws unless the record is signed by the camera it names. */
export function verifyRecordSignature(r: Record): void {
  let got: string;
  try {
    got = signerOf(r.hash, r.sig);
  } catch (e) {
    throw new Error(`record ${r.seq}: bad signature: ${(e as Error).message}`);
  }
  if (got !== checksum(r.camera)) throw new Error(`record ${r.seq}: signed by ${got}, camera is ${checksum(r.camera)}`);
}

/** segmentMismatch reports how data is not the segment the record names
 * (size and SHA-256), or null. digest, when given, is SHA-256 of data
 * computed elsewhere (WebCrypto: see evidence.segmentDigests). */
export function segmentMismatch(r: Record, data: Uint8Array, digest?: Uint8Array): string | null {
  if (BigInt(data.length) !== r.size) return `size ${data.length}, the record says ${r.size}`;
  if (!equalBytes(digest ?? sha256(data), r.segment)) return "SHA-256 is not the record's";
  return null;
}

// Parts (SPEC §7.3): the camera's signed statements about the open
// segment's byte ranges, for low-latency live view. A part verified here
// is the camera's word about a segment not yet recorded; the record that
// closes the segment binds the parts' concatenation (its size and SHA-256).
export const PART_VERSION = 1;
export const PART_BODY_SIZE = 1 + 20 + 8 + 1 + 8 + 32 + 4 + 32 + 8 + 4 + 32;
export const PART_SIZE = PART_BODY_SIZE + SIGNATURE_SIZE;
export const MAX_SEGMENT_BYTES = 32 << 20;
const LABEL_PART = utf8ToBytes("camchain/v1/part");

/** A decoded part statement. */
export interface Part {
  camera: Uint8Array; // 20
  epoch: bigint;
  stream: Stream;
  seq: bigint; // the record the part's segment will have
  prev: Uint8Array; // 32: that record's prev
  index: number; // the part's number in the segment, from 0
  prevPart: Uint8Array; // 32: PartHash of part index−1
  offset: bigint; // where the part's bytes start in the segment file
  size: number; // the part's length
  data: Uint8Array; // 32: SHA-256 of the part's bytes
  sig: Uint8Array; // 65
  hash: Uint8Array; // PartHash
}

/** The field a part fails on, as internal/feedchain's PartError names it. */
export type PartField = "signature" | "camera" | "epoch" | "stream" | "seq" | "prev" | "index" | "prevPart" | "offset" | "size" | "sha256";

/** PartError says which part failed on which field, expected against got. */
export class PartError extends Error {
  constructor(
    readonly seq: bigint,
    readonly index: number,
    readonly field: PartField,
    readonly expected: string,
    readonly got: string,
  ) {
    super(field === "signature" ? `part ${index} of record ${seq} is not signed by its camera: ${got}` : `part ${index} of record ${seq}: ${field} is ${got}, expected ${expected}`);
  }
}

const partErr = (p: Part, field: PartField, want: unknown, got: unknown) => new PartError(p.seq, p.index, field, String(want), String(got));
const shortHex = (h: Uint8Array): string => bytesToHex(h.subarray(0, 4));

/** parsePart decodes exactly PART_SIZE bytes strictly, as the Go parser
 * does (version, stream, prev zero on record 0 and only there, prevPart
 * and offset zero on part 0 and only there, size within a segment). It
 * does not check the signature (verifyPart does). */
export function parsePart(b: Uint8Array): Part {
  if (b.length !== PART_SIZE) throw new MalformedError(`malformed part statement: ${b.length} bytes, want ${PART_SIZE}`);
  if (b[0] !== PART_VERSION) throw new MalformedError(`malformed part statement: unknown version ${b[0]}`);
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  let p = 1;
  const take = (n: number) => b.slice(p, (p += n));
  const camera = take(20);
  const epoch = dv.getBigUint64(p);
  p += 8;
  const s = b[p++];
  const seq = dv.getBigUint64(p);
  p += 8;
  const prev = take(32);
  const index = dv.getUint32(p);
  p += 4;
  const prevPart = take(32);
  const offset = dv.getBigUint64(p);
  p += 8;
  const size = dv.getUint32(p);
  p += 4;
  const data = take(32);
  const sig = take(SIGNATURE_SIZE);
  if (s > 1) throw new MalformedError(`malformed part statement: unknown stream ${s}`);
  if (seq === 0n && !isZero(prev)) throw new MalformedError("malformed part statement: a part of record 0 must have a zero prev");
  if (seq > 0n && isZero(prev)) throw new MalformedError(`malformed part statement: a part of record ${seq} has a zero prev`);
  if (index === 0 && (!isZero(prevPart) || offset !== 0n)) throw new MalformedError("malformed part statement: part 0 must have a zero prevPart and offset");
  if (index > 0 && (isZero(prevPart) || offset === 0n)) throw new MalformedError(`malformed part statement: part ${index} has a zero prevPart or offset`);
  if (size === 0 || size > MAX_SEGMENT_BYTES || offset > BigInt(MAX_SEGMENT_BYTES - size))
    throw new MalformedError(`malformed part statement: part of ${size} bytes at offset ${offset} outside a ${MAX_SEGMENT_BYTES}-byte segment`);
  return { camera, epoch, stream: s === 0 ? "main" : "sub", seq, prev, index, prevPart, offset, size, data, sig, hash: labelled(LABEL_PART, b.subarray(0, PART_BODY_SIZE)) };
}

/** partEnd is where the part's bytes end in the segment file. */
export const partEnd = (p: Part): bigint => p.offset + BigInt(p.size);

/** verifyPart throws a PartError unless the statement is signed by the camera it names. */
export function verifyPart(p: Part): void {
  let got: string;
  try {
    got = signerOf(p.hash, p.sig);
  } catch (e) {
    throw partErr(p, "signature", checksum(p.camera), (e as Error).message);
  }
  if (got !== checksum(p.camera)) throw partErr(p, "signature", checksum(p.camera), "signed by " + got);
}

/** verifyPartNext throws a PartError unless p follows: with prev null, part
 * 0 of the record after head (record 0 when head is null) of this camera,
 * epoch and stream; with prev, the part after prev in the same segment.
 * It does not check signatures (verifyPart does). */
export function verifyPartNext(camera: Uint8Array, epoch: bigint, stream: Stream, head: { seq: bigint; hash: Uint8Array } | null, prev: Part | null, p: Part): void {
  if (!equalBytes(p.camera, camera)) throw partErr(p, "camera", checksum(camera), checksum(p.camera));
  if (p.epoch !== epoch) throw partErr(p, "epoch", epoch, p.epoch);
  if (p.stream !== stream) throw partErr(p, "stream", stream, p.stream);
  if (!prev) {
    const wantSeq = head ? head.seq + 1n : 0n;
    const wantPrev = head ? head.hash : new Uint8Array(32);
    if (p.seq !== wantSeq) throw partErr(p, "seq", wantSeq, p.seq);
    if (!equalBytes(p.prev, wantPrev)) throw partErr(p, "prev", shortHex(wantPrev), shortHex(p.prev));
    if (p.index !== 0) throw partErr(p, "index", 0, p.index);
    return;
  }
  if (p.seq !== prev.seq) throw partErr(p, "seq", prev.seq, p.seq);
  if (!equalBytes(p.prev, prev.prev)) throw partErr(p, "prev", shortHex(prev.prev), shortHex(p.prev));
  if (p.index !== prev.index + 1) throw partErr(p, "index", prev.index + 1, p.index);
  if (!equalBytes(p.prevPart, prev.hash)) throw partErr(p, "prevPart", shortHex(prev.hash), shortHex(p.prevPart));
  if (p.offset !== partEnd(prev)) throw partErr(p, "offset", partEnd(prev), p.offset);
}

/** verifyPartData throws a PartError unless data has the part's size and SHA-256. */
export function verifyPartData(p: Part, data: Uint8Array): void {
  if (data.length !== p.size) throw partErr(p, "size", p.size, data.length);
  const h = sha256(data);
  if (!equalBytes(h, p.data)) throw partErr(p, "sha256", shortHex(p.data), shortHex(h));
}

/** verifySealed throws a PartError unless record r closes the segment
 * whose parts ended with last: same camera, epoch, stream, seq and prev,
 * and a segment at least as long as the parts. (The segment's SHA-256 over
 * the parts' bytes and the rest is the caller's: it holds the bytes.) */
export function verifySealed(last: Part, r: Record): void {
  if (!equalBytes(r.camera, last.camera)) throw partErr(last, "camera", checksum(r.camera), checksum(last.camera));
  if (r.epoch !== last.epoch) throw partErr(last, "epoch", r.epoch, last.epoch);
  if (r.stream !== last.stream) throw partErr(last, "stream", r.stream, last.stream);
  if (r.seq !== last.seq) throw partErr(last, "seq", r.seq, last.seq);
  if (!equalBytes(r.prev, last.prev)) throw partErr(last, "prev", shortHex(r.prev), shortHex(last.prev));
  if (r.size < partEnd(last)) throw partErr(last, "size", `within the record's ${r.size} bytes`, `ending at ${partEnd(last)}`);
}
