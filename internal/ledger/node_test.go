package ledger

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	ctypes "github.com/cometbft/cometbft/rpc/core/types"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// startTestNode runs a real single-validator CometBFT node in a temp dir.
func startTestNode(t *testing.T, home string) *Node {
	t.Helper()
	n, err := StartNode(NodeConfig{Home: home})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNodeSubmitCommitRestart(t *testing.T) {
	home := t.TempDir()
	hub, owner, cam := mustKey(t), mustKey(t), mustKey(t)
	if err := InitHome(home, "camchain-99", []keys.Address{hub.Address()}); err != nil {
		t.Fatal(err)
	}
	if err := InitHome(home, "camchain-99", nil); err == nil {
		t.Fatal("InitHome overwrote an existing ledger")
	}
	n := startTestNode(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	sign := func(m tx.Msg, ks ...*keys.PrivateKey) []byte {
		s, err := tx.Sign(99, m, ks...)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := s.Encode()
		return b
	}
	exp := tx.ExpiryIn(time.Minute)
	imprint := sign(&tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Hub: hub.Address(), Nonce: 1, Expiry: exp}, owner, cam)
	res, err := n.Submit(ctx, imprint)
	if err != nil || res.Code != CodeOK || res.Height == 0 {
		t.Fatalf("imprint: %+v, %v", res, err)
	}
	// Refused at CheckTx: no height.
	res, err = n.Submit(ctx, sign(&tx.Reset{Camera: cam.Address(), Nonce: 2, Expiry: exp}, cam)[:10])
	if err != nil || res.Code != CodeEncoding || res.Height != 0 {
		t.Fatalf("garbage: %+v, %v", res, err)
	}
	// Refused by the state's rules at CheckTx: it never reaches a block.
	res, err = n.Submit(ctx, sign(&tx.Reset{Camera: cam.Address(), Nonce: 3, Expiry: exp}, owner))
	if err != nil || res.Code != CodeUnauthorized || res.Height != 0 {
		t.Fatalf("owner-signed reset: %+v, %v", res, err)
	}
	// The committed transaction is in the index, with a proof of inclusion
	// in its block's data hash (from the block's signed header); the same
	// proof against a data hash one bit off fails.
	var r *ctypes.ResultTx
	for i := 0; i < 50; i++ { // the indexer is asynchronous
		if r, err = n.Tx(ctx, feedchain.Hash(sha(imprint)), true); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("committed imprint not found in the tx index: %v", err)
	}
	if r.TxResult.Code != CodeOK || !bytes.Equal(r.Proof.Data, imprint) {
		t.Fatalf("indexed imprint: code %d, proof of %x", r.TxResult.Code, r.Proof.Data)
	}
	sh, _, err := n.SignedHeader(ctx, r.Height)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Proof.Validate(sh.DataHash); err != nil {
		t.Fatalf("tx proof against block %d's data hash: %v", r.Height, err)
	}
	other := bytes.Clone(sh.DataHash)
	other[0] ^= 1
	if err := r.Proof.Validate(other); err == nil {
		t.Fatal("tx proof validated against another data hash")
	}
	height, _ := n.App.Height()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	n = startTestNode(t, home)
	defer n.Close()
	// CometBFT may still commit the empty proof block that follows a block
	// that changed the app hash, so the height can be one more.
	if h, _ := n.App.Height(); h < height || h > height+1 {
		t.Fatalf("height after restart %d, want %d or %d", h, height, height+1)
	}
	d, err := n.App.Device(cam.Address())
	if err != nil || d == nil || d.Owner != owner.Address() {
		t.Fatalf("device after restart: %+v %v", d, err)
	}
	res, err = n.Submit(ctx, imprint)
	if err != nil || res.Code != CodeReplay {
		t.Fatalf("replayed imprint after restart: %+v, %v", res, err)
	}
}

// TestBlockTimeIsFreshAfterIdle: after the chain sat idle, the next block's
// time is the time it was proposed, not the previous commit's (PBTS).
func TestBlockTimeIsFreshAfterIdle(t *testing.T) {
	home := t.TempDir()
	hub := mustKey(t)
	if err := InitHome(home, "camchain-98", []keys.Address{hub.Address()}); err != nil {
		t.Fatal(err)
	}
	n := startTestNode(t, home)
	defer n.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	audit := func() {
		s, _ := tx.Sign(98, &tx.Audit{Hub: hub.Address(), Kind: "hub/test", At: uint64(time.Now().Unix()), Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, hub)
		b, _ := s.Encode()
		if r, err := n.Submit(ctx, b); err != nil || r.Code != CodeOK {
			t.Fatalf("%+v %v", r, err)
		}
	}
	audit()
	time.Sleep(3 * time.Second) // idle
	before := time.Now()
	audit()
	evs, err := n.App.Events(EventFilter{Limit: 1})
	if err != nil || len(evs) != 1 {
		t.Fatal(evs, err)
	}
	if bt := time.Unix(int64(evs[0].Time), 0); bt.Before(before.Add(-time.Second)) {
		t.Fatalf("block time %s is stale (submitted at %s)", bt, before)
	}
}

// Many submissions at once, while blocks execute (CheckTx runs on its own
// ABCI connection, beside FinalizeBlock): every valid transaction commits
// exactly once, and of two imprints of one camera by different owners
// exactly one wins — whichever CheckTx admitted first, the other refused at
// CheckTx or in its block — so the state names one owner per camera.
func TestConcurrentSubmissionsWhileBlocksExecute(t *testing.T) {
	home := t.TempDir()
	hub := mustKey(t)
	if err := InitHome(home, "camchain-99", []keys.Address{hub.Address()}); err != nil {
		t.Fatal(err)
	}
	n := startTestNode(t, home)
	defer n.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const cameras = 150
	type result struct {
		cam, owner keys.Address
		res        Submitted
		err        error
	}
	results := make(chan result, 2*cameras)
	var wg sync.WaitGroup
	for i := 0; i < cameras; i++ {
		cam := mustKey(t)
		for _, owner := range []*keys.PrivateKey{mustKey(t), mustKey(t)} {
			s, err := tx.Sign(99, &tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Hub: hub.Address(),
				Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Hour)}, owner, cam)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := s.Encode()
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := n.Submit(ctx, raw)
				results <- result{cam.Address(), owner.Address(), res, err}
			}()
		}
	}
	wg.Wait()
	close(results)
	won := map[keys.Address]keys.Address{}
	for r := range results {
		if r.err != nil {
			t.Fatalf("submit: %v", r.err)
		}
		switch {
		case r.res.Code == CodeOK && r.res.Height > 0:
			if prev, ok := won[r.cam]; ok {
				t.Fatalf("camera %s imprinted twice: to %s and %s", r.cam.Hex(), prev.Hex(), r.owner.Hex())
			}
			won[r.cam] = r.owner
		case r.res.Code == CodeOK:
			t.Fatalf("admitted without a height: %+v", r.res)
		}
	}
	if len(won) != cameras {
		t.Fatalf("%d of %d cameras imprinted", len(won), cameras)
	}
	for cam, owner := range won {
		d, err := n.App.Device(cam)
		if err != nil || d == nil || d.Owner != owner {
			t.Fatalf("camera %s: %+v %v, want owner %s", cam.Hex(), d, err, owner.Hex())
		}
	}
}

