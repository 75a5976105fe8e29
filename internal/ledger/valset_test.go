package ledger

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// valHarness is an App whose genesis has n validators of power 10, each
// tied to its own hub (vals[i]), and one registered hub that is no
// validator (other).
type valHarness struct {
	*harness
	vals  []*keys.PrivateKey
	keys  [][32]byte
	other *keys.PrivateKey
}

func newValHarness(t *testing.T, n int) *valHarness {
	t.Helper()
	h := &valHarness{harness: &harness{t: t, now: time.Now().Truncate(time.Second)}}
	h.db = dbm.NewMemDB()
	h.open()
	h.other = h.key()
	g := Genesis{Hubs: []string{h.other.Address().Hex()}}
	var set []abci.ValidatorUpdate
	for range n {
		k := h.key()
		pub := ed25519.GenPrivKey().PubKey().Bytes()
		var pk [32]byte
		copy(pk[:], pub)
		h.vals, h.keys = append(h.vals, k), append(h.keys, pk)
		g.Hubs = append(g.Hubs, k.Address().Hex())
		g.Validators = append(g.Validators, GenesisValidator{Hub: k.Address().Hex(), PubKey: pub, Power: 10})
		set = append(set, abci.ValidatorUpdate{PubKeyType: ed25519.KeyType, PubKeyBytes: pub, Power: 10})
	}
	h.hubs = h.vals
	b, _ := json.Marshal(g)
	if _, err := h.app.InitChain(context.Background(), &abci.InitChainRequest{ChainId: testChain, AppStateBytes: b, Validators: set}); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *valHarness) vote(by *keys.PrivateKey, hub keys.Address, key [32]byte, power, epoch uint64) []byte {
	return h.sign(&tx.SetValidator{Hub: hub, ValidatorKey: key, Power: power, SetEpoch: epoch, Nonce: tx.NewNonce(), Expiry: h.expiry()}, by)
}

// blockWith finalizes and commits one block and returns the results and
// the validator updates it handed CometBFT.
func (h *valHarness) blockWith(txs ...[]byte) ([]*abci.ExecTxResult, []abci.ValidatorUpdate) {
	h.t.Helper()
	h.height++
	h.now = h.now.Add(time.Second)
	res, err := h.app.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{Txs: txs, Height: h.height, Time: h.now})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.app.Commit(context.Background(), &abci.CommitRequest{}); err != nil {
		h.t.Fatal(err)
	}
	return res.TxResults, res.ValidatorUpdates
}

// cast submits one vote in its own block: its code and the updates.
func (h *valHarness) cast(code uint32, raw []byte) []abci.ValidatorUpdate {
	h.t.Helper()
	res, up := h.blockWith(raw)
	if res[0].Code != code {
		h.t.Fatalf("vote: code %s (%s), want %s", CodeName(res[0].Code), res[0].Log, CodeName(code))
	}
	return up
}

func (h *valHarness) set() ValidatorSet {
	h.t.Helper()
	vs, err := h.app.ValidatorSet()
	if err != nil {
		h.t.Fatal(err)
	}
	return vs
}

func newValKey() [32]byte {
	var k [32]byte
	copy(k[:], ed25519.GenPrivKey().PubKey().Bytes())
	return k
}

// A new hub becomes a validator once validators holding more than two
// thirds of the power voted for it, not before; the change reaches
// CometBFT as one ValidatorUpdate in that block; every other open
// proposal and every vote of the old set is void afterwards; a removal
// works the same way.
func TestValidatorSetChange(t *testing.T) {
	h := newValHarness(t, 4) // 40 power: a change needs more than 26.67
	newHub, newKey := h.key(), newValKey()

	// A proposal of another change stays open, and dies with the change.
	if up := h.cast(CodeOK, h.vote(h.vals[3], h.vals[0].Address(), h.keys[0], 20, 0)); up != nil {
		t.Fatalf("one vote of four changed the set: %v", up)
	}
	for i := range 2 {
		if up := h.cast(CodeOK, h.vote(h.vals[i], newHub.Address(), newKey, 10, 0)); up != nil {
			t.Fatalf("%d votes (%d of 40) changed the set: %v", i+1, 10*(i+1), up)
		}
	}
	vs := h.set()
	if len(vs.Validators) != 4 || vs.Epoch != 0 || len(vs.Proposals) != 2 {
		t.Fatalf("before the threshold: %+v", vs)
	}
	if ok, _ := h.app.IsHub(newHub.Address()); ok {
		t.Fatal("the proposed hub is registered before the change applied")
	}
	up := h.cast(CodeOK, h.vote(h.vals[2], newHub.Address(), newKey, 10, 0))
	if len(up) != 1 || up[0].Power != 10 || string(up[0].PubKeyBytes) != string(newKey[:]) || up[0].PubKeyType != ed25519.KeyType {
		t.Fatalf("third vote (30 of 40): updates %+v, want the new key at power 10", up)
	}
	vs = h.set()
	if len(vs.Validators) != 5 || vs.Epoch != 1 || len(vs.Proposals) != 0 {
		t.Fatalf("after the change: %+v", vs)
	}
	if ok, _ := h.app.IsHub(newHub.Address()); !ok {
		t.Fatal("the new validator's hub is not registered")
	}
	// Votes of the old epoch are void; the old proposal is gone.
	h.cast(CodeWrongEpoch, h.vote(h.vals[0], h.vals[0].Address(), h.keys[0], 20, 0))
	h.cast(CodeWrongEpoch, h.vote(h.vals[3], newHub.Address(), newKey, 10, 0))

	// Removal of an original validator: 5 validators, 50 power, needs 40.
	rm := func(by int) []abci.ValidatorUpdate {
		return h.cast(CodeOK, h.vote(h.vals[by], h.vals[3].Address(), h.keys[3], 0, 1))
	}
	for i := range 3 {
		if up := rm(i); up != nil {
			t.Fatalf("removal with %d of 50: %v", 10*(i+1), up)
		}
	}
	up = h.cast(CodeOK, h.vote(newHub, h.vals[3].Address(), h.keys[3], 0, 1)) // the new validator votes too
	if len(up) != 1 || up[0].Power != 0 || string(up[0].PubKeyBytes) != string(h.keys[3][:]) {
		t.Fatalf("fourth vote (40 of 50): updates %+v, want hub 3's key at power 0", up)
	}
	vs = h.set()
	if len(vs.Validators) != 4 || vs.Epoch != 2 || findValidator(vs.Validators, h.vals[3].Address()) >= 0 {
		t.Fatalf("after the removal: %+v", vs)
	}
	// The removed validator's hub votes no more.
	h.cast(CodeUnauthorized, h.vote(h.vals[3], h.vals[3].Address(), h.keys[3], 10, 2))

	var votes, sets int
	events, err := h.app.Events(EventFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		switch e.Kind {
		case audit.ValidatorVote:
			votes++
		case audit.ValidatorSet:
			sets++
		}
	}
	if votes != 8 || sets != 2 {
		t.Fatalf("audit log: %d votes and %d changes, want 8 and 2", votes, sets)
	}
}

