package ledger

import (
	"bytes"
	"fmt"
	"slices"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/camchain/camchain/internal/keys"
)

// Validator is the ledger's record of one validator (docs/SPEC.md §3.6):
// the hub it belongs to, its CometBFT key and its voting power. The table
// mirrors CometBFT's validator set: the genesis set, then every change a
// SetValidator decision made.
type Validator struct {
	_      struct{} `cbor:",toarray"`
	Hub    keys.Address
	PubKey [ed25519.PubKeySize]byte
	Power  uint64
}

// keyValidators holds the whole table, ordered by hub: a small set
// (MaxValidators) read whole by every decision.
var keyValidators = []byte("meta/validators")

// MaxValidators bounds the validator set.
const MaxValidators = MaxGenesisValidators

// readValidators returns the table as r sees it.
func readValidators(r reader) ([]Validator, error) {
	b, err := r.get(keyValidators)
	if err != nil || b == nil {
		return nil, err
	}
	var vs []Validator
	if err := decodeValue(b, &vs); err != nil {
		return nil, err
	}
	return vs, nil
}

func sortValidators(vs []Validator) {
	slices.SortFunc(vs, func(a, b Validator) int { return bytes.Compare(a.Hub[:], b.Hub[:]) })
}

// genesisValidators records which hub each genesis validator belongs to.
// g.Validators must name exactly the validators CometBFT was started with;
// a one-hub genesis without the list maps its one validator to its one hub.
func genesisValidators(st *store, g Genesis, set []abci.ValidatorUpdate) error {
	entries := g.Validators
	if len(entries) == 0 {
		if len(set) != 1 || len(g.Hubs) != 1 {
			// No validator is tied to a hub: the set can never change by
			// a decision (SetValidator needs validators' hubs to vote).
			return nil
		}
		entries = []GenesisValidator{{Hub: g.Hubs[0], PubKey: set[0].PubKeyBytes, Power: set[0].Power}}
	}
	if len(entries) != len(set) {
		return fmt.Errorf("app_state names %d validators, the genesis validator set has %d", len(entries), len(set))
	}
	var vs []Validator
	for _, e := range entries {
		hub, err := keys.ParseAddress(e.Hub)
		if err != nil {
			return err
		}
		if len(e.PubKey) != ed25519.PubKeySize || e.Power <= 0 {
			return fmt.Errorf("validator of hub %s: want a 32-byte ed25519 key and a positive power", hub.Hex())
		}
		found := false
		for _, v := range set {
			found = found || (v.PubKeyType == ed25519.KeyType && bytes.Equal(v.PubKeyBytes, e.PubKey) && v.Power == e.Power)
		}
		if !found {
			return fmt.Errorf("validator of hub %s (key %X, power %d) is not in the genesis validator set", hub.Hex(), e.PubKey, e.Power)
		}
		for _, o := range vs {
			if o.Hub == hub || bytes.Equal(o.PubKey[:], e.PubKey) {
				return fmt.Errorf("hub %s or its validator key is named twice", hub.Hex())
			}
		}
		v := Validator{Hub: hub, Power: uint64(e.Power)}
		copy(v.PubKey[:], e.PubKey)
		vs = append(vs, v)
		st.set(hubKey(hub), []byte{})
	}
	sortValidators(vs)
	st.set(keyValidators, encodeValue(vs))
	return nil
}

// Validators returns the committed validator table, ordered by hub.
func (a *App) Validators() ([]Validator, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return readValidators(committedReader{a.st})
}

// committedReader reads only committed state.
type committedReader struct{ s *store }

func (c committedReader) get(k []byte) ([]byte, error) { return c.s.committed(k) }
