package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/camchain/camchain/internal/tx"
)

func TestAppHashCommitsToState(t *testing.T) {
	h := newHarness(t)
	genesis := h.app.AppHash()
	if len(genesis) != 32 {
		t.Fatalf("genesis app hash is %d bytes", len(genesis))
	}
	h.block()
	h.block()
	if !bytes.Equal(h.app.AppHash(), genesis) {
		t.Fatal("app hash moved on empty blocks (the chain would spin with create_empty_blocks=false)")
	}
	owner := h.key()
	h.imprint(owner)
	after := h.app.AppHash()
	if bytes.Equal(after, genesis) {
		t.Fatal("app hash did not change when state changed")
	}
	// A block whose only transaction is malformed changes nothing.
	h.block([]byte("garbage"))
	if !bytes.Equal(h.app.AppHash(), after) {
		t.Fatal("app hash moved on a block that changed nothing")
	}
}

// Two nodes fed the same blocks agree; fed different blocks they disagree.
func TestAppHashDeterministic(t *testing.T) {
	a := newHarness(t)
	b2 := &harness{t: t, db: dbm.NewMemDB(), now: a.now, hubs: a.hubs}
	b2.open()
	g, _ := json.Marshal(Genesis{Hubs: []string{a.hubs[0].Address().Hex(), a.hubs[1].Address().Hex()}})
	if _, err := b2.app.InitChain(context.Background(), &abci.InitChainRequest{ChainId: testChain, AppStateBytes: g}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.app.AppHash(), b2.app.AppHash()) {
		t.Fatal("same genesis, different app hashes")
	}
	owner, cam := a.key(), a.key()
	raw := a.sign(&tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Hub: a.hubs[0].Address(), Nonce: 1, Expiry: a.expiry()}, owner, cam)
	a.block(raw)
	b2.block(raw)
	if !bytes.Equal(a.app.AppHash(), b2.app.AppHash()) {
		t.Fatal("same blocks, different app hashes")
	}
	a.block(a.sign(&tx.Reset{Camera: cam.Address(), Nonce: 2, Expiry: a.expiry()}, cam))
	b2.block()
	if bytes.Equal(a.app.AppHash(), b2.app.AppHash()) {
		t.Fatal("different states, same app hash")
	}
}

func TestRestartResumesFromLastCommit(t *testing.T) {
	h := newHarness(t)
	owner := h.key()
	cam := h.imprint(owner)
	height, hash := h.app.height, h.app.AppHash()

	// A block finalized but never committed (a crash between the two) must
	// leave no trace: CometBFT will replay it.
	h.height++
	if _, err := h.app.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{Height: h.height, Time: h.now,
		Txs: [][]byte{h.sign(&tx.Reset{Camera: cam.Address(), Nonce: 9, Expiry: h.expiry()}, cam)}}); err != nil {
		t.Fatal(err)
	}
	h.open() // a new process on the same database
	info, err := h.app.Info(context.Background(), &abci.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.LastBlockHeight != int64(height) || !bytes.Equal(info.LastBlockAppHash, hash) {
		t.Fatalf("Info = height %d hash %x, want %d %x", info.LastBlockHeight, info.LastBlockAppHash, height, hash)
	}
	if d := h.device(cam); d == nil || d.Owner != owner.Address() || d.Epoch != 0 {
		t.Fatalf("after restart the uncommitted reset is visible or the imprint lost: %+v", d)
	}
	// Replaying the block now applies it.
	h.height--
	h.block(h.sign(&tx.Reset{Camera: cam.Address(), Nonce: 9, Expiry: h.expiry()}, cam))
	if d := h.device(cam); d.Epoch != 1 {
		t.Fatalf("replayed reset not applied: %+v", d)
	}
	if _, err := NewApp(Config{LedgerChainID: "camchain-7", DB: h.db}); err == nil {
		t.Fatal("opened a ledger database under another chain id")
	}
}

func TestCheckTx(t *testing.T) {
	h := newHarness(t)
	owner := h.key()
	cam := h.imprint(owner)
	check := func(raw []byte) uint32 {
		r, err := h.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: raw})
		if err != nil {
			t.Fatal(err)
		}
		return r.Code
	}
	now := uint64(time.Now().Unix())
	g := func(chain, nonce, expiry uint64) []byte {
		return h.signFor(chain, &tx.Grant{Camera: cam.Address(), Viewer: h.key().Address(), Nonce: nonce, Expiry: expiry}, owner)
	}
	if c := check(g(testChainID, 5, now+60)); c != CodeOK {
		t.Fatalf("good tx: %s", CodeName(c))
	}
	for _, tc := range []struct {
		name string
		raw  []byte
		want uint32
	}{
		{"wrong chain", g(1, 6, now+60), CodeWrongChain},
		{"expired", g(testChainID, 7, now-1), CodeExpired},
		{"too far", g(testChainID, 8, now+2*uint64(tx.MaxTTL.Seconds())), CodeExpiryTooFar},
		{"garbage", []byte{0x85}, CodeEncoding},
	} {
		if c := check(tc.raw); c != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, CodeName(c), CodeName(tc.want))
		}
	}
	// Once committed, the nonce is refused at the mempool too.
	raw := g(testChainID, 11, now+60)
	h.block(raw)
	if c := check(raw); c != CodeReplay {
		t.Fatalf("committed nonce in CheckTx: %s, want replay", CodeName(c))
	}
}

