package checkpoint

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/transparency-dev/merkle/proof"

	"github.com/camchain/camchain/internal/feedchain"
)

// probe is one corrupted input to a verifier.
type inclusionProbe struct {
	desc        string
	index, size uint64
	recordHash  feedchain.Hash
	root        feedchain.Hash
	proof       []feedchain.Hash
}

type consistencyProbe struct {
	desc         string
	size1, size2 uint64
	root1, root2 feedchain.Hash
	proof        []feedchain.Hash
}

func flip(h feedchain.Hash, bit int) feedchain.Hash {
	h[bit/8] ^= 1 << (bit % 8)
	return h
}

// with returns a copy of p with the hashes inserted at position at.
func with(p []feedchain.Hash, at int, hs ...feedchain.Hash) []feedchain.Hash {
	out := append([]feedchain.Hash{}, p[:at]...)
	out = append(out, hs...)
	return append(out, p[at:]...)
}

// rootOf returns the root of tr at size, or a value no tree has when size
// is beyond tr: each size travels with its own root, as in a checkpoint.
func rootOf(tr *Tree, size uint64) feedchain.Hash {
	r, err := tr.RootAt(size)
	if err != nil {
		return feedchain.Hash{0xee}
	}
	return r
}

// corruptInclusion lists, for a valid inclusion proof, the systematic
// corruptions in the manner of transparency-dev/merkle's verify tests.
// A changed size is paired with the root of that size.
func corruptInclusion(tr *Tree, rhs []feedchain.Hash, index, size uint64, root feedchain.Hash, p []feedchain.Hash) []inclusionProbe {
	rh := rhs[index]
	some := feedchain.Hash{0xab, 0xac, 0xab, 0xa0}
	probes := []inclusionProbe{
		{"index-1", index - 1, size, rh, root, p},
		{"index+1", index + 1, size, rh, root, p},
		{"index^2", index ^ 2, size, rh, root, p},
		{"size-1", index, size - 1, rh, rootOf(tr, size-1), p},
		{"size+1", index, size + 1, rh, rootOf(tr, size+1), p},
		{"size*2", index, size * 2, rh, rootOf(tr, size*2), p},
		{"size/2", index, size / 2, rh, rootOf(tr, size/2), p},
		{"record hash bit 0", index, size, flip(rh, 0), root, p},
		{"record hash bit 255", index, size, flip(rh, 255), root, p},
		{"root bit 0", index, size, rh, flip(root, 0), p},
		{"root bit 255", index, size, rh, flip(root, 255), p},
		{"empty tree root", index, size, rh, emptyRoot(), p},
		{"other root", index, size, rh, some, p},
		{"trailing zero hash", index, size, rh, root, with(p, len(p), feedchain.Hash{})},
		{"trailing root", index, size, rh, root, with(p, len(p), root)},
		{"leading zero hash", index, size, rh, root, with(p, 0, feedchain.Hash{})},
		{"leading root", index, size, rh, root, with(p, 0, root)},
		{"too long", index, size, rh, root, make([]feedchain.Hash, MaxProofHashes+1)},
	}
	if index > 0 {
		probes = append(probes, inclusionProbe{"previous record", index, size, rhs[index-1], root, p})
	}
	for i := range p {
		for _, bit := range []int{0, 3, 255} {
			q := with(p, 0)
			q[i] = flip(q[i], bit)
			probes = append(probes, inclusionProbe{fmt.Sprintf("proof[%d] bit %d", i, bit), index, size, rh, root, q})
		}
	}
	if n := len(p); n > 0 {
		probes = append(probes,
			inclusionProbe{"last hash removed", index, size, rh, root, p[:n-1]},
			inclusionProbe{"first hash removed", index, size, rh, root, p[1:]},
			inclusionProbe{"hash inserted", index, size, rh, root, with(p, 1, some)})
	}
	if n := len(p); n > 1 {
		q := with(p, 0)
		q[0], q[1] = q[1], q[0]
		probes = append(probes, inclusionProbe{"first two swapped", index, size, rh, root, q})
	}
	return probes
}