// SubmitAll hands a burst to the mempool in order and then waits: the
// transactions share blocks (a hub's burst of audit events does not take a
// block each), keep their order on the ledger, and each outcome is its own
// — a transaction refused at CheckTx in the middle changes no other's.
func TestSubmitAllSharesBlocksInOrder(t *testing.T) {
	home := t.TempDir()
	hub := mustKey(t)
	if err := InitHome(home, "camchain-97", []keys.Address{hub.Address()}); err != nil {
		t.Fatal(err)
	}
	n := startTestNode(t, home)
	defer n.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const burst = 40
	var raws [][]byte
	for i := range burst {
		s, err := tx.Sign(97, &tx.Audit{Hub: hub.Address(), Kind: "hub/test", Detail: fmt.Sprint(i), At: uint64(time.Now().Unix()),
			Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, hub)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := s.Encode()
		if i == burst/2 {
			b = b[:10] // garbage: refused at CheckTx
		}
		raws = append(raws, b)
	}
	h0, _ := n.App.Height()
	res, errs := n.SubmitAll(ctx, raws)
	h1, _ := n.App.Height()
	for i := range raws {
		switch {
		case errs[i] != nil:
			t.Fatalf("tx %d: %v", i, errs[i])
		case i == burst/2 && (res[i].Code != CodeEncoding || res[i].Height != 0):
			t.Fatalf("garbage tx: %+v", res[i])
		case i != burst/2 && (res[i].Code != CodeOK || res[i].Height == 0):
			t.Fatalf("tx %d: %+v", i, res[i])
		}
	}
	if blocks := h1 - h0; blocks > burst/4 {
		t.Fatalf("%d transactions took %d blocks: the burst did not share blocks", burst-1, blocks)
	}
	evs, err := n.App.Events(EventFilter{Limit: burst})
	if err != nil || len(evs) != burst-1 {
		t.Fatalf("%d events, %v", len(evs), err)
	}
	want := burst - 1 // newest first
	for _, e := range evs {
		if want == burst/2 {
			want--
		}
		if d, _, _ := strings.Cut(e.Detail, " "); d != fmt.Sprint(want) {
			t.Fatalf("event %q where %d was due: the burst's order was not kept", e.Detail, want)
		}
		want--
	}
}
