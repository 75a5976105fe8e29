// bundle.ts: an evidence bundle (SPEC §10) decoded as internal/evidence's
// Decode does — canonical CBOR only (definite lengths, shortest heads, no
// tags, floats or maps), the schema's types and its limits, nothing after
// it — so a bundle Go refuses as malformed is refused here too. Byte
// fields are views of the input (a bundle is mostly video: no copies).
import { MAX_RECORD_SIZE } from "./feedchain";
import { MAX_TOTAL_VOTING_POWER, type TxResult, type Validator } from "./cometbft";
import { HASH_SIZE, MAX_PROOF_HASHES } from "./merkle";

export const LABEL = "camchain-evidence";
/** The latest version; version 2 adds witness cosignatures and
 * timestamps, version 3 the validator set's history (SPEC §10.2). */
export const VERSION = 4n;
export const VERSION_V1 = 1n;
export const VERSION_V2 = 2n;
export const VERSION_V3 = 3n;
/** Version 4: a version 1–3 bundle, byte for byte, with the segment keys
 * of some sealed clips (SPEC §10.8). */
export const VERSION_V4 = 4n;

// internal/evidence/limits.go.
export const LIMITS = {
  bundleBytes: 1 << 30,
  clips: 10_000,
  checkpoints: 1024,
  segmentBytes: 32 << 20,
  txBytes: 4096,
  headerBytes: 2 << 20,
  validators: 10_000,
  results: 1 << 20,
  resultDataBytes: 64 << 10,
  aunts: 64,
  keyTypeBytes: 32,
  minPubKeyBytes: 32,
  maxPubKeyBytes: 128,
  chainIDBytes: 50,
  cosignatures: 16,
  witnessNameBytes: 256,
  timestamps: 8,
  timestampBytes: 16 << 10,
  validatorChanges: 1024,
};

export interface TxProof {
  rootHash: Uint8Array;
  total: bigint;
  index: bigint;
  leafHash: Uint8Array;
  aunts: Uint8Array[];
}
export interface Cosignature {
  name: string;
  key: Uint8Array;
  time: bigint;
  signature: Uint8Array;
}
export interface Checkpoint {
  tx: Uint8Array;
  txProof: TxProof;
  header: Uint8Array;
  validators: Validator[];
  nextHeader: Uint8Array;
  nextValidators: Validator[];
  results: TxResult[];
  cosignatures: Cosignature[];
  timestamps: Uint8Array[];
}
export interface Clip {
  checkpoint: bigint;
  leafIndex: bigint;
  record: Uint8Array;
  proof: Uint8Array;
  segment: Uint8Array;
}
/** One change of the validator set (version 3): the signed header of the
 * block that first names the new set as its next one, and that set. */
export interface Link {
  header: Uint8Array;
  validators: Validator[];
}
/** The validator set's history from the genesis (version 3). */
export interface History {
  genesis: Validator[];
  links: Link[];
}
/** A revealed segment key (version 4, SPEC §10.8): [seq, serial, key]. */
export interface Reveal {
  seq: bigint;
  serial: bigint;
  key: Uint8Array;
}
export interface Bundle {
  version: bigint;
  /** The revealed segment keys (version 4); absent when none. */
  reveals?: Reveal[];
  ledgerChainID: string;
  camera: Uint8Array;
  epoch: bigint;
  history?: History;
  checkpoints: Checkpoint[];
  clips: Clip[];
}

/** The kinds of failure, named as evidence.KindOf names Go's sentinels. */
export type Kind =
  | "not_bundle"
  | "version"
  | "malformed"
  | "checkpoint_tx"
  | "succession"
  | "tx_proof"
  | "header"
  | "validators"
  | "not_pinned"
  | "history"
  | "commit"
  | "results"
  | "cosignature"
  | "not_witnessed"
  | "timestamp"
  | "not_timestamped"
  | "record"
  | "segment"
  | "inclusion"
  | "reveal";

/** EvidenceError is a failure of a bundle: its kind, where, and why. */
export class EvidenceError extends Error {
  constructor(
    readonly kind: Kind,
    readonly where: string,
    readonly reason: string,
  ) {
    super(where ? `${where}: ${reason}` : reason);
  }
}