func corruptConsistency(tr *Tree, size1, size2 uint64, root1, root2 feedchain.Hash, p []feedchain.Hash) []consistencyProbe {
	some := feedchain.Hash{0xab, 0xac, 0xab, 0xa0}
	probes := []consistencyProbe{
		{"size1-1", size1 - 1, size2, rootOf(tr, size1-1), root2, p},
		{"size1+1", size1 + 1, size2, rootOf(tr, size1+1), root2, p},
		{"size1^2", size1 ^ 2, size2, rootOf(tr, size1^2), root2, p},
		{"size2-1", size1, size2 - 1, root1, rootOf(tr, size2-1), p},
		{"size2+1", size1, size2 + 1, root1, rootOf(tr, size2+1), p},
		{"size2*2", size1, size2 * 2, root1, rootOf(tr, size2*2), p},
		{"size2/2", size1, size2 / 2, root1, rootOf(tr, size2/2), p},
		{"sizes swapped", size2, size1, root2, root1, p},
		{"roots swapped", size1, size2, root2, root1, p},
		{"root1 bit 0", size1, size2, flip(root1, 0), root2, p},
		{"root1 bit 255", size1, size2, flip(root1, 255), root2, p},
		{"root2 bit 0", size1, size2, root1, flip(root2, 0), p},
		{"root2 bit 255", size1, size2, root1, flip(root2, 255), p},
		{"other root1", size1, size2, some, root2, p},
		{"other root2", size1, size2, root1, some, p},
		{"trailing zero hash", size1, size2, root1, root2, with(p, len(p), feedchain.Hash{})},
		{"trailing root1", size1, size2, root1, root2, with(p, len(p), root1)},
		{"trailing root2", size1, size2, root1, root2, with(p, len(p), root2)},
		{"leading zero hash", size1, size2, root1, root2, with(p, 0, feedchain.Hash{})},
		{"leading root1", size1, size2, root1, root2, with(p, 0, root1)},
		{"leading root2", size1, size2, root1, root2, with(p, 0, root2)},
		{"too long", size1, size2, root1, root2, make([]feedchain.Hash, MaxProofHashes+1)},
	}
	switch {
	case size1 == 0:
		// The empty tree is a prefix of every tree, whatever size2 is; what
		// can be wrong is root1, the order, or a proof that is not empty.
		probes = []consistencyProbe{
			{"root1 bit 0", size1, size2, flip(root1, 0), root2, p},
			{"trailing zero hash", size1, size2, root1, root2, with(p, len(p), feedchain.Hash{})},
			{"trailing root2", size1, size2, root1, root2, with(p, len(p), root2)},
		}
		if size2 > 0 {
			probes = append(probes,
				consistencyProbe{"sizes swapped", size2, size1, root2, root1, p},
				consistencyProbe{"root1 is root2", size1, size2, root2, root2, p})
		}
		return probes
	case size1 == size2:
		probes = []consistencyProbe{
			{"size1+1", size1 + 1, size2, rootOf(tr, size1+1), root2, p},
			{"size2-1", size1, size2 - 1, root1, rootOf(tr, size2-1), p},
			{"size2+1", size1, size2 + 1, root1, rootOf(tr, size2+1), p},
			{"root1 bit 0", size1, size2, flip(root1, 0), root2, p},
			{"root2 bit 255", size1, size2, root1, flip(root2, 255), p},
			{"trailing zero hash", size1, size2, root1, root2, with(p, len(p), feedchain.Hash{})},
			{"trailing root2", size1, size2, root1, root2, with(p, len(p), root2)},
		}
		if size1 > 1 { // from size 0 the empty proof is right
			probes = append(probes, consistencyProbe{"size1-1", size1 - 1, size2, rootOf(tr, size1-1), root2, p})
		}
		return probes
	}
	for i := range p {
		for _, bit := range []int{0, 4, 255} {
			q := with(p, 0)
			q[i] = flip(q[i], bit)
			probes = append(probes, consistencyProbe{fmt.Sprintf("proof[%d] bit %d", i, bit), size1, size2, root1, root2, q})
		}
	}
	n := len(p)
	probes = append(probes,
		consistencyProbe{"empty proof", size1, size2, root1, root2, nil},
		consistencyProbe{"last hash removed", size1, size2, root1, root2, p[:n-1]},
		consistencyProbe{"first hash removed", size1, size2, root1, root2, p[1:]},
		consistencyProbe{"hash inserted", size1, size2, root1, root2, with(p, 1, some)},
		consistencyProbe{"leading proof[0]", size1, size2, root1, root2, with(p, 0, p[0])})
	if n > 1 {
		q := with(p, 0)
		q[0], q[1] = q[1], q[0]
		probes = append(probes, consistencyProbe{"first two swapped", size1, size2, root1, root2, q})
	}
	return probes
}

