// Package checkpoint is the Merkle tree over a camera's feed-chain records,
// the structure its integrity checkpoints commit to.
//
// At the end of each period a camera computes the tree over the records of
// its current epoch's chain (docs/SPEC.md §6) and signs a checkpoint: period,
// first and last sequence number, tree size, root and chain head. Successive
// checkpoints are linked by consistency proofs, so earlier history cannot be
// rewritten, and a single record is proved to be under a checkpoint by an
// inclusion proof.
//
// # The tree
//
// The tree of an epoch's chain is the RFC 6962 / RFC 9162 Merkle tree with
// SHA-256 and one leaf per record, in sequence order:
//
//	leaf data of record i   = RecordHash of record i (32 bytes, SPEC §6.2)
//	leaf hash               = SHA-256(0x00 ‖ RecordHash)
//	interior node           = SHA-256(0x01 ‖ left ‖ right)
//	root of the empty tree  = SHA-256("")
//
// The tree of size n covers records 0..n-1 of the epoch: it is cumulative over
// the epoch, not reset each period, so the checkpoint of every period extends
// the one before it. For n > 1 the left subtree is the tree over the first k
// records, k the largest power of two smaller than n, and the right subtree
// the tree over the remaining n-k (RFC 9162 §2.1.1). Inclusion and
// consistency proofs are those of RFC 9162 §2.1.3 and §2.1.4: a list of
// 32-byte node hashes, encoded on the wire as their plain concatenation
// (EncodeProof), at most MaxProofHashes of them.
//
// The hashing and the proof algorithms are not written here: they come from
// github.com/transparency-dev/merkle (its rfc6962 hasher, compact ranges and
// proof package); see primitives.go.
//
// # Verification
//
// VerifyInclusion and VerifyConsistency are pure functions over explicit
// inputs that check their preconditions first and return *InclusionError or
// *ConsistencyError saying what failed. A tree size and its root must be taken
// together from the same authenticated (signed) checkpoint: an RFC 6962
// inclusion proof does not always bind the size on its own — for example the
// path to leaf 4 is computed identically in trees of 7 and 8 leaves, so a
// proof checked against the root of one with the size of the other can pass.
// Paired with the root of that size, only the genuine proof verifies.
package checkpoint
