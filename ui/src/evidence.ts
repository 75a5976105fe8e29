// evidence.ts: the offline HTML verifier's checks of an evidence bundle
// (SPEC §10, §16) — the same checks, in the same order, as Go's
// evidence.Verify, so that on any bundle both give the same verdict: the
// kind of the first failure (evidence.KindOf's names) or a report of what
// was proved. Each step names the Go step it mirrors. What this page does
// not check (RFC 3161 timestamps' CMS signatures) it says so in the report
// rather than claiming it.
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, checksum, utf8ToBytes } from "./bytes";
import { decode as decodeCBOR, type Item } from "./cbor";
import {
  blockIDEqual,
  blockIDString,
  commitHash,
  decodeSignedHeader,
  resultsHash,
  rfc3339,
  txHash,
  txLeafHash,
  upperHex,
  validateSignedHeader,
  validatorSet,
  verifyCommit,
  verifyTxProof,
  type SignedHeader,
  type ValidatorSet,
} from "./cometbft";
import { digestIn, type Field } from "./eip712";
import { addressOf, equalBytes, isZero, KnownSigner, parseRecord, recoverKey, segmentMismatch, signerOf } from "./feedchain";
import { consistencyProofLen, decodeProof, verifyConsistency, verifyInclusion } from "./merkle";
import { decodeBundle, EvidenceError, type Bundle, type Kind } from "./bundle";

export { EvidenceError, type Kind };

/** evidence.MaxClockSkew. */
const MAX_CLOCK_SKEW_S = 600n;
/** checkpoint.MaxTreeSize. */
const MAX_TREE_SIZE = 1n << 63n;
const MAX_U64 = (1n << 64n) - 1n;

export interface WitnessKey {
  name: string;
  key: Uint8Array;
}

export interface Options {
  /** The ledger's validator-set hash, obtained out of band (32 bytes). */
  pin?: Uint8Array;
  /** The verifier's clock in Unix seconds; undefined skips the check. */
  now?: bigint;
  /** The witness keys the verifier trusts. */
  witnesses?: WitnessKey[];
  /** SHA-256 of each clip's segment, by clip index, computed from the
   * bundle's own bytes (segmentDigests); undefined: verify hashes them. */
  digests?: Uint8Array[];
}

export interface CheckpointFact {
  height: bigint;
  blockTime: string;
  txHash: string;
  txIndex: bigint;
  periodStart: string;
  periodEnd: string;
  firstSeq: bigint;
  lastSeq: bigint;
  treeSize: bigint;
  root: string;
  validatorsHash: string;
  validators: number;
  votingPower: bigint;
  appHashAfter: string;
  linked: boolean;
  notChecked?: string;
  witnesses: { name: string; key: string; time: string; trusted: boolean }[];
  /** RFC 3161 tokens the bundle carries: not checked by this page. */
  timestampsUnchecked: number;
}
export interface ClipFact {
  seq: bigint;
  start: string;
  duration: number;
  size: bigint;
  sha256: string;
  recordHash: string;
  codec: string;
  clock: string;
  checkpoint: number;
  checkpointHeight: bigint;
  /** The clip is end-to-end encrypted (SPEC §17.2): verified as its
   * sealed bytes, which play only with its key. */
  sealed: boolean;
  /** The bundle reveals its segment key (version 4) and it opens the clip
   * (set by openReveals). */
  revealed: boolean;
}
/** One verified change of the validator set (evidence.ValidatorChangeFact). */
export interface ValidatorChangeFact {
  height: bigint;
  blockTime: string;
  from: string;
  to: string;
  validators: number;
  votingPower: bigint;
}
export interface Report {
  chainID: string;
  camera: string;
  epoch: bigint;
  /** The stream whose chain the clips are of, named by the checkpoints' type. */
  stream: "main" | "sub";
  validatorsHashes: string[];
  pinned: boolean;
  /** (version 3) The set the bundle's history starts from. */
  genesisValidatorsHash?: string;
  /** (version 3) Each change of the set from the genesis to the bundle's
   * blocks, signed by more than 2/3 of the set before it. */
  validatorChanges: ValidatorChangeFact[];
  origin: string;
  trustedWitnesses: string[];
  checkpoints: CheckpointFact[];
  clips: ClipFact[];
  missing: { first: bigint; last: bigint }[];
}

/** A decoded Checkpoint transaction (tx.Checkpoint, SPEC §2.2). */
interface CheckpointMsg {
  stream: "main" | "sub"; // by its type: Checkpoint main, SubCheckpoint sub
  camera: Uint8Array;
  epoch: bigint;
  periodStart: bigint;
  periodEnd: bigint;
  firstSeq: bigint;
  lastSeq: bigint;
  treeSize: bigint;
  root: Uint8Array;
  chainHead: Uint8Array;
  consistency: Uint8Array;
  nonce: bigint;
  expiry: bigint;
}

const CHECKPOINT_FIELDS: Field[] = [
  { name: "camera", type: "address" },
  { name: "epoch", type: "uint64" },
  { name: "periodStart", type: "uint64" },
  { name: "periodEnd", type: "uint64" },
  { name: "firstSeq", type: "uint64" },
  { name: "lastSeq", type: "uint64" },
  { name: "treeSize", type: "uint64" },
  { name: "root", type: "bytes32" },
  { name: "chainHead", type: "bytes32" },
  { name: "consistency", type: "bytes" },
  { name: "nonce", type: "uint64" },
  { name: "expiry", type: "uint64" },
];

/** tx.ParseLedgerChainID. */
export function parseLedgerChainID(s: string): bigint {
  const m = /^camchain-([1-9][0-9]*)$/.exec(s);
  if (!m || BigInt(m[1]) >= 1n << 53n) throw new EvidenceError("malformed", "", `${JSON.stringify(s)} is not camchain-<n> with n a decimal number, 0 < n < 2^53, without leading zeros`);
  return BigInt(m[1]);
}

