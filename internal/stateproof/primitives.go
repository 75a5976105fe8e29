package stateproof

import (
	"crypto/sha256"
	"crypto/subtle"

	"github.com/ethereum/go-ethereum/crypto"
)

// Every hash of this package, with the label that separates it from every
// other hash of camchain (docs/SPEC.md §3.4).
const (
	// KeyLabel: the trie path of a state key is
	// SHA-256(KeyLabel ‖ key). Hashing makes every path 32 bytes, so no
	// path is a prefix of another and the trie's depth does not depend on
	// the keys that transactions choose.
	KeyLabel = "camchain/v2/state-key"
	// LeafLabel: the value stored in the trie for a state entry is
	// SHA-256(LeafLabel ‖ value). The trie holds 32 bytes per entry, never
	// a second copy of the value; an empty value (the index tables) still
	// has a non-empty leaf, which the trie needs (it reads empty as absent).
	LeafLabel = "camchain/v2/state-leaf"
	// AppHashLabel: the application hash is SHA-256(AppHashLabel ‖ root)
	// where root is the trie's root hash (Keccak-256, the trie's own hash).
	AppHashLabel = "camchain/v2/apphash"
)

// Hash is a SHA-256 or Keccak-256 digest.
type Hash = [32]byte

// TrieKey returns the trie path of a state key.
func TrieKey(key []byte) Hash {
	h := sha256.New()
	h.Write([]byte(KeyLabel))
	h.Write(key)
	var out Hash
	h.Sum(out[:0])
	return out
}

// LeafValue returns what the trie stores for a state value.
func LeafValue(value []byte) []byte {
	h := sha256.New()
	h.Write([]byte(LeafLabel))
	h.Write(value)
	return h.Sum(nil)
}

// AppHash returns the application hash of a trie root.
func AppHash(root Hash) []byte {
	h := sha256.New()
	h.Write([]byte(AppHashLabel))
	h.Write(root[:])
	return h.Sum(nil)
}

// nodeHash is the trie's own node hash, Keccak-256 of the node's RLP
// encoding: a proof node is looked up by it.
func nodeHash(node []byte) Hash { return crypto.Keccak256Hash(node) }

// equal compares digests in constant time. Nothing here is secret; the
// habit costs nothing.
func equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