func TestExpiredNoncesAreForgotten(t *testing.T) {
	h := newHarness(t)
	owner := h.key()
	cam := h.imprint(owner)
	expiry := uint64(h.now.Unix()) + 5
	h.block(h.sign(&tx.SetPolicy{Camera: cam.Address(), CheckpointPeriod: 600, Nonce: 77, Expiry: expiry}, owner))
	if v, _ := h.app.st.committed(nonceKey(owner.Address(), 77)); v == nil {
		t.Fatal("nonce not recorded")
	}
	h.now = h.now.Add(10 * time.Second)
	h.block() // empty blocks prune nothing: their app hash must not move
	if v, _ := h.app.st.committed(nonceKey(owner.Address(), 77)); v == nil {
		t.Fatal("an empty block pruned state")
	}
	h.block(h.sign(&tx.SetPolicy{Camera: cam.Address(), CheckpointPeriod: 900, Nonce: 78, Expiry: h.expiry()}, owner))
	if v, _ := h.app.st.committed(nonceKey(owner.Address(), 77)); v != nil {
		t.Fatal("expired nonce still stored")
	}
	// Forgetting it is safe: the old transaction is expired.
	h.want(CodeExpired, h.sign(&tx.SetPolicy{Camera: cam.Address(), CheckpointPeriod: 600, Nonce: 77, Expiry: expiry}, owner))
}

func (h *harness) check(raw []byte) *abci.CheckTxResponse {
	h.t.Helper()
	r, err := h.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: raw, Type: abci.CHECK_TX_TYPE_CHECK})
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// CheckTx runs the state's rules against the check state (committed state
// plus what the mempool already holds): what the state refuses never enters
// a block, spends no nonce, and writes nothing (issue 8, finding 2).
func TestCheckTxRunsTheStateRules(t *testing.T) {
	h := newHarness(t)
	owner, stranger := h.key(), h.key()
	cam := h.imprint(owner)
	hashBefore := h.app.AppHash()

	// A well-signed grant by a stranger for a camera it does not own.
	junk := h.sign(&tx.Grant{Camera: cam.Address(), Viewer: h.key().Address(), Nonce: 5, Expiry: h.expiry()}, stranger)
	if r := h.check(junk); r.Code != CodeUnauthorized {
		t.Fatalf("junk grant at CheckTx: %s %s", CodeName(r.Code), r.Log)
	}
	// A reset by the owner, an imprint of an owned camera: refused too.
	if r := h.check(h.sign(&tx.Reset{Camera: cam.Address(), Nonce: 6, Expiry: h.expiry()}, owner)); r.Code != CodeUnauthorized {
		t.Fatalf("owner reset at CheckTx: %s", CodeName(r.Code))
	}
	if r := h.check(h.sign(&tx.Imprint{Camera: cam.Address(), Owner: stranger.Address(), Hub: h.hubs[0].Address(), Nonce: 7, Expiry: h.expiry()}, stranger, cam)); r.Code != CodeConflict {
		t.Fatalf("imprint of an owned camera at CheckTx: %s", CodeName(r.Code))
	}
	// The check state sees what the mempool holds: a second camera's
	// imprint, then a grant on it, both admitted before any block; a
	// second use of one nonce is refused before it reaches a block.
	cam2 := h.key()
	imp := h.sign(&tx.Imprint{Camera: cam2.Address(), Owner: owner.Address(), Hub: h.hubs[0].Address(), Nonce: 8, Expiry: h.expiry()}, owner, cam2)
	if r := h.check(imp); r.Code != CodeOK {
		t.Fatalf("imprint: %s %s", CodeName(r.Code), r.Log)
	}
	g := h.sign(&tx.Grant{Camera: cam2.Address(), Viewer: h.key().Address(), Nonce: 9, Expiry: h.expiry()}, owner)
	if r := h.check(g); r.Code != CodeOK {
		t.Fatalf("grant on a camera imprinted in the mempool: %s %s", CodeName(r.Code), r.Log)
	}
	if r := h.check(h.sign(&tx.Grant{Camera: cam2.Address(), Viewer: h.key().Address(), Nonce: 9, Expiry: h.expiry()}, owner)); r.Code != CodeReplay {
		t.Fatalf("nonce used twice in the mempool: %s", CodeName(r.Code))
	}
	if !bytes.Equal(h.app.AppHash(), hashBefore) {
		t.Fatal("CheckTx changed the committed state")
	}
	// A commit restarts the check state from the committed one: the
	// mempool's imprint, never committed, is gone from it.
	h.block()
	if r := h.check(g); r.Code != CodeNotFound {
		t.Fatalf("grant after a commit without its imprint: %s %s", CodeName(r.Code), r.Log)
	}
	// The junk spent no nonce: once the stranger owns the camera (here
	// by a reset and an imprint), the same signed grant could land — the
	// window SPEC §2.4 bounds with the expiry, at most tx.MaxTTL.
	h.want(CodeOK, h.sign(&tx.Reset{Camera: cam.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, cam))
	h.want(CodeOK, h.sign(&tx.Imprint{Camera: cam.Address(), Owner: stranger.Address(), Hub: h.hubs[0].Address(), Epoch: 1, Nonce: tx.NewNonce(), Expiry: h.expiry()}, stranger, cam))
	if r := h.check(junk); r.Code != CodeWrongEpoch {
		t.Fatalf("the old grant names epoch 0: %s", CodeName(r.Code))
	}
	// In a block a refused transaction still spends its nonce.
	h.want(CodeUnauthorized, h.sign(&tx.Grant{Camera: cam.Address(), Epoch: 1, Viewer: h.key().Address(), Nonce: 10, Expiry: h.expiry()}, owner))
	if r := h.check(h.sign(&tx.Grant{Camera: cam.Address(), Epoch: 1, Viewer: h.key().Address(), Nonce: 10, Expiry: h.expiry()}, owner)); r.Code != CodeReplay {
		t.Fatalf("nonce of a transaction refused in a block: %s", CodeName(r.Code))
	}
}