/** decodeCheckpointTx is tx.Decode for the types a bundle may carry. */
function decodeCheckpointTx(raw: Uint8Array): { domain: bigint; evmChainID: bigint; type: string; m: CheckpointMsg; sig: Uint8Array } {
  if (raw.length > 4096) throw new Error(`${raw.length} bytes, limit 4096`);
  const env = decodeCBOR(raw);
  const isU = (x: Item): x is bigint => typeof x === "bigint" && x >= 0n && x <= MAX_U64;
  if (!Array.isArray(env) || env.length !== 5) throw new Error("malformed transaction encoding: not a 5-element array");
  const [version, chain, type, body, sigs] = env;
  if (!isU(version) || !isU(chain) || typeof type !== "string" || !Array.isArray(body) || !Array.isArray(sigs))
    throw new Error("malformed transaction encoding");
  if (version !== 1n && version !== 2n) throw new Error(`unknown transaction version ${version}`);
  if (type !== "Checkpoint" && type !== "SubCheckpoint") throw new Error(`a ${type} transaction, not a Checkpoint`);
  if (body.length !== CHECKPOINT_FIELDS.length) throw new Error(`malformed transaction encoding: ${type} body`);
  const f = body;
  const bytesN = (x: Item, n: number): Uint8Array => {
    if (!(x instanceof Uint8Array) || x.length !== n) throw new Error("malformed transaction encoding: not in canonical form");
    return x;
  };
  const u = (x: Item): bigint => {
    if (!isU(x)) throw new Error("malformed transaction encoding: a field is not a uint64");
    return x;
  };
  if (!(f[9] instanceof Uint8Array)) throw new Error("malformed transaction encoding: consistency");
  const consistency = f[9];
  if (consistency.length > 64 * 32 || consistency.length % 32 !== 0)
    throw new Error("malformed transaction encoding: consistency proof must be whole 32-byte hashes, at most 2048 bytes");
  const m: CheckpointMsg = {
    stream: type === "SubCheckpoint" ? "sub" : "main",
    camera: bytesN(f[0], 20),
    epoch: u(f[1]),
    periodStart: u(f[2]),
    periodEnd: u(f[3]),
    firstSeq: u(f[4]),
    lastSeq: u(f[5]),
    treeSize: u(f[6]),
    root: bytesN(f[7], 32),
    chainHead: bytesN(f[8], 32),
    consistency,
    nonce: u(f[10]),
    expiry: u(f[11]),
  };
  if (sigs.length !== 1) throw new Error(`malformed transaction encoding: ${type} carries ${sigs.length} signatures, want 1`);
  return { domain: version, evmChainID: chain, type, m, sig: bytesN(sigs[0], 65) };
}

/** checkpoint.VerifyFields: a checkpoint's own fields agree. */
function fieldsProblem(m: CheckpointMsg): string | null {
  if (m.periodStart >= m.periodEnd) return `period start ${m.periodStart} is not before period end ${m.periodEnd}`;
  if (m.lastSeq === MAX_U64) return `last sequence ${m.lastSeq} leaves no room for the tree size`;
  if (m.firstSeq > m.lastSeq) return `first sequence ${m.firstSeq} is after last sequence ${m.lastSeq}`;
  if (m.treeSize !== m.lastSeq + 1n) return `tree size ${m.treeSize} must be last sequence + 1 = ${m.lastSeq + 1n}`;
  if (m.treeSize > MAX_TREE_SIZE) return `tree size ${m.treeSize} exceeds the limit of ${MAX_TREE_SIZE}`;
  if (isZero(m.root) || isZero(m.chainHead)) return "root and chain head must be set";
  return null;
}

export const unixRFC3339 = (s: bigint): string => (s > 1n << 62n ? s.toString() : new Date(Number(s) * 1000).toISOString().replace(".000Z", "Z"));

/** The C2SP origin of the log of one stream's chain of the camera in
 * this epoch (witness.StreamOrigin, SPEC §16.1): "…/<epoch>" for the main
 * stream, "…/<epoch>/sub" for the sub stream. */
export const originOf = (chainID: string, camera: Uint8Array, epoch: bigint, stream: "main" | "sub"): string =>
  `camchain/v1/${chainID}/0x${bytesToHex(camera)}/${epoch}` + (stream === "main" ? "" : "/" + stream);
/** The checkpoint body witnesses cosign (witness.Body). */
export const bodyOf = (origin: string, size: bigint, root: Uint8Array): string => `${origin}\n${size}\n${base64(root)}\n`;

function base64(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s);
}

/** The verifier key string of a witness (witness.Key.String). */
export function witnessKeyString(k: WitnessKey): string {
  const h = sha256(new Uint8Array([...utf8ToBytes(k.name), 0x0a, 0x04, ...k.key]));
  const id = bytesToHex(h.subarray(0, 4));
  return `${k.name}+${id}+${base64(new Uint8Array([0x04, ...k.key]))}`;
}

/** parseWitnessKey reads a verifier key "name+id+base64(0x04 ‖ key)". */
export function parseWitnessKey(s: string): WitnessKey {
  const parts = s.trim().split("+");
  if (parts.length !== 3 || parts[0] === "" || !/^[0-9a-f]{8}$/.test(parts[1])) throw new Error(`${JSON.stringify(s)} is not a witness key name+id+key`);
  let raw: Uint8Array;
  try {
    raw = Uint8Array.from(atob(parts[2]), (c) => c.charCodeAt(0));
  } catch {
    throw new Error("the witness key's base64 is malformed");
  }
  if (raw.length !== 33 || raw[0] !== 0x04) throw new Error("not a tlog-cosignature/v1 Ed25519 key (algorithm byte 0x04 and 32 bytes)");
  const k = { name: parts[0], key: raw.subarray(1) };
  if (witnessKeyString(k) !== s.trim()) throw new Error("the key id does not match its name and key");
  return k;
}

/** verifyBytes decodes and verifies a bundle (evidence.VerifyBytes). */
export function verifyBytes(data: Uint8Array, opts: Options = {}): Report {
  return verify(decodeBundle(data), opts);
}

