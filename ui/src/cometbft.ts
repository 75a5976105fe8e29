// cometbft.ts: the CometBFT facts an evidence bundle carries (SPEC §10) as
// the offline verifier checks them — signed headers (protobuf
// cometbft.types.v1.SignedHeader, read strictly: only the canonical
// encoding is accepted, as internal/evidence's decodeSignedHeader insists),
// header and commit hashes, validator-set hashes, commit signatures
// (Ed25519, ZIP-215 rules as CometBFT's verifier), the results hash and
// transaction proofs. It follows CometBFT v1.0's types package; every
// function names the Go function it mirrors.
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, concatBytes, utf8ToBytes } from "./bytes";
import { equalBytes } from "./feedchain";
import { auntsRoot, hashFromByteSlices, leafHash } from "./merkle";

/** version.BlockProtocol of CometBFT v1. */
export const BLOCK_PROTOCOL = 11n;
export const MAX_CHAIN_ID_LEN = 50;
const ADDRESS_SIZE = 20;
const MAX_SIGNATURE_SIZE = 64;
/** types.MaxTotalVotingPower: MaxInt64 / 8. */
export const MAX_TOTAL_VOTING_POWER = (1n << 63n) / 8n;

const FLAG_ABSENT = 1n,
  FLAG_COMMIT = 2n,
  FLAG_NIL = 3n;
const PRECOMMIT = 2n;
/** Go's zero time.Time as a protobuf Timestamp's seconds. */
const ZERO_TIME_SECONDS = -62135596800n;

export const upperHex = (b: Uint8Array): string => bytesToHex(b).toUpperCase();

// ---- protobuf, strictly ------------------------------------------------

type Wire = 0 | 1 | 2 | 5;
interface PField {
  num: number;
  wire: Wire;
  int?: bigint; // varint (unsigned as read) or fixed64
  bytes?: Uint8Array; // length-delimited
  raw: Uint8Array; // the field's value bytes (for a message: its encoding)
}

/** readFields splits one message into its fields, refusing what a
 * canonical encoder never writes: non-minimal varints, field numbers out of
 * order (a repeated field may repeat), wire types other than the schema's. */
function readFields(b: Uint8Array, schema: Record<number, Wire>, repeated: number[] = []): PField[] {
  let p = 0;
  const varint = (): bigint => {
    let n = 0n,
      shift = 0n;
    const start = p;
    for (;;) {
      if (p >= b.length) throw new Error("truncated varint");
      const c = b[p++];
      n |= BigInt(c & 0x7f) << shift;
      if ((c & 0x80) === 0) {
        if (c === 0 && p - start > 1) throw new Error("non-minimal varint");
        if (p - start > 10 || n >= 1n << 64n) throw new Error("varint over 64 bits");
        return n;
      }
      shift += 7n;
    }
  };
  const out: PField[] = [];
  let last = 0;
  while (p < b.length) {
    const key = varint();
    const num = Number(key >> 3n),
      wire = Number(key & 7n) as Wire;
    if (!(num in schema)) throw new Error(`unknown field ${num}`);
    if (schema[num] !== wire) throw new Error(`field ${num}: wire type ${wire}, want ${schema[num]}`);
    if (num < last || (num === last && !repeated.includes(num))) throw new Error(`field ${num} out of canonical order`);
    last = num;
    const start = p;
    if (wire === 0) {
      const v = varint();
      out.push({ num, wire, int: v, raw: b.subarray(start, p) });
    } else if (wire === 1) {
      if (p + 8 > b.length) throw new Error("truncated fixed64");
      const v = new DataView(b.buffer, b.byteOffset + p, 8).getBigUint64(0, true);
      p += 8;
      out.push({ num, wire, int: v, raw: b.subarray(start, p) });
    } else if (wire === 2) {
      const n = varint();
      if (n > BigInt(b.length - p)) throw new Error("truncated length-delimited field");
      const v = b.subarray(p, p + Number(n));
      p += Number(n);
      out.push({ num, wire, bytes: v, raw: v });
    } else throw new Error(`wire type ${wire}`);
  }
  return out;
}

