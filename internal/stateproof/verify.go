package stateproof

import (
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethdb/memorydb"
	"github.com/ethereum/go-ethereum/trie"
)

// Proof says that, in the ledger state whose trie root is Root, the entry
// Key holds Value (or, with Absent, that there is no such entry). Nodes are
// the trie nodes on Key's path, root first, each the RLP encoding the trie
// hashes. A header's app hash binds Root (AppHash(Root)); the header of
// block H+1 carries the app hash after block H.
type Proof struct {
	Height uint64   `json:"height"` // the block after which the state was read
	Key    []byte   `json:"key"`
	Value  []byte   `json:"value,omitempty"`
	Absent bool     `json:"absent,omitempty"`
	Root   Hash     `json:"root"`
	Nodes  [][]byte `json:"nodes"`
}

// Errors of Verify; callers branch with errors.Is.
var (
	ErrMalformed = errors.New("stateproof: malformed proof")
	ErrAppHash   = errors.New("stateproof: proof root does not match the app hash")
	ErrPath      = errors.New("stateproof: proof nodes do not lead from the root to the key")
	ErrValue     = errors.New("stateproof: the state holds a different value for the key")
)

// Verify checks p against appHash, the app hash of a header the caller has
// already verified (signed by more than two thirds of the validator set's
// voting power, for height p.Height+1). It returns nil only if the state
// that appHash commits to holds exactly p.Value at p.Key (or, with
// p.Absent, nothing at p.Key).
func Verify(appHash []byte, p *Proof) error {
	if p == nil {
		return fmt.Errorf("%w: no proof", ErrMalformed)
	}
	if len(appHash) != 32 {
		return fmt.Errorf("%w: app hash is %d bytes, want 32", ErrMalformed, len(appHash))
	}
	if len(p.Key) == 0 || len(p.Key) > MaxKeySize {
		return fmt.Errorf("%w: key is %d bytes (1 to %d)", ErrMalformed, len(p.Key), MaxKeySize)
	}
	if len(p.Value) > MaxValueSize {
		return fmt.Errorf("%w: value is %d bytes (at most %d)", ErrMalformed, len(p.Value), MaxValueSize)
	}
	if p.Absent && len(p.Value) > 0 {
		return fmt.Errorf("%w: an absence proof carries a value", ErrMalformed)
	}
	if len(p.Nodes) == 0 || len(p.Nodes) > MaxProofNodes {
		return fmt.Errorf("%w: %d nodes (1 to %d)", ErrMalformed, len(p.Nodes), MaxProofNodes)
	}
	for i, n := range p.Nodes {
		if len(n) == 0 || len(n) > MaxNodeSize {
			return fmt.Errorf("%w: node %d is %d bytes (1 to %d)", ErrMalformed, i, len(n), MaxNodeSize)
		}
	}
	if !equal(AppHash(p.Root), appHash) {
		return fmt.Errorf("%w: SHA-256(%q ‖ root %x) = %x, header says %x", ErrAppHash, AppHashLabel, p.Root, AppHash(p.Root), appHash)
	}
	db := memorydb.New()
	for _, n := range p.Nodes {
		h := nodeHash(n)
		if err := db.Put(h[:], n); err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
	}
	path := TrieKey(p.Key)
	leaf, err := trie.VerifyProof(common.Hash(p.Root), path[:], db)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPath, err)
	}
	switch {
	case p.Absent && leaf != nil:
		return fmt.Errorf("%w: key %x is present, the proof claims it absent", ErrValue, p.Key)
	case p.Absent:
		return nil
	case leaf == nil:
		return fmt.Errorf("%w: key %x is absent", ErrValue, p.Key)
	case !equal(leaf, LeafValue(p.Value)):
		return fmt.Errorf("%w: key %x", ErrValue, p.Key)
	}
	return nil
}