/** segmentDigests is SHA-256 of every clip's segment by WebCrypto, where
 * the page has it: native code, run by the browser off the page's thread,
 * several times faster than hashing in script (an hour's bundle is tens of
 * megabytes). Undefined where there is no WebCrypto: verify then hashes
 * with @noble/hashes, the same answer. */
export async function segmentDigests(b: Bundle): Promise<Uint8Array[] | undefined> {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!subtle) return undefined;
  const ds = await Promise.all(b.clips.map((c) => subtle.digest("SHA-256", c.segment as Uint8Array<ArrayBuffer>)));
  return ds.map((d) => new Uint8Array(d));
}

/** verifyBytesAsync is verifyBytes with the segments hashed by WebCrypto
 * (segmentDigests): the same checks, the same report and verdicts. */
export async function verifyBytesAsync(data: Uint8Array, opts: Options = {}): Promise<Report> {
  const b = decodeBundle(data);
  const rep = verify(b, { ...opts, digests: await segmentDigests(b) });
  await openReveals(b, rep);
  return rep;
}

/** verify is evidence.Verify: it returns what the bundle proves or throws
 * an EvidenceError naming the first failure. */
export function verify(b: Bundle, opts: Options = {}): Report {
  if (opts.pin && opts.pin.length !== 32) throw new Error(`the pinned validators hash is ${opts.pin.length} bytes, want 32`);
  const chainNum = parseLedgerChainID(b.ledgerChainID);
  const rep: Report = {
    chainID: b.ledgerChainID,
    camera: checksum(b.camera),
    epoch: b.epoch,
    stream: "main",
    validatorsHashes: [],
    pinned: !!opts.pin,
    validatorChanges: [],
    origin: "",
    trustedWitnesses: (opts.witnesses ?? []).map(witnessKeyString),
    checkpoints: [],
    clips: [],
    missing: [],
  };
  // 0. The validator set's history (version 3), from the genesis set.
  let sets: SetHistory | undefined;
  if (b.history) {
    sets = verifyHistory(b, opts);
    rep.genesisValidatorsHash = sets.genesis;
    rep.validatorChanges = sets.facts;
  }
  const cks: CheckpointMsg[] = [];
  b.checkpoints.forEach((_, i) => {
    const [m, fact] = verifyCheckpoint(b, i, chainNum, sets, opts);
    const where = `checkpoint ${i} (block ${fact.height})`;
    // One chain per bundle: the first checkpoint's type names the stream,
    // and every other checkpoint and every clip must be of that chain.
    if (i === 0) {
      rep.stream = m.stream;
      rep.origin = originOf(b.ledgerChainID, b.camera, b.epoch, m.stream);
    } else if (m.stream !== rep.stream)
      throw new EvidenceError("checkpoint_tx", where, `a checkpoint of the ${m.stream} stream's chain, the bundle's first is of the ${rep.stream} stream's`);
    // The succession rule, as far as the bundle allows.
    const s = succession(i > 0 ? cks[i - 1] : undefined, m);
    if (typeof s === "string") throw new EvidenceError("succession", where, s);
    fact.linked = s.linked;
    fact.notChecked = s.notChecked;
    verifyWitnesses(b, i, m, fact, opts);
    cks.push(m);
    rep.checkpoints.push(fact);
    if (!rep.validatorsHashes.includes(fact.validatorsHash)) rep.validatorsHashes.push(fact.validatorsHash);
  });
  // Every change in the history is needed: none after the last block the
  // bundle proves.
  if (sets) {
    const last = rep.checkpoints[rep.checkpoints.length - 1].height;
    const h = sets.from[sets.from.length - 1] - 1n;
    if (h > last)
      throw new EvidenceError(
        "history",
        `validator-set change ${b.history!.links.length - 1} (block ${h})`,
        `block ${h} comes after every block the bundle proves (the last checkpoint is at block ${last}): a change the bundle does not need`,
      );
  }
  const signer = new ClipSigner(b);
  b.clips.forEach((_, i) => {
    const fact = verifyClip(b, i, cks, signer, opts.digests?.[i]);
    fact.checkpointHeight = rep.checkpoints[fact.checkpoint].height;
    rep.clips.push(fact);
  });
  // Revealed keys (version 4): what needs no decryption; openReveals
  // (async, WebCrypto) checks that each opens its clip.
  checkReveals(b, rep.stream);
  for (let i = 1; i < rep.clips.length; i++) {
    const a = rep.clips[i - 1].seq,
      c = rep.clips[i].seq;
    if (c > a + 1n) rep.missing.push({ first: a + 1n, last: c - 1n });
  }
  return rep;
}

/** checkpoint.VerifySuccession after VerifyFields, for a bundle's
 * checkpoint i: the previous one is known to come somewhere before. */