// Exactly two thirds is not more than two thirds.
func TestValidatorSetTwoThirdsIsNotEnough(t *testing.T) {
	h := newValHarness(t, 3)
	k := newValKey()
	n := h.key().Address()
	for i := range 2 {
		if up := h.cast(CodeOK, h.vote(h.vals[i], n, k, 10, 0)); up != nil {
			t.Fatalf("%d of 30 changed the set", 10*(i+1))
		}
	}
	if up := h.cast(CodeOK, h.vote(h.vals[2], n, k, 10, 0)); len(up) != 1 {
		t.Fatalf("30 of 30: %v", up)
	}
}

// What no validator, and no validator alone, can do.
func TestValidatorSetRefusals(t *testing.T) {
	h := newValHarness(t, 4)
	newHub, newKey := h.key().Address(), newValKey()
	stranger := h.key()
	cases := []struct {
		name string
		code uint32
		raw  []byte
	}{
		{"a registered hub that is no validator", CodeUnauthorized, h.vote(h.other, newHub, newKey, 10, 0)},
		{"a stranger", CodeUnauthorized, h.vote(stranger, newHub, newKey, 10, 0)},
		{"a future set epoch", CodeWrongEpoch, h.vote(h.vals[0], newHub, newKey, 10, 1)},
		{"zero hub", CodeInvalid, h.vote(h.vals[0], keys.Address{}, newKey, 10, 0)},
		{"zero key", CodeInvalid, h.vote(h.vals[0], newHub, [32]byte{}, 10, 0)},
		{"power over the limit", CodeInvalid, h.vote(h.vals[0], newHub, newKey, tx.MaxValidatorPower+1, 0)},
		{"remove a hub that is no validator", CodeNotFound, h.vote(h.vals[0], newHub, newKey, 0, 0)},
		{"remove with another key", CodeNotFound, h.vote(h.vals[0], h.vals[1].Address(), newKey, 0, 0)},
		{"another hub's validator key", CodeConflict, h.vote(h.vals[0], newHub, h.keys[1], 10, 0)},
		{"a new key for a validator's hub", CodeConflict, h.vote(h.vals[0], h.vals[1].Address(), newKey, 10, 0)},
		{"the power it has", CodeConflict, h.vote(h.vals[0], h.vals[1].Address(), h.keys[1], 10, 0)},
	}
	for _, c := range cases {
		// CheckTx refuses it, so it never reaches a block...
		r, err := h.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: c.raw})
		if err != nil || r.Code != c.code {
			t.Errorf("%s: CheckTx %s (%s) %v, want %s", c.name, CodeName(r.Code), r.Log, err, CodeName(c.code))
		}
		// ...and a block that carries it anyway refuses it too.
		res, up := h.blockWith(c.raw)
		if res[0].Code != c.code || up != nil {
			t.Errorf("%s: block %s (%s) updates %v, want %s", c.name, CodeName(res[0].Code), res[0].Log, up, CodeName(c.code))
		}
	}
	// One validator's votes: one each, at most MaxOpenVotes open.
	h.cast(CodeOK, h.vote(h.vals[0], newHub, newKey, 10, 0))
	h.cast(CodeConflict, h.vote(h.vals[0], newHub, newKey, 10, 0))
	for p := uint64(1); p < MaxOpenVotes; p++ {
		h.cast(CodeOK, h.vote(h.vals[0], newHub, newKey, 10+p, 0))
	}
	h.cast(CodeConflict, h.vote(h.vals[0], newHub, newKey, 99, 0))
	// A proposal lapses ProposalTTL after its first vote: the minority's
	// votes never add up with later ones.
	h.now = h.now.Add(ProposalTTL * time.Second)
	h.cast(CodeOK, h.vote(h.vals[1], newHub, newKey, 10, 0))
	h.cast(CodeOK, h.vote(h.vals[2], newHub, newKey, 10, 0))
	vs := h.set()
	if len(vs.Validators) != 4 || len(vs.Proposals) != 1 || len(vs.Proposals[0].Voters) != 2 {
		t.Fatalf("after the lapse: %+v", vs)
	}
	// The last validator cannot be removed, even by everyone.
	one := newValHarness(t, 1)
	one.cast(CodeConflict, one.vote(one.vals[0], one.vals[0].Address(), one.keys[0], 0, 0))
}