// TestCorruptedProofs: for every valid proof in a tree of 20 records, every
// systematic corruption is refused with the typed error.
func TestCorruptedProofs(t *testing.T) {
	const n = 20
	rh := testRecordHashes(n)
	tr := NewTree()
	for _, h := range rh {
		tr.Append(h)
	}
	var probes int
	for size := uint64(1); size <= n; size++ {
		root := rootOf(tr, size)
		for i := uint64(0); i < size; i++ {
			p, _ := tr.InclusionProof(i, size)
			if err := VerifyInclusion(i, size, rh[i], root, p); err != nil {
				t.Fatalf("valid proof refused: %v", err)
			}
			for _, c := range corruptInclusion(tr, rh, i, size, root, p) {
				probes++
				err := VerifyInclusion(c.index, c.size, c.recordHash, c.root, c.proof)
				var ie *InclusionError
				if !errors.As(err, &ie) {
					t.Errorf("leaf %d of %d, %s: got %v, want *InclusionError", i, size, c.desc, err)
				} else if ie.Index != c.index || ie.Size != c.size || ie.Reason == "" {
					t.Errorf("leaf %d of %d, %s: error names %d/%d %q", i, size, c.desc, ie.Index, ie.Size, ie.Reason)
				}
			}
		}
	}
	for size2 := uint64(0); size2 <= n; size2++ {
		for size1 := uint64(0); size1 <= size2; size1++ {
			root1, root2 := rootOf(tr, size1), rootOf(tr, size2)
			p, _ := tr.ConsistencyProof(size1, size2)
			if err := VerifyConsistency(size1, size2, root1, root2, p); err != nil {
				t.Fatalf("valid proof refused: %v", err)
			}
			for _, c := range corruptConsistency(tr, size1, size2, root1, root2, p) {
				probes++
				err := VerifyConsistency(c.size1, c.size2, c.root1, c.root2, c.proof)
				var ce *ConsistencyError
				if !errors.As(err, &ce) {
					t.Errorf("%d→%d, %s: got %v, want *ConsistencyError", size1, size2, c.desc, err)
				} else if ce.Size1 != c.size1 || ce.Size2 != c.size2 || ce.Reason == "" {
					t.Errorf("%d→%d, %s: error names %d→%d %q", size1, size2, c.desc, ce.Size1, ce.Size2, ce.Reason)
				}
			}
		}
	}
	t.Logf("%d corrupted proofs refused", probes)
}