function succession(prev: CheckpointMsg | undefined, m: CheckpointMsg): { linked: boolean; notChecked?: string } | string {
  let pos: "unknown" | "first" | "right" | "somewhere" = prev ? "somewhere" : "unknown";
  if (pos === "unknown" && m.firstSeq === 0n) pos = "first";
  if (pos === "somewhere" && prev!.lastSeq < MAX_U64 && m.firstSeq === prev!.lastSeq + 1n) pos = "right";
  if (pos === "first") {
    if (m.firstSeq !== 0n) return `the first checkpoint of an epoch must start at sequence 0, not ${m.firstSeq}`;
    if (m.consistency.length !== 0) return "the first checkpoint of an epoch has no previous tree: the consistency proof must be empty";
    return { linked: true };
  }
  if (prev) {
    if (prev.lastSeq === MAX_U64) return `the previous checkpoint ends at sequence ${prev.lastSeq}: nothing can follow it`;
    if (pos === "somewhere" && m.firstSeq <= prev.lastSeq) return `checkpoint starts at sequence ${m.firstSeq}, not after the earlier checkpoint's last sequence ${prev.lastSeq}`;
    if (m.periodStart < prev.periodEnd) return `period starts at ${unixRFC3339(m.periodStart)}, before the previous checkpoint's end ${unixRFC3339(prev.periodEnd)}`;
  }
  let p: Uint8Array[];
  try {
    p = decodeProof(m.consistency);
  } catch (e) {
    return `consistency proof: ${(e as Error).message}`;
  }
  if (pos === "right") {
    try {
      verifyConsistency(prev!.lastSeq + 1n, m.treeSize, prev!.root, m.root, p);
    } catch (e) {
      return `checkpoint does not extend the previous one (history rewritten?): ${(e as Error).message}`;
    }
    return { linked: true };
  }
  const want = consistencyProofLen(m.firstSeq, m.treeSize);
  if (p.length !== want) return `consistency proof from tree size ${m.firstSeq} to ${m.treeSize}: proof has ${p.length} hashes, want ${want}`;
  if (pos === "somewhere")
    return { linked: false, notChecked: `that it extends the checkpoint before it: the checkpoints of records ${prev!.lastSeq + 1n}–${m.firstSeq - 1n} are not at hand` };
  return { linked: false, notChecked: `that it extends the checkpoint before it (of records up to ${m.firstSeq - 1n}): none is at hand` };
}

/** What a verified history proves (evidence.setHistory): hashes[k] signs
 * the blocks from from[k] on. */
interface SetHistory {
  hashes: Uint8Array[];
  from: bigint[];
  genesis: string;
  facts: ValidatorChangeFact[];
}

function hashAt(h: SetHistory, height: bigint): Uint8Array {
  let k = 0;
  while (k + 1 < h.from.length && h.from[k + 1] <= height) k++;
  return h.hashes[k];
}

/** evidence.verifyHistory: from the genesis set (the pinned one, with a
 * pin), each change's header is of the bundle's chain, well formed, not
 * from the future, above the one before, signed by the current set (its
 * ValidatorsHash, and more than 2/3 of its power with every signature
 * valid), and names as its next set the set the change carries, a
 * different one, which signs from the next block on. */
function verifyHistory(b: Bundle, opts: Options): SetHistory {
  const h = b.history!;
  const fail = (link: number, height: bigint, kind: Kind, reason: string): never => {
    const where = link < 0 ? "the genesis validator set" : `validator-set change ${link}${height > 0n ? ` (block ${height})` : ""}`;
    throw new EvidenceError(kind, where, reason);
  };
  let cur: ValidatorSet;
  try {
    cur = validatorSet(h.genesis);
  } catch (e) {
    return fail(-1, 0n, "history", (e as Error).message);
  }
  if (opts.pin && !equalBytes(cur.hash, opts.pin)) fail(-1, 0n, "not_pinned", `the history starts from validator set ${upperHex(cur.hash)}, the pinned set is ${upperHex(opts.pin)}`);
  const sets: SetHistory = { hashes: [cur.hash], from: [1n], genesis: upperHex(cur.hash), facts: [] };
  let prev = 0n;
  h.links.forEach((l, i) => {
    let sh: SignedHeader;
    try {
      sh = decodeSignedHeader(l.header);
    } catch (e) {
      return fail(i, 0n, "history", `the header: ${(e as Error).message}`);
    }
    const height = sh.header.height;
    if (sh.header.chainID !== b.ledgerChainID) fail(i, height, "history", `a block of chain ${JSON.stringify(sh.header.chainID)}, not ${JSON.stringify(b.ledgerChainID)}`);
    if (height <= prev) fail(i, height, "history", `block ${height} does not follow the change before it at block ${prev}: changes must be in increasing height`);
    try {
      validateSignedHeader(sh, b.ledgerChainID);
    } catch (e) {
      fail(i, height, "history", `the header: ${(e as Error).message}`);
    }
    if (opts.now !== undefined && sh.header.time.seconds > opts.now + MAX_CLOCK_SKEW_S)
      fail(i, height, "history", `block ${height} is dated ${rfc3339(sh.header.time)}, after the verifier's clock (${unixRFC3339(opts.now)})`);
    if (!equalBytes(sh.header.validatorsHash, cur.hash))
      fail(
        i,
        height,
        "history",
        `block ${height} is signed by validator set ${upperHex(sh.header.validatorsHash)}, the history's set at that height is ${upperHex(cur.hash)}: a change before it is missing, or the changes are out of order`,
      );
    let next: ValidatorSet;
    try {
      next = validatorSet(l.validators);
    } catch (e) {
      return fail(i, height, "history", `the new set: ${(e as Error).message}`);
    }
    if (!equalBytes(sh.header.nextValidatorsHash, next.hash))
      fail(i, height, "history", `block ${height} names ${upperHex(sh.header.nextValidatorsHash)} as the next validator set, the change carries ${upperHex(next.hash)}`);
    if (equalBytes(next.hash, cur.hash)) fail(i, height, "history", `block ${height} names the same validator set ${upperHex(cur.hash)} as its next one: not a change`);
    try {
      verifyCommit(b.ledgerChainID, cur, sh);
    } catch (e) {
      fail(
        i,
        height,
        "history",
        `block ${height}, which hands the ledger to validator set ${upperHex(next.hash)}, is not signed by more than 2/3 of the voting power of the set before it (${upperHex(cur.hash)}): ${(e as Error).message}`,
      );
    }
    sets.facts.push({ height, blockTime: rfc3339(sh.header.time), from: upperHex(cur.hash), to: upperHex(next.hash), validators: next.vals.length, votingPower: next.total });
    sets.hashes.push(next.hash);
    sets.from.push(height + 1n);
    cur = next;
    prev = height;
  });
  return sets;
}