const one = (fs: PField[], num: number): PField | undefined => fs.find((f) => f.num === num);
/** A proto3 scalar: absent means zero, present must not be zero (a
 * canonical encoder omits zeros). */
function u(fs: PField[], num: number): bigint {
  const f = one(fs, num);
  if (!f) return 0n;
  if (f.int === 0n) throw new Error(`field ${num}: a zero written out`);
  return f.int!;
}
const i64 = (fs: PField[], num: number): bigint => BigInt.asIntN(64, u(fs, num));
function byts(fs: PField[], num: number): Uint8Array {
  const f = one(fs, num);
  if (!f) return new Uint8Array(0);
  if (f.bytes!.length === 0) throw new Error(`field ${num}: an empty value written out`);
  return f.bytes!;
}
/** A non-nullable embedded message: always written, even when empty. */
function msg(fs: PField[], num: number): Uint8Array {
  const f = one(fs, num);
  if (!f) throw new Error(`field ${num}: a non-nullable message is missing`);
  return f.bytes!;
}

// ---- protobuf, writing (for the bytes CometBFT hashes and signs) --------

function putVarint(n: bigint, out: number[]): void {
  let v = BigInt.asUintN(64, n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}
const key = (num: number, wire: number, out: number[]) => putVarint(BigInt((num << 3) | wire), out);
function putBytes(num: number, b: Uint8Array, out: number[], always = false): void {
  if (b.length === 0 && !always) return;
  key(num, 2, out);
  putVarint(BigInt(b.length), out);
  for (const x of b) out.push(x);
}
function putUint(num: number, v: bigint, out: number[]): void {
  if (v === 0n) return;
  key(num, 0, out);
  putVarint(v, out);
}
function putSfixed64(num: number, v: bigint, out: number[]): void {
  if (v === 0n) return;
  key(num, 1, out);
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, v, true);
  for (const x of b) out.push(x);
}
const bytesOf = (out: number[]) => Uint8Array.from(out);

/** cdcEncode of a []byte or string: gogotypes.BytesValue/StringValue. */
const cdcBytes = (b: Uint8Array): Uint8Array => {
  const o: number[] = [];
  putBytes(1, b, o);
  return bytesOf(o);
};
/** cdcEncode of an int64: gogotypes.Int64Value. */
const cdcInt = (n: bigint): Uint8Array => {
  const o: number[] = [];
  putUint(1, BigInt.asUintN(64, n), o);
  return bytesOf(o);
};

// ---- the types ----------------------------------------------------------

export interface PartSetHeader {
  total: bigint;
  hash: Uint8Array;
}
export interface BlockID {
  hash: Uint8Array;
  psh: PartSetHeader;
  raw: Uint8Array;
}
export interface Timestamp {
  seconds: bigint;
  nanos: bigint;
  raw: Uint8Array;
}
export interface CommitSig {
  flag: bigint;
  address: Uint8Array;
  timestamp: Timestamp;
  signature: Uint8Array;
  raw: Uint8Array;
}
export interface Header {
  versionRaw: Uint8Array;
  block: bigint;
  app: bigint;
  chainID: string;
  height: bigint;
  time: Timestamp;
  lastBlockID: BlockID;
  lastCommitHash: Uint8Array;
  dataHash: Uint8Array;
  validatorsHash: Uint8Array;
  nextValidatorsHash: Uint8Array;
  consensusHash: Uint8Array;
  appHash: Uint8Array;
  lastResultsHash: Uint8Array;
  evidenceHash: Uint8Array;
  proposer: Uint8Array;
}
export interface Commit {
  height: bigint;
  round: bigint;
  blockID: BlockID;
  sigs: CommitSig[];
}
export interface SignedHeader {
  header: Header;
  commit: Commit;
}