// TestErrorReasons pins what the errors say for the main kinds of failure.
func TestErrorReasons(t *testing.T) {
	rh := testRecordHashes(7)
	tr := NewTree()
	for _, h := range rh {
		tr.Append(h)
	}
	root5, root7 := rootOf(tr, 5), rootOf(tr, 7)
	incl, _ := tr.InclusionProof(2, 7)
	cons, _ := tr.ConsistencyProof(5, 7)
	var mismatch proof.RootMismatchError
	for _, tc := range []struct {
		name    string
		err     error
		want    string
		library bool // wraps the library's RootMismatchError
	}{
		{"index", VerifyInclusion(7, 7, rh[2], root7, incl), "inclusion proof of record 7 in tree of size 7: index is not below the size", false},
		{"length", VerifyInclusion(2, 7, rh[2], root7, incl[1:]), "inclusion proof of record 2 in tree of size 7: proof has 2 hashes, want 3", false},
		{"root", VerifyInclusion(2, 7, rh[3], root7, incl), fmt.Sprintf("inclusion proof of record 2 in tree of size 7: root mismatch: proof gives %x, expected %x", rootFromWrongLeaf(t, rh[3], incl), root7), true},
		{"order", VerifyConsistency(7, 5, root7, root5, cons), "consistency proof from tree size 7 to 5: size1 is greater than size2", false},
		{"length", VerifyConsistency(5, 7, root5, root7, cons[:3]), "consistency proof from tree size 5 to 7: proof has 3 hashes, want 4", false},
		{"root1", VerifyConsistency(5, 7, rootOf(tr, 4), root7, cons), fmt.Sprintf("consistency proof from tree size 5 to 7: root1 mismatch: proof gives %x, expected %x", root5, rootOf(tr, 4)), true},
		{"root2", VerifyConsistency(5, 7, root5, rootOf(tr, 6), cons), fmt.Sprintf("consistency proof from tree size 5 to 7: root2 mismatch: proof gives %x, expected %x", root7, rootOf(tr, 6)), true},
		{"empty", VerifyConsistency(0, 7, root5, root7, nil), fmt.Sprintf("consistency proof from tree size 0 to 7: root1 is %x, the empty tree's root is %x", root5, emptyRoot()), false},
		{"equal", VerifyConsistency(7, 7, root5, root7, nil), fmt.Sprintf("consistency proof from tree size 7 to 7: the sizes are equal but the roots differ: %x, %x", root5, root7), false},
		{"limit", VerifyInclusion(0, MaxTreeSize+1, rh[0], root7, nil), "inclusion proof of record 0 in tree of size 9223372036854775809: size exceeds the limit of 9223372036854775808", false},
	} {
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", tc.name, tc.err, tc.want)
		}
		if got := errors.As(tc.err, &mismatch); got != tc.library {
			t.Errorf("%s: wraps RootMismatchError = %v", tc.name, got)
		}
	}
}

func rootFromWrongLeaf(t *testing.T, rh feedchain.Hash, p []feedchain.Hash) feedchain.Hash {
	t.Helper()
	r, err := proof.RootFromInclusionProof(hasher, 2, 7, leafHash(rh), toSlices(p))
	if err != nil {
		t.Fatal(err)
	}
	return toHash(r)
}

// TestSizeTravelsWithRoot documents the RFC 6962 property the package
// comment warns about: the path to leaf 4 is computed the same way in trees
// of 7 and 8 leaves, so the size-7 proof checked with size 8 but the size-7
// root passes. Against the root of size 8, as a checkpoint pairs them, it
// fails.
func TestSizeTravelsWithRoot(t *testing.T) {
	rh := testRecordHashes(8)
	tr := NewTree()
	for _, h := range rh {
		tr.Append(h)
	}
	p, _ := tr.InclusionProof(4, 7)
	if err := VerifyInclusion(4, 8, rh[4], rootOf(tr, 7), p); err != nil {
		t.Fatalf("expected the known RFC 6962 behaviour, got %v", err)
	}
	if err := VerifyInclusion(4, 8, rh[4], rootOf(tr, 8), p); err == nil {
		t.Fatal("size-7 proof accepted against the size-8 root")
	}
}