function verifyCheckpoint(b: Bundle, i: number, chainNum: bigint, sets: SetHistory | undefined, opts: Options): [CheckpointMsg, CheckpointFact] {
  const c = b.checkpoints[i];
  let height = 0n;
  const fail = (kind: Kind, reason: string): never => {
    throw new EvidenceError(kind, `checkpoint ${i}${height > 0n ? ` (block ${height})` : ""}`, reason);
  };

  // 1. The camera-signed checkpoint.
  let t: ReturnType<typeof decodeCheckpointTx>;
  try {
    t = decodeCheckpointTx(c.tx);
  } catch (e) {
    return fail("checkpoint_tx", `the transaction does not decode: ${(e as Error).message}`);
  }
  const m = t.m;
  if (t.evmChainID !== chainNum) fail("checkpoint_tx", `signed for chain id ${t.evmChainID}, the bundle's ledger is ${b.ledgerChainID}`);
  if (!equalBytes(m.camera, b.camera)) fail("checkpoint_tx", `for camera ${checksum(m.camera)}, the bundle is camera ${checksum(b.camera)}'s`);
  if (m.epoch !== b.epoch) fail("checkpoint_tx", `for epoch ${m.epoch}, the bundle is of epoch ${b.epoch}`);
  const fp = fieldsProblem(m);
  if (fp) fail("checkpoint_tx", fp);
  let signer = "";
  try {
    const msg = { ...m, camera: "0x" + bytesToHex(m.camera) };
    signer = signerOf(digestIn(t.domain, t.evmChainID, t.type, CHECKPOINT_FIELDS, msg), t.sig);
  } catch (e) {
    fail("checkpoint_tx", `signature does not recover: ${(e as Error).message}`);
  }
  if (signer !== checksum(m.camera)) fail("checkpoint_tx", `signed by ${signer}, not by the camera ${checksum(m.camera)}`);

  // The two blocks, decoded (checked below).
  let sh: SignedHeader, next: SignedHeader;
  try {
    sh = decodeSignedHeader(c.header);
  } catch (e) {
    return fail("header", `block H: ${(e as Error).message}`);
  }
  height = sh.header.height;
  try {
    next = decodeSignedHeader(c.nextHeader);
  } catch (e) {
    return fail("header", `block H+1: ${(e as Error).message}`);
  }

  // 2. The transaction is in block H.
  const p = c.txProof;
  const leaf = txLeafHash(c.tx);
  if (!equalBytes(p.leafHash, leaf)) fail("tx_proof", `the proof is for another transaction: leaf ${upperHex(p.leafHash)}, this transaction's is ${upperHex(leaf)}`);
  if (p.total !== BigInt(c.results.length)) fail("tx_proof", `the proof is for a block of ${p.total} transactions, the bundle has results for ${c.results.length}`);
  if (!equalBytes(p.rootHash, sh.header.dataHash)) fail("tx_proof", `the proof is for data hash ${upperHex(p.rootHash)}, block H's is ${upperHex(sh.header.dataHash)}`);
  try {
    verifyTxProof(c.tx, p.rootHash, Number(p.total), Number(p.index), p.leafHash, p.aunts, sh.header.dataHash);
  } catch (e) {
    fail("tx_proof", `the proof does not lead to block H's data hash: ${(e as Error).message}`);
  }

  // 3. The headers.
  for (const [name, x] of [
    ["H", sh],
    ["H+1", next],
  ] as [string, SignedHeader][]) {
    if (x.header.chainID !== b.ledgerChainID) fail("header", `block ${name} is of chain ${JSON.stringify(x.header.chainID)}, not ${JSON.stringify(b.ledgerChainID)}`);
    try {
      validateSignedHeader(x, b.ledgerChainID);
    } catch (e) {
      fail("header", `block ${name}: ${(e as Error).message}`);
    }
    if (opts.now !== undefined && x.header.time.seconds > opts.now + MAX_CLOCK_SKEW_S)
      fail("header", `block ${name} is dated ${rfc3339(x.header.time)}, after the verifier's clock (${unixRFC3339(opts.now)})`);
  }
  if (next.header.height !== sh.header.height + 1n) fail("header", `the next block is ${next.header.height}, want ${sh.header.height + 1n}`);
  if (!blockIDEqual(next.header.lastBlockID, sh.commit.blockID))
    fail("header", `block H+1 follows block ${blockIDString(next.header.lastBlockID)}, not block H (${blockIDString(sh.commit.blockID)})`);
  const ch = commitHash(sh.commit);
  if (!equalBytes(next.header.lastCommitHash, ch))
    fail("header", `block H's commit is not the one block H+1 carries (hash ${upperHex(ch)}, H+1 names ${upperHex(next.header.lastCommitHash)})`);

  // 4. The validator sets.
  let vals: ValidatorSet, nextVals: ValidatorSet;
  try {
    vals = validatorSet(c.validators);
  } catch (e) {
    return fail("validators", `block H's set: ${(e as Error).message}`);
  }
  try {
    nextVals = validatorSet(c.nextValidators);
  } catch (e) {
    return fail("validators", `block H+1's set: ${(e as Error).message}`);
  }
  if (!equalBytes(vals.hash, sh.header.validatorsHash)) fail("validators", `block H's set hashes to ${upperHex(vals.hash)}, its header names ${upperHex(sh.header.validatorsHash)}`);
  if (!equalBytes(nextVals.hash, next.header.validatorsHash))
    fail("validators", `block H+1's set hashes to ${upperHex(nextVals.hash)}, its header names ${upperHex(next.header.validatorsHash)}`);
  if (!equalBytes(sh.header.nextValidatorsHash, next.header.validatorsHash))
    fail("validators", `block H names ${upperHex(sh.header.nextValidatorsHash)} as the next set, block H+1 is signed by ${upperHex(next.header.validatorsHash)}`);
  if (sets) {
    // Version 3: each block is signed by the set the history gives at its height.
    for (const [name, height, h] of [
      ["H", sh.header.height, vals.hash],
      ["H+1", next.header.height, nextVals.hash],
    ] as [string, bigint, Uint8Array][]) {
      const want = hashAt(sets, height);
      if (!equalBytes(h, want))
        fail(
          "history",
          `block ${name} (${height}) is signed by validator set ${upperHex(h)}, the bundle's history from the genesis set gives ${upperHex(want)} at that height: a change before it is missing from the history`,
        );
    }
  } else if (opts.pin) {
    for (const [name, h] of [
      ["H", vals.hash],
      ["H+1", nextVals.hash],
    ] as [string, Uint8Array][])
      if (!equalBytes(h, opts.pin)) fail("not_pinned", `block ${name} is signed by validator set ${upperHex(h)}, the pinned set is ${upperHex(opts.pin)}`);
  }

  // 5. The signatures.
  try {
    verifyCommit(b.ledgerChainID, vals, sh);
  } catch (e) {
    fail("commit", `block H: ${(e as Error).message}`);
  }
  try {
    verifyCommit(b.ledgerChainID, nextVals, next);
  } catch (e) {
    fail("commit", `block H+1: ${(e as Error).message}`);
  }

  // 6. The ledger applied the checkpoint.
  const rh = resultsHash(c.results);
  if (!equalBytes(rh, next.header.lastResultsHash)) fail("results", `block H's results hash to ${upperHex(rh)}, block H+1 names ${upperHex(next.header.lastResultsHash)}`);
  const code = c.results[Number(p.index)].code;
  if (code !== 0n) fail("results", `the ledger refused the checkpoint: result code ${code} (docs/SPEC.md §3.2)`);

  return [
    m,
    {
      height: sh.header.height,
      blockTime: rfc3339(sh.header.time),
      txHash: upperHex(txHash(c.tx)),
      txIndex: p.index,
      periodStart: unixRFC3339(m.periodStart),
      periodEnd: unixRFC3339(m.periodEnd),
      firstSeq: m.firstSeq,
      lastSeq: m.lastSeq,
      treeSize: m.treeSize,
      root: bytesToHex(m.root),
      validatorsHash: upperHex(vals.hash),
      validators: vals.vals.length,
      votingPower: vals.total,
      appHashAfter: upperHex(next.header.appHash),
      linked: false,
      witnesses: [],
      timestampsUnchecked: c.timestamps.length,
    },
  ];
}

