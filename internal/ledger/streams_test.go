package ledger

import (
	"testing"

	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// The sub stream's chain has its own checkpoints (SubCheckpoint): their own
// succession from record 0, independent of the main stream's, with the
// same rules; neither stream's checkpoints move the other's.
func TestSubStreamCheckpointsAreTheirOwnSeries(t *testing.T) {
	h := newHarness(t)
	owner := h.key()
	cam := h.imprint(owner)
	end := uint64(h.now.Unix())
	mainTree, subTree := checkpoint.NewTree(), checkpoint.NewTree()
	for i := 0; i < 20; i++ {
		mainTree.Append(feedchain.Hash{byte(i), 'm'})
		subTree.Append(feedchain.Hash{byte(i), 's'})
	}
	root := func(tr *checkpoint.Tree, size uint64) feedchain.Hash {
		r, err := tr.RootAt(size)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	proof := func(tr *checkpoint.Tree, from, to uint64) []byte {
		p, err := tr.ConsistencyProof(from, to)
		if err != nil {
			t.Fatal(err)
		}
		return checkpoint.EncodeProof(p)
	}
	ck := func(by *keys.PrivateKey, stream feedchain.Stream, start, stop, first, last uint64, r feedchain.Hash, cons []byte) []byte {
		return h.sign(&tx.Checkpoint{Stream: stream, Camera: cam.Address(), PeriodStart: start, PeriodEnd: stop,
			FirstSeq: first, LastSeq: last, TreeSize: last + 1, Root: r, ChainHead: feedchain.Hash{byte(last)},
			Consistency: cons, Nonce: tx.NewNonce(), Expiry: h.expiry()}, by)
	}
	sub, main := feedchain.StreamSub, feedchain.StreamMain
	h.want(CodeOK, ck(cam, main, end-1200, end-600, 0, 9, root(mainTree, 10), nil))
	// The sub stream's first checkpoint starts at 0 with no proof, though
	// main has one already; it cannot continue main's series.
	h.want(CodeInvalid, ck(cam, sub, end-600, end, 10, 19, root(subTree, 20), proof(subTree, 10, 20)))
	h.want(CodeUnauthorized, ck(owner, sub, end-1200, end-600, 0, 4, root(subTree, 5), nil))
	h.want(CodeOK, ck(cam, sub, end-1200, end-600, 0, 4, root(subTree, 5), nil))
	// Each series goes on from its own last checkpoint.
	h.want(CodeInvalid, ck(cam, sub, end-600, end, 5, 19, root(mainTree, 20), proof(mainTree, 5, 20))) // main's tree is not sub's history
	h.want(CodeOK, ck(cam, sub, end-600, end, 5, 19, root(subTree, 20), proof(subTree, 5, 20)))
	h.want(CodeOK, ck(cam, main, end-600, end, 10, 19, root(mainTree, 20), proof(mainTree, 10, 20)))

	d := h.device(cam)
	if d.Checkpoints != 2 || d.LastSeq != 19 || d.LastRoot != root(mainTree, 20) {
		t.Fatalf("main's state moved by the sub stream's: %d checkpoints, last seq %d", d.Checkpoints, d.LastSeq)
	}
	subs, err := h.app.StreamCheckpoints(cam.Address(), 0, sub, 0, 100)
	if err != nil || len(subs) != 2 {
		t.Fatalf("sub checkpoints = %d, %v", len(subs), err)
	}
	if s := subs[1]; s.Msg.Stream != sub || s.Index != 1 || s.PrevTreeLen != 5 || s.Msg.Root != root(subTree, 20) || s.Msg.Type() != tx.TypeSubCheckpoint {
		t.Fatalf("second sub checkpoint = %+v", s)
	}
	mains, err := h.app.StreamCheckpoints(cam.Address(), 0, main, 0, 100)
	if err != nil || len(mains) != 2 || mains[0].Msg.Stream != main || mains[1].Msg.Root != root(mainTree, 20) {
		t.Fatalf("main checkpoints = %+v, %v", mains, err)
	}
	// A new epoch starts the sub stream's series afresh.
	h.want(CodeOK, h.sign(&tx.Reset{Camera: cam.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, cam))
	if subs, _ := h.app.StreamCheckpoints(cam.Address(), 1, sub, 0, 100); len(subs) != 0 {
		t.Fatalf("epoch 1 has %d sub checkpoints", len(subs))
	}
}
