package evidence_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/witness"
)

// The sub stream's clips get a bundle of their own, proved by the sub
// series' checkpoints (SubCheckpoint), named as the sub stream's log; a
// bundle never mixes the two chains, and a main bundle says it is one.
func TestSubStreamBundle(t *testing.T) {
	f := shared(t)
	ctx := context.Background()
	sub := f.cam.Sub()
	if err := sub.Record(3, f.t0, 2*time.Second, 200); err != nil {
		t.Fatal(err)
	}
	// Before its own checkpoint, the sub stream's clips are pending: the
	// main stream's checkpoints (over the same hour) do not cover them.
	if _, err := sub.Export(ctx, f.t0, f.t0.Add(time.Minute)); err == nil || !strings.Contains(err.Error(), "409") || !strings.Contains(err.Error(), "no checkpoint of this epoch") {
		t.Fatalf("sub stream export before its checkpoint: %v (want 409, pending)", err)
	}
	if err := sub.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	data, err := sub.Export(ctx, f.t0, f.t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := evidence.VerifyBytes(data, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	wantOrigin := witness.Origin(rep.LedgerChainID, f.cam.Key.Address(), 0) + "/sub"
	if rep.Stream != "sub" || rep.Origin != wantOrigin || len(rep.Clips) != 3 || len(rep.Checkpoints) != 1 {
		t.Fatalf("sub bundle report: stream %q origin %q, %d clips, %d checkpoints (want sub, %q, 3, 1)", rep.Stream, rep.Origin, len(rep.Clips), len(rep.Checkpoints), wantOrigin)
	}
	for i, c := range rep.Clips {
		if c.SHA256 != hexOf(sub.Records[i].Segment) {
			t.Fatalf("clip %d is not the sub stream's record %d", i, i)
		}
	}
	mainRep, err := evidence.VerifyBytes(f.bundle, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	if mainRep.Stream != "main" || mainRep.Origin != witness.Origin(rep.LedgerChainID, f.cam.Key.Address(), 0) {
		t.Fatalf("main bundle report: stream %q origin %q", mainRep.Stream, mainRep.Origin)
	}

	subB, err := evidence.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	// An attacker presents a sub-stream clip, with its genuine record and
	// proof, as a clip of the main bundle's checkpoint 0: the record is of
	// the other stream.
	swapped := mutate(t, f.bundle, func(b *evidence.Bundle) {
		b.Clips[0].Record, b.Clips[0].Segment, b.Clips[0].Proof = subB.Clips[0].Record, subB.Clips[0].Segment, subB.Clips[0].Proof
	})
	_, err = evidence.VerifyBytes(swapped, f.opts())
	var ce *evidence.ClipError
	if !errors.As(err, &ce) || !errors.Is(err, evidence.ErrRecord) || ce.Index != 0 || !strings.Contains(err.Error(), "sub stream") {
		t.Fatalf("sub clip in a main bundle: %v (want the record kind, clip 0, naming the sub stream)", err)
	}
	// The main bundle's second checkpoint appended to the sub bundle, with
	// a clip it covers (seq 4, after the sub clips' 0..2, so the format
	// allows it): one bundle, one chain.
	mainB, err := evidence.Decode(f.bundle)
	if err != nil {
		t.Fatal(err)
	}
	mixed := mutate(t, data, func(b *evidence.Bundle) {
		for _, c := range mainB.Clips {
			if c.Checkpoint == 1 {
				c.Checkpoint = uint64(len(b.Checkpoints))
				b.Checkpoints = append(b.Checkpoints, mainB.Checkpoints[1])
				b.Clips = append(b.Clips, c)
				return
			}
		}
		t.Fatal("the main bundle has no clip under its second checkpoint")
	})
	_, err = evidence.VerifyBytes(mixed, f.opts())
	var ke *evidence.CheckpointError
	if !errors.As(err, &ke) || !errors.Is(err, evidence.ErrCheckpointTx) || ke.Index != 1 || !strings.Contains(err.Error(), "main stream") {
		t.Fatalf("sub bundle with a main checkpoint: %v (want the checkpoint_tx kind at checkpoint 1, naming the main stream)", err)
	}
	// Nothing of the sub chain was lost to the attempts.
	if _, err := evidence.VerifyBytes(data, f.opts()); err != nil {
		t.Fatal(err)
	}
}

func hexOf(h feedchain.Hash) string { return fmt.Sprintf("%x", h[:]) }