// The least bytes one element of each list takes (decode.go).
const MIN_VALIDATOR = 1 + 2 + 2 + 32 + 1,
  MIN_RESULT = 5,
  MIN_AUNT = 2 + HASH_SIZE,
  MIN_COSIGNATURE = 1 + 2 + 2 + 32 + 1 + 2 + 64,
  MIN_TIMESTAMP = 2,
  MIN_LINK = 1 + 2 + 1 + MIN_VALIDATOR;

const UINT = 0,
  NEG = 1,
  BYTES = 2,
  TEXT = 3,
  ARRAY = 4;

class Decoder {
  off = 0;
  constructor(readonly b: Uint8Array) {}
  left(): number {
    return this.b.length - this.off;
  }
  head(): [number, bigint] {
    if (this.left() < 1) throw new Error("truncated");
    const ib = this.b[this.off++];
    const major = ib >> 5,
      ai = ib & 0x1f;
    if (ai < 24) return [major, BigInt(ai)];
    if (ai > 27) throw new Error(`item head 0x${ib.toString(16)} at byte ${this.off - 1}: indefinite length or reserved`);
    const n = 1 << (ai - 24);
    if (this.left() < n) throw new Error("truncated");
    let arg = 0n;
    for (let i = 0; i < n; i++) arg = (arg << 8n) | BigInt(this.b[this.off + i]);
    this.off += n;
    const least = [24n, 1n << 8n, 1n << 16n, 1n << 32n][ai - 24];
    if (arg < least) throw new Error(`non-minimal head at byte ${this.off - n - 1}`);
    return [major, arg];
  }
  expect(major: number): bigint {
    const at = this.off;
    const [m, arg] = this.head();
    if (m !== major) throw new Error(`byte ${at}: major type ${m}, want ${major}`);
    return arg;
  }
  uint(): bigint {
    return this.expect(UINT);
  }
  int64(): bigint {
    const [m, arg] = this.head();
    if ((m !== UINT && m !== NEG) || arg > (1n << 63n) - 1n) throw new Error("not a 64-bit integer");
    return m === NEG ? -1n - arg : arg;
  }
  tuple(n: number): void {
    const got = this.expect(ARRAY);
    if (got !== BigInt(n)) throw new Error(`an array of ${got}, want ${n}`);
  }
  list(limit: number, minBytes: number): number {
    const n = this.expect(ARRAY);
    if (n > BigInt(limit)) throw new Error(`a list of ${n}, over the limit of ${limit}`);
    if (n * BigInt(minBytes) > BigInt(this.left())) throw new Error(`a list of ${n} cannot fit in the ${this.left()} bytes left`);
    return Number(n);
  }
  bytes(max: number): Uint8Array {
    const n = this.expect(BYTES);
    if (n > BigInt(max)) throw new Error(`a byte string of ${n} bytes, over the limit of ${max}`);
    if (n > BigInt(this.left())) throw new Error("truncated");
    const v = this.b.subarray(this.off, this.off + Number(n));
    this.off += Number(n);
    return v;
  }
  text(max: number): string {
    const n = this.expect(TEXT);
    if (n > BigInt(max)) throw new Error(`a text string of ${n} bytes, over the limit of ${max}`);
    if (n > BigInt(this.left())) throw new Error("truncated");
    const v = this.b.subarray(this.off, this.off + Number(n));
    this.off += Number(n);
    return new TextDecoder("utf-8", { fatal: true }).decode(v);
  }
}

/** decodeBundle reads a bundle strictly (evidence.Decode), throwing an
 * EvidenceError of kind not_bundle, version or malformed. */
