package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The camera commits a checkpoint at the end of each period the owner set;
// the hub then reports the covered recordings as verified and the rest as
// pending.
func TestCheckpointsEveryPeriod(t *testing.T) {
	t.Parallel() // mostly waiting for a period to end
	h := initHub(t)
	h.run(t)
	a := runAgent(t, filepath.Join(t.TempDir(), "agent"))
	w := newWallet(t)
	camera := pair(t, h, a, w)
	rc, _, errs := camchain(append([]string{"policy", "--camera", camera, "--period", "1m", "--hub", h.url()}, w.flags()...)...)
	if rc != 0 {
		t.Fatalf("policy: %s", errs)
	}
	c := h.client(t)
	waitFor(t, 150*time.Second, "a checkpoint on the ledger", func() bool {
		d, err := c.Device(context.Background(), camera)
		return err == nil && d.Checkpoints.Count >= 1
	})
	cps, err := c.Checkpoints(context.Background(), camera, -1, 0, 10)
	if err != nil || len(cps.Items) == 0 {
		t.Fatalf("checkpoints: %+v %v", cps, err)
	}
	ck := cps.Items[0]
	if ck.FirstSeq != 0 || ck.TreeSize != ck.LastSeq+1 {
		t.Fatalf("first checkpoint: %+v", ck)
	}
	start, _ := time.Parse(time.RFC3339, ck.PeriodStart)
	end, _ := time.Parse(time.RFC3339, ck.PeriodEnd)
	if end.Sub(start) > time.Minute || end.Unix()%60 != 0 {
		t.Fatalf("period %s – %s is not within one aligned minute", ck.PeriodStart, ck.PeriodEnd)
	}
	recs, err := c.Recordings(context.Background(), camera, -1, 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	var verified, pending int
	for _, r := range recs.Items {
		switch {
		case r.Seq <= ck.LastSeq && r.Integrity == "verified" && r.CheckpointHeight == ck.Height:
			verified++
		case r.Seq > ck.LastSeq && r.Integrity == "pending":
			pending++
		default:
			t.Fatalf("recording %d: integrity %q (checkpoint covers 0–%d)", r.Seq, r.Integrity, ck.LastSeq)
		}
	}
	if verified != int(ck.LastSeq)+1 {
		t.Fatalf("%d verified recordings, want %d", verified, ck.LastSeq+1)
	}
	// The camera looks its checkpoint up on the ledger itself.
	waitFor(t, 30*time.Second, "the agent to confirm its checkpoint on the ledger", func() bool {
		return strings.Contains(a.output(), "checkpoint confirmed on the ledger")
	})
}
