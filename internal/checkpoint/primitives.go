package checkpoint

import (
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/camchain/camchain/internal/feedchain"
)

// Every hash this package computes goes through hasher, the library's
// RFC 6962 SHA-256 hasher:
//
//	HashLeaf(d)        = SHA-256(0x00 ‖ d)
//	HashChildren(l, r) = SHA-256(0x01 ‖ l ‖ r)
//	EmptyRoot()        = SHA-256("")
//
// and every multi-node computation (subtree and root hashes) goes through
// compact ranges built by rangeFactory with the same hasher, or through the
// library's proof package. Nothing here combines hashes by hand.
var (
	hasher       = rfc6962.DefaultHasher
	rangeFactory = &compact.RangeFactory{Hash: hasher.HashChildren}
)

// leafHash is the leaf hash of a record: HashLeaf(RecordHash).
func leafHash(recordHash feedchain.Hash) []byte { return hasher.HashLeaf(recordHash[:]) }

// emptyRoot is the root of the tree of size 0.
func emptyRoot() feedchain.Hash { return toHash(hasher.EmptyRoot()) }

// toHash copies a hash the library returned (always HashSize bytes).
func toHash(b []byte) feedchain.Hash {
	var h feedchain.Hash
	copy(h[:], b)
	return h
}

// toSlices presents proof hashes the way the library takes them. The slices
// alias p; the library does not write to them.
func toSlices(p []feedchain.Hash) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = p[i][:]
	}
	return out
}

// fromSlices copies proof hashes the library returned.
func fromSlices(p [][]byte) []feedchain.Hash {
	out := make([]feedchain.Hash, len(p))
	for i, b := range p {
		out[i] = toHash(b)
	}
	return out
}