export function decodeBundle(data: Uint8Array): Bundle {
  const bad = (why: string) => new EvidenceError("malformed", "", why);
  if (data.length > LIMITS.bundleBytes) throw bad(`${data.length} bytes, over the ${LIMITS.bundleBytes}-byte limit`);
  const d = new Decoder(data);
  let n: bigint;
  try {
    n = d.expect(ARRAY);
    if (d.text(LABEL.length) !== LABEL) throw new Error();
  } catch {
    throw new EvidenceError("not_bundle", "", "not a camchain evidence bundle");
  }
  let v: bigint;
  try {
    v = d.uint();
  } catch (e) {
    throw bad(`no version after the label: ${(e as Error).message}`);
  }
  if (v !== VERSION_V1 && v !== VERSION_V2 && v !== VERSION_V3 && v !== VERSION_V4)
    throw new EvidenceError("version", "", `unknown bundle version ${v} (this page reads versions 1 to 4)`);
  const items = v === VERSION_V3 ? 8n : v === VERSION_V4 ? 4n : 7n;
  if (n !== items) throw bad(`a version ${v} bundle is an array of ${items}, this one of ${n}`);
  if (v !== VERSION_V4) return rest(d, v, data.length);
  // Version 4: the inner bundle's bytes, then the revealed keys.
  let b: Bundle;
  let reveals: Reveal[];
  try {
    const inner = d.bytes(LIMITS.bundleBytes);
    const id = new Decoder(inner);
    const m = id.expect(ARRAY);
    if (id.text(LABEL.length) !== LABEL) throw new Error("the inner bundle does not start with the label");
    const iv = id.uint();
    if (iv < VERSION_V1 || iv > VERSION_V3 || m !== (iv === VERSION_V3 ? 8n : 7n))
      throw new Error("the inner bundle of a version 4 bundle must be of version 1 to 3, an array of its length");
    b = rest(id, iv, inner.length);
    const k = d.list(LIMITS.clips, 37);
    if (k === 0) throw new Error("revealed keys: none: a bundle that reveals nothing is written as the bundle it wraps");
    reveals = [];
    for (let i = 0; i < k; i++) {
      d.tuple(3);
      const seq = d.uint(),
        serial = d.uint(),
        key = d.bytes(32);
      if (key.length !== 32) throw new Error(`revealed keys: key ${i}: want 32 bytes`);
      reveals.push({ seq, serial, key });
    }
  } catch (e) {
    if (e instanceof EvidenceError) throw e;
    throw bad((e as Error).message);
  }
  if (d.off !== data.length) throw bad(`${data.length - d.off} bytes after the bundle`);
  if (reveals.length > b.clips.length) throw bad(`${reveals.length} revealed keys for ${b.clips.length} clips`);
  reveals.forEach((r, i) => {
    if (i > 0 && r.seq <= reveals[i - 1].seq) throw bad(`revealed key ${i}: record #${r.seq} does not follow #${reveals[i - 1].seq}: keys must be in increasing sequence, one per clip`);
  });
  return { ...b, version: VERSION_V4, reveals };
}

/** rest reads a version 1–3 bundle after its label and version, to the
 * end of its bytes (end), and checks it. */
function rest(d: Decoder, v: bigint, end: number): Bundle {
  const bad = (why: string) => new EvidenceError("malformed", "", why);
  let b: Bundle;
  try {
    b = bundleBody(d, v);
  } catch (e) {
    throw bad((e as Error).message);
  }
  const carries = b.checkpoints.some((c) => c.cosignatures.length > 0 || c.timestamps.length > 0);
  const written = b.history ? VERSION_V3 : carries ? VERSION_V2 : VERSION_V1;
  if (written !== v) throw bad(`a version ${v} bundle with no cosignature and no timestamp: such a bundle is written as version ${written}`);
  if (d.off !== end) throw bad(`${end - d.off} bytes after the bundle`);
  check(b);
  return b;
}

function bundleBody(d: Decoder, version: bigint): Bundle {
  const ctx = (what: string, f: () => void) => {
    try {
      f();
    } catch (e) {
      throw new Error(`${what}: ${(e as Error).message}`);
    }
  };
  let ledgerChainID = "";
  ctx("chain id", () => (ledgerChainID = d.text(LIMITS.chainIDBytes)));
  let camera: Uint8Array = new Uint8Array(0);
  ctx("camera", () => {
    camera = d.bytes(20);
    if (camera.length !== 20) throw new Error("want 20 bytes");
  });
  let epoch = 0n;
  ctx("epoch", () => (epoch = d.uint()));
  let history: History | undefined;
  if (version === VERSION_V3) ctx("validator-set history", () => (history = historyOf(d)));
  let n = 0;
  ctx("checkpoints", () => (n = d.list(LIMITS.checkpoints, 1)));
  const checkpoints: Checkpoint[] = [];
  for (let i = 0; i < n; i++) ctx(`checkpoint ${i}`, () => checkpoints.push(checkpointOf(d, version)));
  ctx("clips", () => (n = d.list(LIMITS.clips, 1)));
  const clips: Clip[] = [];
  for (let i = 0; i < n; i++) ctx(`clip ${i}`, () => clips.push(clipOf(d)));
  return { version, ledgerChainID, camera, epoch, ...(history ? { history } : {}), checkpoints, clips };
}

