// feedchain.ts: the camera's records (SPEC §6.1, §6.2) as the page checks
// them itself: strict decoding of both layouts, the record hash, and the
// camera's signature, with @noble/hashes and @noble/curves. The page never
// takes a hub's word that a segment is the camera's: it recovers the signer
// and compares it with the camera address it paired or was granted.
import { sha256 } from "@noble/hashes/sha2.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
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
    let v: number, r: bigint, s: bigint;
    try {
      [v, r, s] = sigParts(sig);
    } catch {
      return false;
    }
    const Fn = secp256k1.Point.Fn;
    const si = Fn.inv(s);
    const z = Fn.create(scalar(digest));
    const R = secp256k1.Point.BASE.multiplyUnsafe(Fn.mul(z, si)).add(this.q.multiplyUnsafe(Fn.mul(r, si)));
    if (R.is0()) return false;
    const a = R.toAffine();
    return a.x === r && Number(a.y & 1n) === v - 27;
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