/** evidence.verifyWitnesses, for the cosignatures. */
function verifyWitnesses(b: Bundle, i: number, m: CheckpointMsg, fact: CheckpointFact, opts: Options): void {
  const where = `checkpoint ${i} (block ${fact.height})`;
  const body = utf8ToBytes(bodyOf(originOf(b.ledgerChainID, b.camera, b.epoch, m.stream), m.treeSize, m.root));
  let trusted = false;
  b.checkpoints[i].cosignatures.forEach((cs, j) => {
    const key = witnessKeyString({ name: cs.name, key: cs.key });
    if (fact.witnesses.some((f) => f.key === key)) throw new EvidenceError("cosignature", where, `cosignature ${j}: witness ${cs.name} cosigned twice`);
    const signed = new Uint8Array([...utf8ToBytes(`cosignature/v1\ntime ${cs.time}\n`), ...body]);
    let ok = false;
    try {
      ok = ed25519.verify(cs.signature, signed, cs.key, { zip215: false });
    } catch {
      ok = false;
    }
    if (!ok)
      throw new EvidenceError(
        "cosignature",
        where,
        `cosignature ${j} by witness ${cs.name} (key ${key}) does not verify over this checkpoint's tree (size ${m.treeSize}, root ${bytesToHex(m.root)})`,
      );
    if (opts.now !== undefined && cs.time > opts.now + MAX_CLOCK_SKEW_S)
      throw new EvidenceError("cosignature", where, `cosignature ${j} by witness ${cs.name} is dated ${unixRFC3339(cs.time)}, after the verifier's clock (${unixRFC3339(opts.now)})`);
    const t = (opts.witnesses ?? []).some((w) => w.name === cs.name && equalBytes(w.key, cs.key));
    trusted ||= t;
    fact.witnesses.push({ name: cs.name, key, time: unixRFC3339(cs.time), trusted: t });
  });
  if ((opts.witnesses ?? []).length > 0 && !trusted)
    throw new EvidenceError(
      "not_witnessed",
      where,
      `no witness you trust (${opts.witnesses!.map((w) => w.name).join(", ")}) cosigned this checkpoint (tree size ${m.treeSize}): that someone outside the owner's control saw this history is not proven`,
    );
}

type FeedRecord = ReturnType<typeof parseRecord>;
/** A record as parsed, or what its parse threw. */
type Parsed = { record: FeedRecord } | { error: unknown };

/** ClipSigner holds the bundle's records, each parsed once (or the error
 * its parse threw, thrown in its clip's turn), and answers for clip i
 * whether its record's signature recovers to the camera's key once one
 * record has given it: KnownSigner.recovers, asked of every record from i
 * on at once (recoversAll, one batch inversion for all) the first time,
 * and again only if the key changes. */
class ClipSigner {
  readonly records: Parsed[];
  private known?: KnownSigner;
  private from = 0;
  private answers: boolean[] = [];
  constructor(b: Bundle) {
    this.records = b.clips.map((c) => {
      try {
        return { record: parseRecord(c.record) };
      } catch (e) {
        return { error: e };
      }
    });
  }
  recovers(i: number, r: FeedRecord): boolean {
    if (!this.known) return false;
    if (i < this.from || i >= this.from + this.answers.length) {
      // A record that does not parse fails in its turn before this is
      // asked: an empty signature (answer false) holds its place.
      const rest = this.records.slice(i).map((x) => ("record" in x ? { digest: x.record.hash, sig: x.record.sig } : { digest: new Uint8Array(32), sig: new Uint8Array(0) }));
      this.from = i;
      this.answers = this.known.recoversAll(rest);
    }
    // The answer is for clip i's record as parsed here: r is that record.
    const x = this.records[i];
    return "record" in x && x.record === r && this.answers[i - this.from];
  }
  learn(key: Uint8Array): void {
    this.known = new KnownSigner(key);
    this.answers = [];
  }
}

