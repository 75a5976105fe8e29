package agent

import (
	"context"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/store"
)

// recordSub appends n 20-second sub-stream records to the camera's sub
// chain, as the recorder would with a sub source.
func (c *ledgerCamera) recordSub(sub *store.Chain, n int, start time.Time) {
	c.t.Helper()
	for i := 0; i < n; i++ {
		data := []byte{byte(i), 5, 5}
		r := &feedchain.Record{Version: feedchain.Version2, Camera: c.a.Address(), Segment: feedchain.SegmentHash(data),
			Start: start.Add(time.Duration(i) * 20 * time.Second).UnixNano(), Duration: 20 * time.Second, Size: 3,
			Codec: "hvc1.1.6.L60.90", Stream: feedchain.StreamSub, Clock: feedchain.ClockRTCP}
		if h := sub.Head(); h.Valid {
			r.Prev, r.Seq = h.Hash, h.Seq+1
		}
		if err := r.Sign(c.a.key); err != nil {
			c.t.Fatal(err)
		}
		if err := sub.Append(r, data); err != nil {
			c.t.Fatal(err)
		}
	}
}

// The sub stream's chain is checkpointed like the main one, in its own
// series (SubCheckpoint) on a real ledger: each stream's checkpoints cover
// its own records from 0, the hub lists them per stream, and the camera
// confirms them on the ledger itself.
func TestTheSubStreamIsCheckpointedLikeTheMainOne(t *testing.T) {
	c := newLedgerCamera(t)
	sub, err := c.a.store.StreamChain(store.ChainRef{Camera: c.a.Address(), Epoch: 0, Stream: feedchain.StreamSub})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c.record(6, now.Add(-5*time.Minute))
	c.recordSub(sub, 9, now.Add(-5*time.Minute))
	mainCP := c.checkpointer()
	subCP := &checkpointer{a: c.a, chain: sub, tree: checkpoint.NewTree(), api: c.front.client, evmChainID: c.chain64}
	ctx := context.Background()
	nSub, err := subCP.once(ctx, now)
	if err != nil || nSub == 0 {
		t.Fatalf("sub checkpoints: %d, %v", nSub, err)
	}
	if got := c.onLedger(); got != 0 {
		t.Fatalf("the sub stream's checkpoints count as main's: %d", got)
	}
	nMain, err := mainCP.once(ctx, now)
	if err != nil || nMain == 0 {
		t.Fatalf("main checkpoints: %d, %v", nMain, err)
	}
	subs, err := c.hub.Node().App.StreamCheckpoints(c.a.Address(), 0, feedchain.StreamSub, 0, 50)
	if err != nil || len(subs) != nSub {
		t.Fatalf("the ledger holds %d sub checkpoints (%v), the camera committed %d", len(subs), err, nSub)
	}
	last := subs[len(subs)-1].Msg
	root, _ := subCP.tree.RootAt(last.TreeSize)
	if subs[0].Msg.FirstSeq != 0 || last.LastSeq != 8 || last.Root != root || last.Type() != "SubCheckpoint" {
		t.Fatalf("sub checkpoints do not cover the sub chain's records 0–8 with its tree: last %+v", last)
	}
	d, err := c.direct.Device(ctx, c.a.Address().Hex())
	if err != nil || d.SubCheckpoints == nil || d.SubCheckpoints.Count != uint64(nSub) || d.SubCheckpoints.LastSeq != 8 ||
		d.Checkpoints.Count != uint64(nMain) || d.Checkpoints.LastSeq != 5 {
		t.Fatalf("device view: %+v %+v, %v", d.Checkpoints, d.SubCheckpoints, err)
	}
	// Once committed, nothing more to do for either until new records'
	// periods end.
	if n, err := subCP.once(ctx, now); n != 0 || err != nil {
		t.Fatalf("second round committed %d sub checkpoints, %v", n, err)
	}
}
