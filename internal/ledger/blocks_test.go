package ledger

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// The block-level reads an evidence bundle is made of: a committed block,
// final once the next one carries its commit, signed by the validator set
// its header names, its results hashed into the next header.
func TestNodeBlockReads(t *testing.T) {
	home := t.TempDir()
	hub, owner, cam := mustKey(t), mustKey(t), mustKey(t)
	if err := InitHome(home, "camchain-99", []keys.Address{hub.Address()}); err != nil {
		t.Fatal(err)
	}
	n := startTestNode(t, home)
	defer n.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if got := n.LedgerChainID(); got != "camchain-99" {
		t.Fatalf("chain id %q", got)
	}
	s, _ := tx.Sign(99, &tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Hub: hub.Address(), Nonce: 1, Expiry: tx.ExpiryIn(time.Minute)}, owner, cam)
	raw, _ := s.Encode()
	res, err := n.Submit(ctx, raw)
	if err != nil || res.Code != CodeOK {
		t.Fatalf("imprint: %+v %v", res, err)
	}
	h := int64(res.Height)
	if err := n.WaitForHeight(ctx, res.Height+1); err != nil { // the proof block follows a block that changed the app hash
		t.Fatal(err)
	}
	sh, canonical, err := n.SignedHeader(ctx, h)
	if err != nil || !canonical || sh.Height != h || sh.ValidateBasic("camchain-99") != nil {
		t.Fatalf("block %d: canonical %v, %v", h, canonical, err)
	}
	next, _, err := n.SignedHeader(ctx, h+1)
	if err != nil || !bytes.Equal(next.LastCommitHash, sh.Commit.Hash()) || !next.LastBlockID.Equals(sh.Commit.BlockID) {
		t.Fatalf("block %d does not follow %d: %v", h+1, h, err)
	}
	vals, err := n.Validators(ctx, h)
	if err != nil || vals.Size() != 1 || !bytes.Equal(vals.Hash(), sh.ValidatorsHash) {
		t.Fatalf("validators: %v %v", vals, err)
	}
	if err := types.VerifyCommit("camchain-99", vals, sh.Commit.BlockID, h, sh.Commit); err != nil {
		t.Fatal(err)
	}
	results, err := n.BlockResults(ctx, h)
	if err != nil || len(results) != 1 || results[0].Code != CodeOK || !bytes.Equal(types.NewResults(results).Hash(), next.LastResultsHash) {
		t.Fatalf("results: %v %v", results, err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer wcancel()
	if err := n.WaitForHeight(wctx, res.Height+100); err == nil {
		t.Fatal("WaitForHeight returned for a block that does not exist")
	}
}
