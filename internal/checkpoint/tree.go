package checkpoint

import (
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"

	"github.com/camchain/camchain/internal/feedchain"
)

// ErrOutOfRange: a proof or root was asked for a size or index the tree does
// not have.
var ErrOutOfRange = errors.New("checkpoint: out of range")

// cachedFromLevel is the lowest tree level whose node hashes a Tree keeps
// besides the leaves. A node below it (at most 2^cachedFromLevel leaves) is
// recomputed from the leaf hashes when a proof needs it. With 4 the cache
// costs n/8 hashes (4 MB for a million records) on top of the n leaf hashes,
// and a proof node costs at most 15 hash computations.
const cachedFromLevel = 4

// Tree is the append-only Merkle tree of one epoch's feed chain (see the
// package comment). It keeps every leaf hash (32 bytes a record) and the
// hashes of the perfect subtrees of 16 leaves or more, so roots of any
// earlier size and proofs cost O(log n) hash computations.
//
// The zero Tree is an empty tree ready to use. A Tree is not safe for
// concurrent use.
type Tree struct {
	leaves []feedchain.Hash   // leaves[i]: leaf hash of record i
	levels [][]feedchain.Hash // levels[l-cachedFromLevel][i]: hash of node (l, i)
	rng    *compact.Range     // the compact range [0, Size()), for Root
}

// NewTree returns an empty tree.
func NewTree() *Tree { return &Tree{} }

// Append adds the record with the given RecordHash as the next leaf.
func (t *Tree) Append(recordHash feedchain.Hash) { t.appendLeafData(recordHash[:]) }

// appendLeafData adds a leaf with arbitrary leaf data. Append is this with
// the 32-byte record hash; tests use it directly to build the library's test
// trees, whose leaf inputs have other lengths, through the same code.
func (t *Tree) appendLeafData(data []byte) {
	if t.rng == nil {
		t.rng = rangeFactory.NewEmptyRange(0)
	}
	// The visitor is told about the new leaf and every perfect subtree the
	// leaf completes, lowest level first.
	if err := t.rng.Append(hasher.HashLeaf(data), t.store); err != nil {
		// The library fails only on a corrupted range; t.rng is only ever
		// grown by this method.
		panic("checkpoint: compact range invariant broken: " + err.Error())
	}
}

// store records a node hash reported by the compact range.
func (t *Tree) store(id compact.NodeID, hash []byte) {
	var row *[]feedchain.Hash
	switch {
	case id.Level == 0:
		row = &t.leaves
	case id.Level >= cachedFromLevel:
		l := int(id.Level - cachedFromLevel)
		for len(t.levels) <= l {
			t.levels = append(t.levels, nil)
		}
		row = &t.levels[l]
	default:
		return
	}
	if id.Index != uint64(len(*row)) {
		panic(fmt.Sprintf("checkpoint: node (%d, %d) completed out of order", id.Level, id.Index))
	}
	*row = append(*row, toHash(hash))
}

// Chain is what a tree is extended from: the record hash at each sequence
// number of an epoch's feed chain (a store.Chain, a records log).
type Chain interface {
	HashAt(seq uint64) (feedchain.Hash, bool)
}

// ErrMissingRecord: the chain lacks a record the tree needs.
var ErrMissingRecord = errors.New("checkpoint: record missing from the chain")

// ExtendTo appends the chain's records from Size() on until the tree has
// size leaves: the one way the agent, the hub and evidence building grow
// a tree from a chain. At the first record the chain lacks it stops with
// ErrMissingRecord, naming it; the tree then holds every record before
// it. A size at or below Size() changes nothing.
func (t *Tree) ExtendTo(chain Chain, size uint64) error {
	for t.Size() < size {
		h, ok := chain.HashAt(t.Size())
		if !ok {
			return fmt.Errorf("%w: record #%d", ErrMissingRecord, t.Size())
		}
		t.Append(h)
	}
	return nil
}

// Size is the number of leaves (records) in the tree.
func (t *Tree) Size() uint64 { return uint64(len(t.leaves)) }