/** historyOf reads a version 3 bundle's history (decode.go's history). */
function historyOf(d: Decoder): History {
  d.tuple(2);
  let genesis: Validator[] = [];
  try {
    genesis = validatorsOf(d);
  } catch (e) {
    throw new Error(`genesis validators: ${(e as Error).message}`);
  }
  let n = 0;
  try {
    n = d.list(LIMITS.validatorChanges, MIN_LINK);
  } catch (e) {
    throw new Error(`changes: ${(e as Error).message}`);
  }
  if (n === 0) throw new Error("no change: a bundle without one is written as version 1 or 2");
  const links: Link[] = [];
  for (let i = 0; i < n; i++) {
    try {
      d.tuple(2);
      const header = d.bytes(LIMITS.headerBytes);
      if (header.length === 0) throw new Error(`header: want 1..${LIMITS.headerBytes} bytes`);
      links.push({ header, validators: validatorsOf(d) });
    } catch (e) {
      throw new Error(`change ${i}: ${(e as Error).message}`);
    }
  }
  return { genesis, links };
}

function checkpointOf(d: Decoder, version: bigint): Checkpoint {
  d.tuple(version === VERSION_V1 ? 7 : 9);
  const tx = d.bytes(LIMITS.txBytes);
  d.tuple(5);
  const rootHash = d.bytes(HASH_SIZE);
  const total = d.uint();
  const index = d.uint();
  const leafHash = d.bytes(HASH_SIZE);
  const na = d.list(LIMITS.aunts, MIN_AUNT);
  const aunts: Uint8Array[] = [];
  for (let i = 0; i < na; i++) {
    const a = d.bytes(HASH_SIZE);
    if (a.length !== HASH_SIZE) throw new Error(`aunt ${i}: want ${HASH_SIZE} bytes`);
    aunts.push(a);
  }
  const header = d.bytes(LIMITS.headerBytes);
  const validators = validatorsOf(d);
  const nextHeader = d.bytes(LIMITS.headerBytes);
  const nextValidators = validatorsOf(d);
  const nr = d.list(LIMITS.results, MIN_RESULT);
  const results: TxResult[] = [];
  for (let i = 0; i < nr; i++) {
    d.tuple(4);
    const code = d.uint();
    if (code > 0xffffffffn) throw new Error(`result ${i}: code: not a 32-bit unsigned integer`);
    results.push({ code, data: d.bytes(LIMITS.resultDataBytes), gasWanted: d.int64(), gasUsed: d.int64() });
  }
  const cosignatures: Cosignature[] = [];
  const timestamps: Uint8Array[] = [];
  if (version !== VERSION_V1) {
    const nc = d.list(LIMITS.cosignatures, MIN_COSIGNATURE);
    for (let i = 0; i < nc; i++) {
      d.tuple(4);
      const name = d.text(LIMITS.witnessNameBytes);
      if (name === "") throw new Error(`cosignature ${i}: witness name: want 1..${LIMITS.witnessNameBytes} bytes`);
      const key = d.bytes(32);
      if (key.length !== 32) throw new Error(`cosignature ${i}: key: want 32 bytes`);
      const time = d.uint();
      const signature = d.bytes(64);
      if (signature.length !== 64) throw new Error(`cosignature ${i}: signature: want 64 bytes`);
      cosignatures.push({ name, key, time, signature });
    }
    const nt = d.list(LIMITS.timestamps, MIN_TIMESTAMP);
    for (let i = 0; i < nt; i++) {
      const t = d.bytes(LIMITS.timestampBytes);
      if (t.length === 0) throw new Error(`timestamp ${i}: want 1..${LIMITS.timestampBytes} bytes`);
      timestamps.push(t);
    }
  }
  return {
    tx,
    txProof: { rootHash, total, index, leafHash, aunts },
    header,
    validators,
    nextHeader,
    nextValidators,
    results,
    cosignatures,
    timestamps,
  };
}

function validatorsOf(d: Decoder): Validator[] {
  const n = d.list(LIMITS.validators, MIN_VALIDATOR);
  const out: Validator[] = [];
  for (let i = 0; i < n; i++) {
    d.tuple(3);
    const keyType = d.text(LIMITS.keyTypeBytes);
    const pubKey = d.bytes(LIMITS.maxPubKeyBytes);
    if (pubKey.length < LIMITS.minPubKeyBytes) throw new Error(`validator ${i}: public key must be ${LIMITS.minPubKeyBytes}..${LIMITS.maxPubKeyBytes} bytes`);
    out.push({ keyType, pubKey, power: d.uint() });
  }
  return out;
}