function timestamp(b: Uint8Array): Timestamp {
  const fs = readFields(b, { 1: 0, 2: 0 });
  const seconds = i64(fs, 1);
  const nanos = BigInt.asIntN(32, BigInt.asIntN(64, u(fs, 2)));
  // gogoproto's StdTimeUnmarshal: seconds within years 1..9999, 0 ≤ nanos < 1e9.
  if (seconds < ZERO_TIME_SECONDS || seconds >= 253402300800n) throw new Error("timestamp out of range");
  if (nanos < 0n || nanos >= 1_000_000_000n) throw new Error("timestamp nanos out of range");
  return { seconds, nanos, raw: b };
}

function partSetHeader(b: Uint8Array): PartSetHeader {
  const fs = readFields(b, { 1: 0, 2: 2 });
  const total = u(fs, 1);
  if (total >= 1n << 32n) throw new Error("part set total over 32 bits");
  return { total, hash: byts(fs, 2) };
}

function blockID(b: Uint8Array): BlockID {
  const fs = readFields(b, { 1: 2, 2: 2 });
  const id = { hash: byts(fs, 1), psh: partSetHeader(msg(fs, 2)), raw: b };
  // BlockID.ValidateBasic: hashes of 0 or 32 bytes.
  validateHash(id.hash, "block id hash");
  validateHash(id.psh.hash, "part set header hash");
  return id;
}

function validateHash(h: Uint8Array, what: string): void {
  if (h.length !== 0 && h.length !== 32) throw new Error(`${what}: ${h.length} bytes, want 0 or 32`);
}

const blockIDIsNil = (id: BlockID): boolean => id.hash.length === 0 && id.psh.total === 0n && id.psh.hash.length === 0;
export const blockIDEqual = (a: BlockID, b: BlockID): boolean =>
  equalBytes(a.hash, b.hash) && a.psh.total === b.psh.total && equalBytes(a.psh.hash, b.psh.hash);
export const blockIDString = (id: BlockID): string => `${upperHex(id.hash)}:${id.psh.total}:${upperHex(id.psh.hash)}`;

function header(b: Uint8Array): Header {
  const fs = readFields(b, { 1: 2, 2: 2, 3: 0, 4: 2, 5: 2, 6: 2, 7: 2, 8: 2, 9: 2, 10: 2, 11: 2, 12: 2, 13: 2, 14: 2 });
  const versionRaw = msg(fs, 1);
  const vf = readFields(versionRaw, { 1: 0, 2: 0 });
  const chainBytes = byts(fs, 2);
  const h: Header = {
    versionRaw,
    block: u(vf, 1),
    app: u(vf, 2),
    chainID: new TextDecoder("utf-8", { fatal: true }).decode(chainBytes),
    height: i64(fs, 3),
    time: timestamp(msg(fs, 4)),
    lastBlockID: blockID(msg(fs, 5)),
    lastCommitHash: byts(fs, 6),
    dataHash: byts(fs, 7),
    validatorsHash: byts(fs, 8),
    nextValidatorsHash: byts(fs, 9),
    consensusHash: byts(fs, 10),
    appHash: byts(fs, 11),
    lastResultsHash: byts(fs, 12),
    evidenceHash: byts(fs, 13),
    proposer: byts(fs, 14),
  };
  // Header.ValidateBasic.
  if (h.block !== BLOCK_PROTOCOL) throw new Error(`block protocol is incorrect: got: ${h.block}, want: ${BLOCK_PROTOCOL}`);
  if (chainBytes.length > MAX_CHAIN_ID_LEN) throw new Error("chain id is too long");
  if (h.height <= 0n) throw new Error(h.height === 0n ? "zero Height" : "negative Height");
  for (const [v, n] of [
    [h.lastCommitHash, "LastCommitHash"],
    [h.dataHash, "DataHash"],
    [h.evidenceHash, "EvidenceHash"],
    [h.validatorsHash, "ValidatorsHash"],
    [h.nextValidatorsHash, "NextValidatorsHash"],
    [h.consensusHash, "ConsensusHash"],
    [h.lastResultsHash, "LastResultsHash"],
  ] as [Uint8Array, string][])
    validateHash(v, n);
  if (h.proposer.length !== ADDRESS_SIZE) throw new Error(`invalid ProposerAddress length; got: ${h.proposer.length}, expected: ${ADDRESS_SIZE}`);
  return h;
}