// Root is the root of the whole tree; SHA-256("") when it is empty.
func (t *Tree) Root() feedchain.Hash {
	if t.Size() == 0 {
		return emptyRoot()
	}
	h, err := t.rng.GetRootHash(nil)
	if err != nil {
		panic("checkpoint: compact range invariant broken: " + err.Error()) // begins at 0
	}
	return toHash(h)
}

// RootAt is the root of the tree over the first size leaves, the root an
// earlier checkpoint of this epoch committed to.
func (t *Tree) RootAt(size uint64) (feedchain.Hash, error) {
	switch {
	case size > t.Size():
		return feedchain.Hash{}, fmt.Errorf("%w: root at size %d of a tree of %d", ErrOutOfRange, size, t.Size())
	case size == 0:
		return emptyRoot(), nil
	case size == t.Size():
		return t.Root(), nil
	}
	ids := compact.RangeNodes(0, size, nil)
	r, err := rangeFactory.NewRange(0, size, t.nodeHashes(ids))
	if err != nil {
		return feedchain.Hash{}, err
	}
	h, err := r.GetRootHash(nil)
	if err != nil {
		return feedchain.Hash{}, err
	}
	return toHash(h), nil
}

// InclusionProof proves that leaf index is in the tree of the given size
// (index < size ≤ Size()).
func (t *Tree) InclusionProof(index, size uint64) ([]feedchain.Hash, error) {
	if size > t.Size() || index >= size {
		return nil, fmt.Errorf("%w: inclusion of leaf %d in a tree of %d (have %d)", ErrOutOfRange, index, size, t.Size())
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, err
	}
	return t.build(nodes)
}

// ConsistencyProof proves that the tree of size1 is a prefix of the tree of
// size2 (size1 ≤ size2 ≤ Size()). It is empty when size1 is 0 or size2.
func (t *Tree) ConsistencyProof(size1, size2 uint64) ([]feedchain.Hash, error) {
	if size2 > t.Size() || size1 > size2 {
		return nil, fmt.Errorf("%w: consistency of sizes %d and %d (have %d)", ErrOutOfRange, size1, size2, t.Size())
	}
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, err
	}
	return t.build(nodes)
}

// build fetches the node hashes the library says a proof needs and lets it
// fold the ones that make up the proof's ephemeral node.
func (t *Tree) build(nodes proof.Nodes) ([]feedchain.Hash, error) {
	p, err := nodes.Rehash(t.nodeHashes(nodes.IDs), hasher.HashChildren)
	if err != nil {
		return nil, err
	}
	return fromSlices(p), nil
}

// nodeHashes returns the hashes of perfect subtrees that lie within the tree.
func (t *Tree) nodeHashes(ids []compact.NodeID) [][]byte {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		out[i] = t.nodeHash(id)
	}
	return out
}

// nodeHash returns a copy of the hash of the perfect subtree id, which must
// lie within the tree.
func (t *Tree) nodeHash(id compact.NodeID) []byte {
	var h feedchain.Hash
	switch {
	case id.Level == 0:
		h = t.leaves[id.Index]
	case id.Level >= cachedFromLevel:
		h = t.levels[id.Level-cachedFromLevel][id.Index]
	default:
		// Below the cache: a compact range over the node's leaves collapses
		// to the one node.
		begin, end := id.Coverage()
		r := rangeFactory.NewEmptyRange(begin)
		for i := begin; i < end; i++ {
			leaf := t.leaves[i]
			if err := r.Append(leaf[:], nil); err != nil {
				panic("checkpoint: compact range invariant broken: " + err.Error())
			}
		}
		return r.Hashes()[0]
	}
	return h[:]
}

// Root is the root of the tree over the given record hashes, in sequence
// order: the fast path for building a checkpoint when no proofs are needed.
func Root(recordHashes []feedchain.Hash) feedchain.Hash {
	if len(recordHashes) == 0 {
		return emptyRoot()
	}
	r := rangeFactory.NewEmptyRange(0)
	for _, rh := range recordHashes {
		if err := r.Append(leafHash(rh), nil); err != nil {
			panic("checkpoint: compact range invariant broken: " + err.Error())
		}
	}
	h, err := r.GetRootHash(nil)
	if err != nil {
		panic("checkpoint: compact range invariant broken: " + err.Error())
	}
	return toHash(h)
}