function verifyClip(b: Bundle, i: number, cks: CheckpointMsg[], cache: ClipSigner, digest?: Uint8Array): ClipFact {
  const c = b.clips[i];
  let seq = c.leafIndex;
  const fail = (kind: Kind, reason: string): never => {
    throw new EvidenceError(kind, `clip ${i} (record #${seq})`, reason);
  };
  const parsed = cache.records[i];
  if ("error" in parsed) return fail("record", `the record does not parse: ${(parsed.error as Error).message}`);
  const r = parsed.record;
  seq = r.seq;
  if (!equalBytes(r.camera, b.camera)) fail("record", `a record of camera ${checksum(r.camera)}, the bundle is camera ${checksum(b.camera)}'s`);
  if (r.epoch !== b.epoch) fail("record", `a record of epoch ${r.epoch}, the bundle is of epoch ${b.epoch}`);
  const cs = cks[Number(c.checkpoint)].stream;
  if (r.stream !== cs) fail("record", `a record of the ${r.stream} stream, its checkpoint is of the ${cs} stream's chain`);
  // The camera's key, once recovered from a record it signed, checks the
  // others without recovering each (the same answer, several times faster).
  if (!cache.recovers(i, r)) {
    let key: Uint8Array = new Uint8Array(0);
    try {
      key = recoverKey(r.hash, r.sig);
    } catch (e) {
      fail("record", `record ${r.seq}: bad signature: ${(e as Error).message}`);
    }
    const signer = addressOf(key);
    if (signer !== checksum(r.camera)) fail("record", `record ${r.seq}: signed by ${signer}, camera is ${checksum(r.camera)}`);
    cache.learn(key);
  }
  const mis = segmentMismatch(r, c.segment, digest);
  if (mis) fail("segment", mis);
  const ck = cks[Number(c.checkpoint)];
  if (c.leafIndex !== r.seq) fail("inclusion", `leaf index ${c.leafIndex} is not the record's seq ${r.seq}`);
  if (r.seq < ck.firstSeq || r.seq > ck.lastSeq) fail("inclusion", `checkpoint ${c.checkpoint} covers records ${ck.firstSeq}..${ck.lastSeq}, not ${r.seq}`);
  try {
    verifyInclusion(r.seq, ck.treeSize, r.hash, ck.root, decodeProof(c.proof));
  } catch (e) {
    fail("inclusion", (e as Error).message);
  }
  const startNs = r.start;
  const startMs = Number(startNs / 1_000_000n);
  const frac = ((startNs % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  const start = new Date(startMs).toISOString().slice(0, 19) + (frac === 0n ? "" : "." + frac.toString().padStart(9, "0").replace(/0+$/, "")) + "Z";
  return {
    seq: r.seq,
    start,
    duration: Number(r.duration) / 1e9,
    size: r.size,
    sha256: bytesToHex(r.segment),
    recordHash: bytesToHex(r.hash),
    codec: r.codec,
    clock: r.clock,
    checkpoint: Number(c.checkpoint),
    checkpointHeight: 0n,
    sealed: sealedHeader(c.segment) !== null,
    revealed: false,
  };
}

// Sealed segments (SPEC §17.2): "CCE1", version 1, stream, camera (20),
// epoch, seq, serial (u64be), index (u32be), then AES-256-GCM.
const SEALED_HEADER = 54;
const SEALED_OVERHEAD = SEALED_HEADER + 16;
interface SealedHeader {
  stream: number;
  camera: Uint8Array;
  epoch: bigint;
  seq: bigint;
  serial: bigint;
  index: number;
}

/** sealedHeader is e2ee.ParseSealedHeader; null for bytes not sealed. */
function sealedHeader(b: Uint8Array): SealedHeader | null {
  if (b.length < SEALED_OVERHEAD || b[0] !== 0x43 || b[1] !== 0x43 || b[2] !== 0x45 || b[3] !== 0x31 || b[4] !== 1 || b[5] > 1) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { stream: b[5], camera: b.subarray(6, 26), epoch: v.getBigUint64(26), seq: v.getBigUint64(34), serial: v.getBigUint64(42), index: v.getUint32(50) };
}

function headerBytes(h: SealedHeader): Uint8Array {
  const out = new Uint8Array(SEALED_HEADER);
  out.set([0x43, 0x43, 0x45, 0x31, 1, h.stream]);
  out.set(h.camera, 6);
  const v = new DataView(out.buffer);
  v.setBigUint64(26, h.epoch);
  v.setBigUint64(34, h.seq);
  v.setBigUint64(42, h.serial);
  v.setUint32(50, h.index);
  return out;
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** openSealed is e2ee's SegmentKey.OpenSegment with WebCrypto's AES-GCM: a
 * segment sealed whole (index 0), or its parts one after the other
 * (indexes 1, 2, …), each chunk ending where the next one's header begins. */
async function openSealed(key: Uint8Array, h: SealedHeader, sealed: Uint8Array): Promise<Uint8Array> {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!subtle) throw new Error("this browser has no WebCrypto: the revealed keys cannot be checked here");
  const k = await subtle.importKey("raw", key.slice() as Uint8Array<ArrayBuffer>, "AES-GCM", false, ["decrypt"]);
  const open = async (chunk: Uint8Array, index: number): Promise<Uint8Array> => {
    const ch = sealedHeader(chunk);
    if (!ch || ch.index !== index || ch.seq !== h.seq || ch.serial !== h.serial || ch.epoch !== h.epoch || ch.stream !== h.stream || !equalBytes(ch.camera, h.camera))
      throw new Error(`chunk ${index} is not this segment's`);
    const iv = new Uint8Array(12);
    new DataView(iv.buffer).setBigUint64(4, BigInt(index));
    try {
      const pt = await subtle.decrypt(
        { name: "AES-GCM", iv, additionalData: chunk.slice(0, SEALED_HEADER) as Uint8Array<ArrayBuffer>, tagLength: 128 },
        k,
        chunk.slice(SEALED_HEADER) as Uint8Array<ArrayBuffer>,
      );
      return new Uint8Array(pt);
    } catch {
      throw new Error("sealed segment does not open under this key (wrong key, or altered)");
    }
  };
  if (h.index === 0) return open(sealed, 0);
  if (h.index !== 1) throw new Error(`a segment whose first part has index ${h.index}`);
  const parts: Uint8Array[] = [];
  for (let i = 1, rest = sealed; rest.length > 0; i++) {
    if (i > 1 << 16) throw new Error("too many parts");
    const next = headerBytes({ ...h, index: i + 1 });
    const j = indexOf(rest, next, Math.min(SEALED_OVERHEAD, rest.length));
    const n = j >= 0 ? j : rest.length;
    parts.push(await open(rest.subarray(0, n), i));
    rest = rest.subarray(n);
  }
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** checkReveals is the part of §10.8's checks that needs no decryption:
 * each revealed key is for a clip of the bundle, sealed as that clip under
 * the content key it names. It returns, for each, the clip's index. */
function checkReveals(b: Bundle, stream: string): number[] {
  return (b.reveals ?? []).map((r, i) => {
    const fail = (reason: string): never => {
      throw new EvidenceError("reveal", `revealed key ${i} (record #${r.seq})`, reason);
    };
    const j = b.clips.findIndex((c) => c.leafIndex === r.seq);
    if (j < 0) fail(`a key for record #${r.seq}, which is not a clip of this bundle: a bundle reveals the keys of its own clips and no other`);
    const h = sealedHeader(b.clips[j].segment);
    if (!h) return fail(`clip ${j} is not sealed: it has no key to reveal`);
    if (!equalBytes(h.camera, b.camera) || h.epoch !== b.epoch || h.stream !== (stream === "sub" ? 1 : 0) || h.seq !== r.seq)
      fail(`clip ${j} is sealed as segment ${h.seq} of stream ${h.stream} of another camera or epoch, not as this clip`);
    if (h.serial !== r.serial) fail(`clip ${j} is sealed under content key ${h.serial}, the key revealed is of content key ${r.serial}`);
    return j;
  });
}

/** openReveals finishes §10.8 on a verified bundle: each revealed key must
 * open its clip (AES-GCM, by WebCrypto); those clips are then marked
 * revealed. It throws an EvidenceError of kind reveal. */
export async function openReveals(b: Bundle, rep: Report): Promise<void> {
  const js = checkReveals(b, rep.stream);
  for (const [i, j] of js.entries()) {
    const r = b.reveals![i];
    try {
      await openSealed(r.key, sealedHeader(b.clips[j].segment)!, b.clips[j].segment);
    } catch (e) {
      throw new EvidenceError("reveal", `revealed key ${i} (record #${r.seq})`, `the key does not open clip ${j}: ${(e as Error).message}`);
    }
    rep.clips[j].revealed = true;
  }
}

/** playable is what clip i of a verified bundle plays: its bytes in the
 * clear, its plaintext when sealed and revealed, or null (sealed, no key). */
export async function playable(b: Bundle, i: number): Promise<Uint8Array | null> {
  const c = b.clips[i];
  const h = sealedHeader(c.segment);
  if (!h) return c.segment;
  const r = (b.reveals ?? []).find((r) => r.seq === c.leafIndex);
  return r ? openSealed(r.key, h, c.segment) : null;
}

/** kindOf names the kind of an error as evidence.KindOf does. */
export const kindOf = (e: unknown): Kind | "other" => (e instanceof EvidenceError ? e.kind : "other");

/** reportJSON is the report as Go's evidence.Report marshals to JSON
 * (`camchain evidence verify --json`'s "report"), for comparing the two. */
export function reportJSON(r: Report): unknown {
  const n = (x: bigint) => Number(x);
  const out: Record<string, unknown> = {
    chain_id: r.chainID,
    camera: r.camera,
    epoch: n(r.epoch),
    stream: r.stream,
    validators_hashes: r.validatorsHashes,
    pinned: r.pinned,
    ...(r.genesisValidatorsHash ? { genesis_validators_hash: r.genesisValidatorsHash } : {}),
    ...(r.validatorChanges.length
      ? {
          validator_changes: r.validatorChanges.map((c) => ({
            height: n(c.height),
            block_time: c.blockTime,
            from: c.from,
            to: c.to,
            validators: c.validators,
            voting_power: n(c.votingPower),
          })),
        }
      : {}),
    checkpoints: r.checkpoints.map((c) => {
      const o: Record<string, unknown> = {
        height: n(c.height),
        block_time: c.blockTime,
        tx_hash: c.txHash,
        tx_index: n(c.txIndex),
        period_start: c.periodStart,
        period_end: c.periodEnd,
        first_seq: n(c.firstSeq),
        last_seq: n(c.lastSeq),
        tree_size: n(c.treeSize),
        root: c.root,
        validators_hash: c.validatorsHash,
        validators: c.validators,
        voting_power: n(c.votingPower),
        app_hash_after: c.appHashAfter,
        linked: c.linked,
      };
      if (c.notChecked) o.not_checked = c.notChecked;
      if (c.witnesses.length) o.witnesses = c.witnesses;
      return o;
    }),
    clips: r.clips.map((c) => ({
      seq: n(c.seq),
      start: c.start,
      duration_seconds: c.duration,
      size: n(c.size),
      sha256: c.sha256,
      record_hash: c.recordHash,
      codec: c.codec,
      ...(c.clock !== "unknown" ? { clock: c.clock } : {}),
      checkpoint: c.checkpoint,
      checkpoint_height: n(c.checkpointHeight),
      ...(c.sealed ? { sealed: true } : {}),
      ...(c.revealed ? { revealed: true } : {}),
    })),
    origin: r.origin,
  };
  if (r.trustedWitnesses.length) out.trusted_witnesses = r.trustedWitnesses;
  if (r.missing.length) out.missing = r.missing.map((m) => ({ first: n(m.first), last: n(m.last) }));
  return out;
}