function commitSig(b: Uint8Array): CommitSig {
  const fs = readFields(b, { 1: 0, 2: 2, 3: 2, 4: 2 });
  const s: CommitSig = { flag: u(fs, 1), address: byts(fs, 2), timestamp: timestamp(msg(fs, 3)), signature: byts(fs, 4), raw: b };
  // CommitSig.ValidateBasic.
  switch (s.flag) {
    case FLAG_ABSENT:
      if (s.address.length !== 0) throw new Error("validator address is present");
      if (s.timestamp.seconds !== ZERO_TIME_SECONDS || s.timestamp.nanos !== 0n) throw new Error("time is present");
      if (s.signature.length !== 0) throw new Error("signature is present");
      break;
    case FLAG_COMMIT:
    case FLAG_NIL:
      if (s.address.length !== ADDRESS_SIZE) throw new Error(`expected ValidatorAddress size to be ${ADDRESS_SIZE} bytes, got ${s.address.length} bytes`);
      if (s.signature.length === 0) throw new Error("signature is missing");
      if (s.signature.length > MAX_SIGNATURE_SIZE) throw new Error(`signature is too big (max: ${MAX_SIGNATURE_SIZE})`);
      break;
    default:
      throw new Error(`unknown BlockIDFlag: ${s.flag}`);
  }
  return s;
}

function commit(b: Uint8Array): Commit {
  const fs = readFields(b, { 1: 0, 2: 0, 3: 2, 4: 2 }, [4]);
  const c: Commit = {
    height: i64(fs, 1),
    round: BigInt.asIntN(32, BigInt.asIntN(64, u(fs, 2))),
    blockID: blockID(msg(fs, 3)),
    sigs: [],
  };
  // Commit.ValidateBasic (the signatures are checked as they are read).
  if (c.height < 0n) throw new Error("negative Height");
  if (c.round < 0n) throw new Error("negative Round");
  const sigs = fs.filter((f) => f.num === 4);
  sigs.forEach((f, i) => {
    try {
      c.sigs.push(commitSig(f.bytes!));
    } catch (e) {
      throw new Error(`wrong CommitSig #${i}: ${(e as Error).message}`);
    }
  });
  if (c.height >= 1n) {
    if (blockIDIsNil(c.blockID)) throw new Error("commit cannot be for nil block");
    if (c.sigs.length === 0) throw new Error("no signatures in commit");
  }
  return c;
}

/** decodeSignedHeader reads a bundle's header (evidence.decodeSignedHeader
 * with types.SignedHeaderFromProto's checks). */
export function decodeSignedHeader(b: Uint8Array): SignedHeader {
  const fs = readFields(b, { 1: 2, 2: 2 });
  const hf = one(fs, 1),
    cf = one(fs, 2);
  if (!hf || !cf) throw new Error("the signed header lacks its header or its commit");
  return { header: header(hf.bytes!), commit: commit(cf.bytes!) };
}

/** headerHash is types.Header.Hash. */
export function headerHash(h: Header): Uint8Array {
  const enc = new TextEncoder();
  return hashFromByteSlices([
    h.versionRaw,
    cdcBytes(enc.encode(h.chainID)),
    cdcInt(h.height),
    h.time.raw,
    h.lastBlockID.raw,
    cdcBytes(h.lastCommitHash),
    cdcBytes(h.dataHash),
    cdcBytes(h.validatorsHash),
    cdcBytes(h.nextValidatorsHash),
    cdcBytes(h.consensusHash),
    cdcBytes(h.appHash),
    cdcBytes(h.lastResultsHash),
    cdcBytes(h.evidenceHash),
    cdcBytes(h.proposer),
  ]);
}

