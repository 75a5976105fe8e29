package checkpoint

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/proof"

	"github.com/camchain/camchain/internal/feedchain"
)

// InclusionError says why an inclusion proof for leaf Index in the tree of
// Size leaves was refused.
type InclusionError struct {
	Index  uint64
	Size   uint64
	Reason string
	Err    error // the library's error, when it is the one that refused
}

func (e *InclusionError) Error() string {
	return fmt.Sprintf("inclusion proof of record %d in tree of size %d: %s", e.Index, e.Size, e.Reason)
}

func (e *InclusionError) Unwrap() error { return e.Err }

// ConsistencyError says why a consistency proof between the trees of Size1
// and Size2 leaves was refused.
type ConsistencyError struct {
	Size1  uint64
	Size2  uint64
	Reason string
	Err    error // the library's error, when it is the one that refused
}

func (e *ConsistencyError) Error() string {
	return fmt.Sprintf("consistency proof from tree size %d to %d: %s", e.Size1, e.Size2, e.Reason)
}

func (e *ConsistencyError) Unwrap() error { return e.Err }

// VerifyInclusion checks that proof shows the record with the given
// RecordHash to be leaf index of the tree of the given size and root. size
// and root must come from the same authenticated checkpoint.
func VerifyInclusion(index, size uint64, recordHash, root feedchain.Hash, proof []feedchain.Hash) error {
	return verifyInclusion(index, size, leafHash(recordHash), root, proof)
}

// verifyInclusion is VerifyInclusion for any leaf hash.
func verifyInclusion(index, size uint64, leafHash []byte, root feedchain.Hash, p []feedchain.Hash) error {
	fail := func(err error, format string, a ...any) error {
		return &InclusionError{Index: index, Size: size, Reason: fmt.Sprintf(format, a...), Err: err}
	}
	switch {
	case size > MaxTreeSize:
		return fail(nil, "size exceeds the limit of %d", uint64(MaxTreeSize))
	case index >= size:
		return fail(nil, "index is not below the size")
	case len(p) > MaxProofHashes:
		return fail(nil, "proof has %d hashes, more than the limit of %d", len(p), MaxProofHashes)
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return fail(err, "%v", err)
	}
	if want := proofLen(nodes); len(p) != want {
		return fail(nil, "proof has %d hashes, want %d", len(p), want)
	}
	err = proof.VerifyInclusion(hasher, index, size, leafHash, toSlices(p), root[:])
	var mismatch proof.RootMismatchError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &mismatch):
		return fail(err, "root mismatch: proof gives %x, expected %x", mismatch.CalculatedRoot, mismatch.ExpectedRoot)
	default:
		return fail(err, "%v", err)
	}
}

// VerifyConsistency checks that proof shows the tree of size1 and root1 to
// be a prefix of the tree of size2 and root2: nothing in the first was
// changed, removed or reordered. Each size and its root must come from the
// same authenticated checkpoint. The proof is empty when size1 is 0 (root1
// must then be the empty tree's root) or size1 equals size2 (root1 must then
// equal root2).
func VerifyConsistency(size1, size2 uint64, root1, root2 feedchain.Hash, p []feedchain.Hash) error {
	fail := func(err error, format string, a ...any) error {
		return &ConsistencyError{Size1: size1, Size2: size2, Reason: fmt.Sprintf(format, a...), Err: err}
	}
	switch {
	case size2 > MaxTreeSize:
		return fail(nil, "size2 exceeds the limit of %d", uint64(MaxTreeSize))
	case size1 > size2:
		return fail(nil, "size1 is greater than size2")
	case len(p) > MaxProofHashes:
		return fail(nil, "proof has %d hashes, more than the limit of %d", len(p), MaxProofHashes)
	}
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return fail(err, "%v", err)
	}
	if want := proofLen(nodes); len(p) != want {
		return fail(nil, "proof has %d hashes, want %d", len(p), want)
	}
	switch {
	case size1 == size2:
		if root1 != root2 {
			return fail(nil, "the sizes are equal but the roots differ: %x, %x", root1, root2)
		}
		return nil
	case size1 == 0:
		// The library accepts any root1 here; we want the empty tree's.
		if e := emptyRoot(); root1 != e {
			return fail(nil, "root1 is %x, the empty tree's root is %x", root1, e)
		}
		return nil
	case root1 == root2:
		// Trees of different sizes never share a root (short of a SHA-256
		// collision); refusing this here also keeps the reasons below exact.
		return fail(nil, "the sizes differ but the roots are equal: %x", root1)
	}
	err = proof.VerifyConsistency(hasher, size1, size2, toSlices(p), root1[:], root2[:])
	var mismatch proof.RootMismatchError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &mismatch):
		// The library checks root1 first, then root2; name the one it was.
		which := "root2"
		if bytes.Equal(mismatch.ExpectedRoot, root1[:]) {
			which = "root1"
		}
		return fail(err, "%s mismatch: proof gives %x, expected %x", which, mismatch.CalculatedRoot, mismatch.ExpectedRoot)
	default:
		return fail(err, "%v", err)
	}
}

// proofLen is the number of hashes in the proof the library describes by
// nodes: one per node ID, except that the IDs making up the ephemeral node,
// if any, are folded into one hash (see proof.Nodes.Rehash).
func proofLen(nodes proof.Nodes) int {
	n := len(nodes.IDs)
	if _, begin, end := nodes.Ephem(); end-begin > 1 {
		n -= end - begin - 1
	}
	return n
}
