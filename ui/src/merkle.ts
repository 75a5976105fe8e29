// merkle.ts: the RFC 6962 / RFC 9162 Merkle tree as the evidence verifier
// checks it — leaf SHA-256(0x00 ‖ d), node SHA-256(0x01 ‖ l ‖ r), the split
// at the largest power of two below n — for the camera's checkpoint trees
// (inclusion and consistency proofs, internal/checkpoint) and for
// CometBFT's crypto/merkle trees (its transaction proofs, and the hashes of
// headers, commits, validator sets and results), which are the same tree.
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes } from "./bytes";
import { equalBytes } from "./feedchain";

export const HASH_SIZE = 32;
/** checkpoint.MaxProofHashes: the most hashes a proof may hold. */
export const MAX_PROOF_HASHES = 64;

export const leafHash = (d: Uint8Array): Uint8Array => sha256(concatBytes(Uint8Array.of(0), d));
export const nodeHash = (l: Uint8Array, r: Uint8Array): Uint8Array => sha256(concatBytes(Uint8Array.of(1), l, r));
export const emptyRoot = (): Uint8Array => sha256(new Uint8Array(0));

/** splitPoint is the largest power of two strictly below n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** hashFromByteSlices is CometBFT's merkle.HashFromByteSlices. */
export function hashFromByteSlices(items: Uint8Array[]): Uint8Array {
  if (items.length === 0) return emptyRoot();
  const level = items.map(leafHash);
  return rootOf(level, 0, level.length);
}

function rootOf(leaves: Uint8Array[], from: number, n: number): Uint8Array {
  if (n === 1) return leaves[from];
  const k = splitPoint(n);
  return nodeHash(rootOf(leaves, from, k), rootOf(leaves, from + k, n - k));
}

/** auntsRoot is CometBFT's computeHashFromAunts: the root a transaction
 * proof leads to, or null when the aunts do not fit the tree. */
export function auntsRoot(index: number, total: number, leaf: Uint8Array, aunts: Uint8Array[]): Uint8Array | null {
  if (index >= total || index < 0 || total <= 0) return null;
  if (total === 1) return aunts.length === 0 ? leaf : null;
  if (aunts.length === 0) return null;
  const k = splitPoint(total);
  const last = aunts[aunts.length - 1];
  const rest = aunts.slice(0, -1);
  if (index < k) {
    const l = auntsRoot(index, k, leaf, rest);
    return l === null ? null : nodeHash(l, last);
  }
  const r = auntsRoot(index - k, total - k, leaf, rest);
  return r === null ? null : nodeHash(last, r);
}

/** decodeProof splits a proof into 32-byte hashes (checkpoint.DecodeProof). */
export function decodeProof(b: Uint8Array): Uint8Array[] {
  if (b.length % HASH_SIZE !== 0 || b.length / HASH_SIZE > MAX_PROOF_HASHES)
    throw new Error(`malformed proof: ${b.length} bytes is not 0..${MAX_PROOF_HASHES} whole ${HASH_SIZE}-byte hashes`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < b.length; i += HASH_SIZE) out.push(b.subarray(i, i + HASH_SIZE));
  return out;
}

const lsb = (x: bigint): boolean => (x & 1n) === 1n;

/** verifyInclusion checks an RFC 9162 §2.1.3.2 inclusion proof of the
 * record hash at index in the tree of size with root; it throws saying why not. */
export function verifyInclusion(index: bigint, size: bigint, recordHash: Uint8Array, root: Uint8Array, proof: Uint8Array[]): void {
  if (index >= size) throw new Error(`index ${index} is beyond a tree of size ${size}`);
  let fn = index,
    sn = size - 1n;
  let r = leafHash(recordHash);
  for (const p of proof) {
    if (sn === 0n) throw new Error("the proof has more hashes than the tree needs");
    if (lsb(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!lsb(fn)) while (!lsb(fn) && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else r = nodeHash(r, p);
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new Error("the proof has fewer hashes than the tree needs");
  if (!equalBytes(r, root)) throw new Error("the proof leads to another root");
}

/** verifyConsistency checks an RFC 9162 §2.1.4.2 consistency proof that the
 * tree (size1, root1) is a prefix of (size2, root2); it throws saying why not. */
export function verifyConsistency(size1: bigint, size2: bigint, root1: Uint8Array, root2: Uint8Array, proof: Uint8Array[]): void {
  if (size2 < size1) throw new Error(`size2 (${size2}) < size1 (${size1})`);
  if (size1 === size2) {
    if (proof.length !== 0) throw new Error("a proof between trees of one size must be empty");
    if (!equalBytes(root1, root2)) throw new Error("two different roots for one tree size");
    return;
  }
  if (size1 === 0n) {
    if (proof.length !== 0) throw new Error("a proof from the empty tree must be empty");
    return;
  }
  if (proof.length === 0) throw new Error("empty consistency proof");
  let p = proof;
  if ((size1 & (size1 - 1n)) === 0n) p = [root1, ...proof];
  let fn = size1 - 1n,
    sn = size2 - 1n;
  while (lsb(fn)) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = p[0],
    sr = p[0];
  for (const c of p.slice(1)) {
    if (sn === 0n) throw new Error("the proof has more hashes than the trees need");
    if (lsb(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!lsb(fn)) while (!lsb(fn) && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else sr = nodeHash(sr, c);
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new Error("the proof has fewer hashes than the trees need");
  if (!equalBytes(fr, root1)) throw new Error("the proof does not lead to the earlier root");
  if (!equalBytes(sr, root2)) throw new Error("the proof does not lead to the later root");
}

/** consistencyProofLen is the number of hashes a consistency proof from
 * size1 to size2 (0 < size1 < size2) has (RFC 9162 SUBPROOF). */
export function consistencyProofLen(size1: bigint, size2: bigint): number {
  const sub = (m: bigint, n: bigint, whole: boolean): number => {
    if (m === n) return whole ? 0 : 1;
    let k = 1n;
    while (k * 2n < n) k *= 2n;
    return m <= k ? sub(m, k, whole) + 1 : sub(m - k, n - k, false) + 1;
  };
  return sub(size1, size2, true);
}