/** commitHash is types.Commit.Hash. */
export const commitHash = (c: Commit): Uint8Array => hashFromByteSlices(c.sigs.map((s) => s.raw));

/** validateSignedHeader is types.SignedHeader.ValidateBasic after decoding. */
export function validateSignedHeader(sh: SignedHeader, chainID: string): void {
  if (sh.header.chainID !== chainID) throw new Error(`header belongs to another chain ${JSON.stringify(sh.header.chainID)}, not ${JSON.stringify(chainID)}`);
  if (sh.commit.height !== sh.header.height) throw new Error(`header and commit height mismatch: ${sh.header.height} vs ${sh.commit.height}`);
  const hh = headerHash(sh.header);
  if (!equalBytes(hh, sh.commit.blockID.hash)) throw new Error(`commit signs block ${upperHex(sh.commit.blockID.hash)}, header is block ${upperHex(hh)}`);
}

// ---- validators ---------------------------------------------------------

export interface Validator {
  keyType: string;
  pubKey: Uint8Array;
  power: bigint;
}
export interface ValidatorSet {
  vals: { pubKey: Uint8Array; power: bigint; address: Uint8Array }[];
  total: bigint;
  hash: Uint8Array;
}

/** validatorSet is evidence.validatorSet: Ed25519 keys only in this page
 * (a camchain ledger's validators are Ed25519, CometBFT's default). */
export function validatorSet(vs: Validator[]): ValidatorSet {
  if (vs.length === 0) throw new Error("no validators");
  const vals = vs.map((v, i) => {
    if (v.keyType !== "ed25519") throw new Error(`validator ${i}: key type ${JSON.stringify(v.keyType)} is not checked by this page (Ed25519 only): use camchain evidence verify`);
    if (v.pubKey.length !== 32) throw new Error(`validator ${i}: an Ed25519 key is 32 bytes, not ${v.pubKey.length}`);
    if (v.power === 0n || v.power > MAX_TOTAL_VOTING_POWER) throw new Error(`validator ${i}: voting power ${v.power} out of range`);
    return { pubKey: v.pubKey, power: v.power, address: sha256(v.pubKey).subarray(0, 20) };
  });
  let total = 0n;
  const seen = new Set<string>();
  for (const v of vals) {
    total += v.power;
    if (total > MAX_TOTAL_VOTING_POWER) throw new Error("total voting power over CometBFT's cap");
    const a = bytesToHex(v.address);
    if (seen.has(a)) throw new Error(`validator ${a.toUpperCase()} is listed twice`);
    seen.add(a);
  }
  const sorted = [...vals].sort((a, b) => (a.power !== b.power ? (a.power > b.power ? -1 : 1) : cmp(a.address, b.address)));
  if (sorted.some((v, i) => v !== vals[i])) throw new Error("validators are not in the set's canonical order (power descending, then address)");
  const hash = hashFromByteSlices(
    vals.map((v) => {
      const pk: number[] = [];
      putBytes(1, v.pubKey, pk); // cometbft.crypto.v1.PublicKey{ed25519}
      const o: number[] = [];
      putBytes(1, bytesOf(pk), o, true);
      putUint(2, v.power, o);
      return bytesOf(o);
    }),
  );
  return { vals, total, hash };
}

