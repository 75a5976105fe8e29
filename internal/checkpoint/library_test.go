package checkpoint

import (
	"encoding/hex"
	"errors"
	"fmt"
	"testing"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/testonly"

	"github.com/camchain/camchain/internal/feedchain"
)

// The RFC 6962 test vectors of github.com/transparency-dev/merkle v0.0.2:
// leaf inputs, node hashes and roots come from its testonly package; the
// inclusion and consistency proofs below are copied from its
// proof/verify_test.go (unexported there; originally the Certificate
// Transparency C++ test vectors). Copyright 2017 Google LLC, Apache-2.0.
//
// The library's leaf inputs are of arbitrary length, so these tests build
// the tree with appendLeafData and verify with verifyInclusion: the code
// behind Append and VerifyInclusion, minus the fixed 32-byte leaf data.

type libInclusion struct {
	leaf  uint64 // 1-based, as in the library's table
	size  uint64
	proof []string
}

type libConsistency struct {
	size1, size2 uint64
	proof        []string
}

var (
	libInclusionProofs = []libInclusion{
		{0, 0, nil}, // invalid: no leaf 0 in an empty tree
		{1, 1, nil},
		{1, 8, []string{
			"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
		}},
		{6, 8, []string{
			"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
			"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		}},
		{3, 3, []string{
			"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		}},
		{2, 5, []string{
			"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
		}},
	}

	libConsistencyProofs = []libConsistency{
		{1, 1, nil},
		{1, 8, []string{
			"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
		}},
		{6, 8, []string{
			"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
			"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		}},
		{2, 5, []string{
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
		}},
		{6, 7, []string{
			"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
			"b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		}},
	}
)

func hexHashes(t *testing.T, hs []string) []feedchain.Hash {
	t.Helper()
	out := make([]feedchain.Hash, len(hs))
	for i, s := range hs {
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != HashSize {
			t.Fatalf("bad hash %q", s)
		}
		copy(out[i][:], b)
	}
	return out
}

func equalProofs(a, b []feedchain.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// libTree is the tree over the library's LeafInputs().
func libTree(t *testing.T) *Tree {
	t.Helper()
	tr := NewTree()
	roots := testonly.RootHashes()
	for i, d := range testonly.LeafInputs() {
		if got, want := tr.Root(), toHash(roots[i]); got != want {
			t.Fatalf("root at size %d: %x, library %x", i, got, want)
		}
		tr.appendLeafData(d)
	}
	return tr
}

func TestLibraryRootsAndNodes(t *testing.T) {
	tr := libTree(t)
	roots := testonly.RootHashes()
	if tr.Size() != uint64(len(roots)-1) {
		t.Fatalf("size %d", tr.Size())
	}
	for size := range roots {
		got, err := tr.RootAt(uint64(size))
		if err != nil {
			t.Fatal(err)
		}
		if want := toHash(roots[size]); got != want {
			t.Errorf("RootAt(%d) = %x, library %x", size, got, want)
		}
	}
	if got, want := tr.Root(), toHash(roots[len(roots)-1]); got != want {
		t.Errorf("Root() = %x, library %x", got, want)
	}
	if got, want := emptyRoot(), toHash(testonly.EmptyRootHash()); got != want {
		t.Errorf("empty root %x, library %x", got, want)
	}
	// Every perfect subtree, through both the cached and the recomputed path.
	for level, row := range testonly.NodeHashes() {
		for index, want := range row {
			id := compact.NewNodeID(uint(level), uint64(index))
			if got := toHash(tr.nodeHash(id)); got != toHash(want) {
				t.Errorf("node (%d, %d) = %x, library %x", level, index, got, want)
			}
		}
	}
}

func TestLibraryInclusionProofs(t *testing.T) {
	tr := libTree(t)
	leaves, roots := testonly.LeafInputs(), testonly.RootHashes()
	for _, v := range libInclusionProofs {
		t.Run(fmt.Sprintf("%d/%d", v.leaf, v.size), func(t *testing.T) {
			want := hexHashes(t, v.proof)
			if v.leaf == 0 {
				if _, err := tr.InclusionProof(v.leaf, v.size); !errors.Is(err, ErrOutOfRange) {
					t.Fatalf("InclusionProof(0, 0): %v", err)
				}
				var ie *InclusionError
				if err := verifyInclusion(0, 0, hasher.HashLeaf(nil), emptyRoot(), nil); !errors.As(err, &ie) {
					t.Fatalf("verifyInclusion(0, 0): %v", err)
				}
				return
			}
			index := v.leaf - 1
			got, err := tr.InclusionProof(index, v.size)
			if err != nil {
				t.Fatal(err)
			}
			if !equalProofs(got, want) {
				t.Errorf("proof %x, library %x", got, want)
			}
			if err := verifyInclusion(index, v.size, hasher.HashLeaf(leaves[index]), toHash(roots[v.size]), want); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestLibraryConsistencyProofs(t *testing.T) {
	tr := libTree(t)
	roots := testonly.RootHashes()
	for _, v := range libConsistencyProofs {
		t.Run(fmt.Sprintf("%d/%d", v.size1, v.size2), func(t *testing.T) {
			want := hexHashes(t, v.proof)
			got, err := tr.ConsistencyProof(v.size1, v.size2)
			if err != nil {
				t.Fatal(err)
			}
			if !equalProofs(got, want) {
				t.Errorf("proof %x, library %x", got, want)
			}
			if err := VerifyConsistency(v.size1, v.size2, toHash(roots[v.size1]), toHash(roots[v.size2]), want); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestAgainstReferenceTree compares every root and proof of trees of record
// hashes with the library's reference in-memory tree (testonly.Tree), for
// all sizes up to 70 (past subtrees of 16, 32 and 64 leaves, so both the
// cached and recomputed node paths) and a sample in a tree of 1100.
func TestAgainstReferenceTree(t *testing.T) {
	check := func(t *testing.T, n int, every uint64) {
		rh := testRecordHashes(n)
		tr, ref := NewTree(), testonly.New(hasher)
		for _, h := range rh {
			tr.Append(h)
			ref.Append(leafHash(h))
		}
		for size := uint64(0); size <= uint64(n); size++ {
			if size%every != 0 && size != uint64(n) && size > 70 {
				continue
			}
			want := toHash(ref.HashAt(size))
			if got, err := tr.RootAt(size); err != nil || got != want {
				t.Fatalf("RootAt(%d) = %x, %v; reference %x", size, got, err, want)
			}
			if got := Root(rh[:size]); got != want {
				t.Fatalf("Root(first %d) = %x; reference %x", size, got, want)
			}
			for i := uint64(0); i < size; i += every {
				p, err := tr.InclusionProof(i, size)
				if err != nil {
					t.Fatal(err)
				}
				rp, _ := ref.InclusionProof(i, size)
				if !equalProofs(p, fromSlices(rp)) {
					t.Fatalf("InclusionProof(%d, %d) = %x; reference %x", i, size, p, rp)
				}
				if err := VerifyInclusion(i, size, rh[i], want, p); err != nil {
					t.Fatal(err)
				}
			}
			for s1 := uint64(0); s1 <= size; s1 += every {
				p, err := tr.ConsistencyProof(s1, size)
				if err != nil {
					t.Fatal(err)
				}
				rp, _ := ref.ConsistencyProof(s1, size)
				if !equalProofs(p, fromSlices(rp)) {
					t.Fatalf("ConsistencyProof(%d, %d) = %x; reference %x", s1, size, p, rp)
				}
				if err := VerifyConsistency(s1, size, toHash(ref.HashAt(s1)), want, p); err != nil {
					t.Fatal(err)
				}
			}
		}
		if got, want := tr.Root(), toHash(ref.Hash()); got != want {
			t.Fatalf("Root() = %x; reference %x", got, want)
		}
	}
	t.Run("all-to-70", func(t *testing.T) { check(t, 70, 1) })
	t.Run("sample-1100", func(t *testing.T) { check(t, 1100, 97) })
}