function clipOf(d: Decoder): Clip {
  d.tuple(5);
  return {
    checkpoint: d.uint(),
    leafIndex: d.uint(),
    record: d.bytes(MAX_RECORD_SIZE),
    proof: d.bytes(MAX_PROOF_HASHES * HASH_SIZE),
    segment: d.bytes(LIMITS.segmentBytes),
  };
}

/** check is Bundle.check: sizes, references and order. */
function check(b: Bundle): void {
  const bad = (why: string) => new EvidenceError("malformed", "", why);
  if (b.ledgerChainID.length === 0) throw bad(`chain id must be 1..${LIMITS.chainIDBytes} bytes of UTF-8`);
  if (b.checkpoints.length === 0) throw bad(`0 checkpoints, want 1..${LIMITS.checkpoints}`);
  if (b.clips.length === 0) throw bad(`0 clips, want 1..${LIMITS.clips}`);
  if (b.history) {
    const g = validatorsProblem(b.history.genesis);
    if (g) throw bad(`validator-set history: genesis validators: ${g}`);
    b.history.links.forEach((l, i) => {
      const why = validatorsProblem(l.validators);
      if (why) throw bad(`validator-set history: change ${i}: validators: ${why}`);
    });
  }
  b.checkpoints.forEach((c, i) => {
    const why = checkpointProblem(c);
    if (why) throw bad(`checkpoint ${i}: ${why}`);
  });
  const used = b.checkpoints.map(() => false);
  b.clips.forEach((c, i) => {
    const prev = b.clips[i - 1];
    if (c.checkpoint >= BigInt(b.checkpoints.length)) throw bad(`clip ${i} refers to checkpoint ${c.checkpoint} of ${b.checkpoints.length}`);
    if (prev && c.leafIndex <= prev.leafIndex) throw bad(`clip ${i}: leaf index ${c.leafIndex} does not follow ${prev.leafIndex}: clips must be in increasing sequence`);
    if (prev && c.checkpoint < prev.checkpoint) throw bad(`clip ${i}: checkpoint ${c.checkpoint} before the previous clip's ${prev.checkpoint}`);
    if (c.record.length === 0) throw bad(`clip ${i}: record of 0 bytes`);
    if (c.proof.length % HASH_SIZE !== 0) throw bad(`clip ${i}: inclusion proof of ${c.proof.length} bytes is not whole ${HASH_SIZE}-byte hashes`);
    used[Number(c.checkpoint)] = true;
  });
  const unused = used.indexOf(false);
  if (unused >= 0) throw bad(`checkpoint ${unused} is used by no clip`);
}

function checkpointProblem(c: Checkpoint): string | null {
  if (c.tx.length === 0) return "transaction of 0 bytes";
  if (c.header.length === 0) return "header of 0 bytes";
  if (c.nextHeader.length === 0) return "next header of 0 bytes";
  if (c.results.length === 0) return "0 transaction results";
  const p = c.txProof;
  if (p.rootHash.length !== HASH_SIZE || p.leafHash.length !== HASH_SIZE) return `transaction proof: root and leaf hashes must be ${HASH_SIZE} bytes`;
  if (p.total === 0n || p.total > BigInt(LIMITS.results) || p.index >= p.total) return `transaction proof: index ${p.index} of ${p.total} transactions`;
  for (const [vs, what] of [
    [c.validators, "validators"],
    [c.nextValidators, "next validators"],
  ] as [Validator[], string][]) {
    const why = validatorsProblem(vs);
    if (why) return `${what}: ${why}`;
  }
  return null;
}

/** validatorsProblem is checkValidators's structural part. */
function validatorsProblem(vs: Validator[]): string | null {
  if (vs.length === 0) return "0 validators";
  for (const [i, v] of vs.entries()) {
    if (v.keyType.length === 0) return `validator ${i}: key type must be 1..${LIMITS.keyTypeBytes} bytes`;
    if (v.power === 0n || v.power > MAX_TOTAL_VOTING_POWER) return `validator ${i}: voting power ${v.power}, want 1..${MAX_TOTAL_VOTING_POWER}`;
  }
  return null;
}