function cmp(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** voteSignBytes is types.VoteSignBytes of commit c's precommit at idx. */
function voteSignBytes(chainID: string, c: Commit, s: CommitSig): Uint8Array {
  const o: number[] = [];
  putUint(1, PRECOMMIT, o);
  putSfixed64(2, c.height, o);
  putSfixed64(3, c.round, o);
  if (s.flag === FLAG_COMMIT && !blockIDIsNil(c.blockID)) {
    const psh: number[] = [];
    putUint(1, c.blockID.psh.total, psh);
    putBytes(2, c.blockID.psh.hash, psh);
    const bid: number[] = [];
    putBytes(1, c.blockID.hash, bid);
    putBytes(2, bytesOf(psh), bid, true);
    putBytes(4, bytesOf(bid), o, true);
  }
  putBytes(5, s.timestamp.raw, o, true);
  putBytes(6, utf8ToBytes(chainID), o);
  const len: number[] = [];
  putVarint(BigInt(o.length), len);
  return concatBytes(Uint8Array.from(len), bytesOf(o));
}

/** verifyCommit is evidence.verifyCommit: every signature's address is the
 * validator's at its position, every non-absent signature is valid, and
 * those for the block carry more than 2/3 of the set's power. */
export function verifyCommit(chainID: string, set: ValidatorSet, sh: SignedHeader): void {
  const c = sh.commit;
  if (c.sigs.length !== set.vals.length) throw new Error(`commit has ${c.sigs.length} signatures for ${set.vals.length} validators`);
  c.sigs.forEach((s, i) => {
    if (s.flag !== FLAG_ABSENT && !equalBytes(s.address, set.vals[i].address))
      throw new Error(`signature ${i} names validator ${upperHex(s.address)}, the set has ${upperHex(set.vals[i].address)} there`);
  });
  const needed = (set.total * 2n) / 3n;
  let tallied = 0n;
  c.sigs.forEach((s, i) => {
    if (s.flag === FLAG_ABSENT) return;
    let ok = false;
    if (s.signature.length === 64) {
      try {
        ok = ed25519.verify(s.signature, voteSignBytes(chainID, c, s), set.vals[i].pubKey, { zip215: true });
      } catch {
        ok = false;
      }
    }
    if (!ok) throw new Error(`wrong signature (#${i}): ${upperHex(s.signature)}`);
    if (s.flag === FLAG_COMMIT) tallied += set.vals[i].power;
  });
  if (tallied <= needed) throw new Error(`invalid commit -- insufficient voting power: got ${tallied}, needed more than ${needed}`);
}

// ---- results and transaction proofs --------------------------------------

export interface TxResult {
  code: bigint;
  data: Uint8Array;
  gasWanted: bigint;
  gasUsed: bigint;
}

/** resultsHash is types.ABCIResults.Hash over the deterministic fields. */
export function resultsHash(rs: TxResult[]): Uint8Array {
  return hashFromByteSlices(
    rs.map((r) => {
      const o: number[] = [];
      putUint(1, r.code, o);
      putBytes(2, r.data, o);
      putUint(5, BigInt.asUintN(64, r.gasWanted), o);
      putUint(6, BigInt.asUintN(64, r.gasUsed), o);
      return bytesOf(o);
    }),
  );
}

/** txLeafHash is SHA-256(0x00 ‖ SHA-256(tx)), a transaction's leaf. */
export const txLeafHash = (tx: Uint8Array): Uint8Array => leafHash(sha256(tx));
export const txHash = (tx: Uint8Array): Uint8Array => sha256(tx);

/** verifyTxProof is types.TxProof.Validate(dataHash) after the bundle's own checks. */
export function verifyTxProof(tx: Uint8Array, root: Uint8Array, total: number, index: number, leaf: Uint8Array, aunts: Uint8Array[], dataHash: Uint8Array): void {
  if (!equalBytes(root, dataHash)) throw new Error("proof matches different data hash");
  if (!equalBytes(leaf, txLeafHash(tx))) throw new Error("proof is for another leaf");
  if (aunts.length > 100) throw new Error("too many aunts");
  const got = auntsRoot(index, total, leaf, aunts);
  if (got === null) throw new Error("invalid number of aunts");
  if (!equalBytes(got, root)) throw new Error(`invalid root hash: wanted ${upperHex(root)} got ${upperHex(got)}`);
}

/** Seconds and nanoseconds of a Timestamp as an RFC 3339 string. */
export function rfc3339(t: Timestamp): string {
  const ms = Number(t.seconds) * 1000;
  const d = new Date(ms).toISOString().slice(0, 19);
  const frac = t.nanos === 0n ? "" : "." + t.nanos.toString().padStart(9, "0").replace(/0+$/, "");
  return `${d}${frac}Z`;
}
