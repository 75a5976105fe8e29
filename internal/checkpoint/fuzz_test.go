package checkpoint

import (
	"bytes"
	"errors"
	"testing"

	"github.com/camchain/camchain/internal/feedchain"
)

// The fuzz targets verify against one fixed tree. Each size is paired with
// its own root (or, past the tree, with a value that is no root), as a
// checkpoint pairs them, so the only proof that may pass for a given index
// and size is the one the tree gives (for consistency from size 0, or
// between equal sizes, the empty proof, whatever the sizes): anything else
// the verifier accepts would be a SHA-256 collision or a bug.
const fuzzTreeSize = 40

type fuzzTree struct {
	tree  *Tree
	rh    []feedchain.Hash
	roots []feedchain.Hash
}

func newFuzzTree() *fuzzTree {
	ft := &fuzzTree{tree: NewTree(), rh: testRecordHashes(fuzzTreeSize)}
	for _, h := range ft.rh {
		ft.tree.Append(h)
	}
	for n := uint64(0); n <= fuzzTreeSize; n++ {
		ft.roots = append(ft.roots, rootOf(ft.tree, n))
	}
	return ft
}

func (ft *fuzzTree) root(size uint64) feedchain.Hash {
	if size <= fuzzTreeSize {
		return ft.roots[size]
	}
	return feedchain.Hash{0xee}
}

// FuzzVerifyInclusion: never panics, refuses with *InclusionError, and
// accepts exactly the tree's own proof for the record at index.
func FuzzVerifyInclusion(f *testing.F) {
	ft := newFuzzTree()
	p, _ := ft.tree.InclusionProof(4, 7)
	f.Add(uint64(4), uint64(7), uint16(4), EncodeProof(p))
	f.Fuzz(func(t *testing.T, index, size uint64, leaf uint16, pb []byte) {
		p, err := DecodeProof(pb)
		if err != nil {
			return
		}
		var rh feedchain.Hash // leaf selects a record, or none past the tree
		if l := int(leaf) % (fuzzTreeSize + 1); l < fuzzTreeSize {
			rh = ft.rh[l]
		}
		err = VerifyInclusion(index, size, rh, ft.root(size), p)
		genuine := false
		if size <= fuzzTreeSize && index < size && rh == ft.rh[index] {
			want, _ := ft.tree.InclusionProof(index, size)
			genuine = equalProofs(p, want)
		}
		var ie *InclusionError
		switch {
		case genuine && err != nil:
			t.Fatalf("genuine proof refused: %v", err)
		case !genuine && err == nil:
			t.Fatalf("accepted a proof that is not the tree's: leaf %d of %d, %x", index, size, p)
		case err != nil && !errors.As(err, &ie):
			t.Fatalf("untyped error %T: %v", err, err)
		}
	})
}

// FuzzVerifyConsistency: never panics, refuses with *ConsistencyError, and
// accepts exactly the tree's own proof between the two sizes.
func FuzzVerifyConsistency(f *testing.F) {
	ft := newFuzzTree()
	p, _ := ft.tree.ConsistencyProof(3, 7)
	f.Add(uint64(3), uint64(7), EncodeProof(p))
	f.Fuzz(func(t *testing.T, size1, size2 uint64, pb []byte) {
		p, err := DecodeProof(pb)
		if err != nil {
			return
		}
		err = VerifyConsistency(size1, size2, ft.root(size1), ft.root(size2), p)
		genuine := false
		switch {
		case size1 > size2 || size2 > MaxTreeSize:
		case size1 == 0 || size1 == size2:
			// The empty tree is a prefix of every tree, and every tree of
			// its own; the proof must be empty (roots: root(0) is the empty
			// root, and equal sizes get equal roots here).
			genuine = len(p) == 0
		case size2 <= fuzzTreeSize:
			want, _ := ft.tree.ConsistencyProof(size1, size2)
			genuine = equalProofs(p, want)
		}
		var ce *ConsistencyError
		switch {
		case genuine && err != nil:
			t.Fatalf("genuine proof refused: %v", err)
		case !genuine && err == nil:
			t.Fatalf("accepted a proof that is not the tree's: %d → %d, %x", size1, size2, p)
		case err != nil && !errors.As(err, &ce):
			t.Fatalf("untyped error %T: %v", err, err)
		}
	})
}

// FuzzDecodeProof: never panics; what it accepts is a whole number of
// hashes within the limit and re-encodes to the same bytes; what it refuses
// is ErrMalformedProof.
func FuzzDecodeProof(f *testing.F) {
	f.Add(make([]byte, 2*HashSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodeProof(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedProof) {
				t.Fatalf("untyped error: %v", err)
			}
			if len(b)%HashSize == 0 && len(b) <= MaxProofHashes*HashSize {
				t.Fatalf("refused %d bytes: %v", len(b), err)
			}
			return
		}
		if len(p) > MaxProofHashes || len(p)*HashSize != len(b) || !bytes.Equal(EncodeProof(p), b) {
			t.Fatalf("accepted %d bytes as %d hashes that re-encode differently", len(b), len(p))
		}
	})
}