// TestProofBound: every proof for a tree of up to MaxTreeSize records fits
// in MaxProofHashes, and the verifiers refuse larger trees (whose
// consistency proofs can need 65).
func TestProofBound(t *testing.T) {
	edge := []uint64{1, 2, 3, 4, 5, 7, 8, 9, 1<<31 - 1, 1 << 31, 1<<31 + 1,
		1<<62 - 1, 1 << 62, 1<<62 + 1, 1<<63 - 3, 1<<63 - 2, 1<<63 - 1, MaxTreeSize}
	longest := 0
	for _, s2 := range edge {
		for _, s1 := range edge {
			if s1 > s2 {
				continue
			}
			for _, idx := range []uint64{0, 1, 2, s1 - 1, s1 / 2, s2 - 1} {
				if idx < s2 {
					n, _ := proof.Inclusion(idx, s2)
					longest = max(longest, proofLen(n))
				}
			}
			n, _ := proof.Consistency(s1, s2)
			longest = max(longest, proofLen(n))
		}
	}
	if longest != MaxProofHashes {
		t.Errorf("longest proof for trees ≤ MaxTreeSize has %d hashes, limit %d", longest, MaxProofHashes)
	}
	if n, _ := proof.Consistency(3, MaxTreeSize+1); proofLen(n) != MaxProofHashes+1 {
		t.Errorf("consistency 3 → 2^63+1 has %d hashes, expected 65", proofLen(n))
	}
	var ce *ConsistencyError
	if err := VerifyConsistency(3, MaxTreeSize+1, feedchain.Hash{1}, feedchain.Hash{2}, make([]feedchain.Hash, 65)); !errors.As(err, &ce) {
		t.Errorf("size beyond MaxTreeSize: %v", err)
	}
	var ie *InclusionError
	if err := VerifyInclusion(0, math.MaxUint64, feedchain.Hash{1}, feedchain.Hash{2}, make([]feedchain.Hash, 64)); !errors.As(err, &ie) {
		t.Errorf("size beyond MaxTreeSize: %v", err)
	}
}

// TestTreeRanges: out-of-range requests are refused with ErrOutOfRange, and
// the zero Tree is an empty tree.
func TestTreeRanges(t *testing.T) {
	var zero Tree
	if zero.Size() != 0 || zero.Root() != emptyRoot() || Root(nil) != emptyRoot() {
		t.Fatal("zero tree is not the empty tree")
	}
	if r, err := zero.RootAt(0); err != nil || r != emptyRoot() {
		t.Fatalf("RootAt(0) = %x, %v", r, err)
	}
	if p, err := zero.ConsistencyProof(0, 0); err != nil || len(p) != 0 {
		t.Fatalf("ConsistencyProof(0, 0) = %x, %v", p, err)
	}
	zero.Append(feedchain.Hash{1})
	if zero.Size() != 1 || zero.Root() != toHash(leafHash(feedchain.Hash{1})) {
		t.Fatal("tree of one record: root is not its leaf hash")
	}
	tr := NewTree()
	for _, h := range testRecordHashes(5) {
		tr.Append(h)
	}
	for name, err := range map[string]error{
		"RootAt(6)":               second(tr.RootAt(6)),
		"InclusionProof(5, 5)":    second(tr.InclusionProof(5, 5)),
		"InclusionProof(0, 6)":    second(tr.InclusionProof(0, 6)),
		"InclusionProof(0, 0)":    second(tr.InclusionProof(0, 0)),
		"ConsistencyProof(3, 2)":  second(tr.ConsistencyProof(3, 2)),
		"ConsistencyProof(2, 6)":  second(tr.ConsistencyProof(2, 6)),
		"ConsistencyProof(0, 99)": second(tr.ConsistencyProof(0, 99)),
	} {
		if !errors.Is(err, ErrOutOfRange) {
			t.Errorf("%s: %v, want ErrOutOfRange", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }
