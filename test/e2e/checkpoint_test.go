package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The camera commits a checkpoint at the end of each period the owner set;
// the hub then reports the covered recordings as verified and the rest as
// pending. The sub stream's chain gets checkpoints of its own, and its
// clips an evidence bundle of their own.
func TestCheckpointsEveryPeriod(t *testing.T) {
	t.Parallel() // mostly waiting for a period to end
	h := initHub(t)
	h.run(t)
	// The test camera's built-in sample as both streams: the sub stream is
	// its own chain, checkpointed in its own series (SPEC §6.3, §6.5).
	cam := runTestcam(t)
	sample := "rtsp://" + cam.addr + "/sample"
	a := runAgent(t, filepath.Join(t.TempDir(), "agent"), "--source", sample, "--sub-source", sample)
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

	// The sub stream's own checkpoint verifies its own recordings, and its
	// clips make an evidence bundle a stranger verifies offline.
	waitFor(t, 90*time.Second, "a sub-stream checkpoint on the ledger", func() bool {
		d, err := c.Device(context.Background(), camera)
		return err == nil && d.SubCheckpoints != nil && d.SubCheckpoints.Count >= 1
	})
	subCps, err := c.StreamCheckpoints(context.Background(), camera, "sub", -1, 0, 10)
	if err != nil || len(subCps.Items) == 0 {
		t.Fatalf("sub checkpoints: %+v %v", subCps, err)
	}
	sck := subCps.Items[0]
	subRecs, err := c.StreamRecordings(context.Background(), camera, "sub", -1, 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	var subVerified int
	for _, r := range subRecs.Items {
		if r.Stream != "sub" {
			t.Fatalf("sub recording %d is of stream %q", r.Seq, r.Stream)
		}
		if r.Seq <= sck.LastSeq {
			if r.Integrity != "verified" || r.CheckpointHeight != sck.Height {
				t.Fatalf("sub recording %d: integrity %q at %d (sub checkpoint covers 0–%d at %d)", r.Seq, r.Integrity, r.CheckpointHeight, sck.LastSeq, sck.Height)
			}
			subVerified++
		}
	}
	if subVerified != int(sck.LastSeq)+1 || sck.Height == ck.Height && sck.TxHash == ck.TxHash {
		t.Fatalf("%d sub recordings verified by sub checkpoint %+v (main: %+v)", subVerified, sck, ck)
	}
	if rc, _, errs := camchain(append([]string{"login", "--hub", h.url()}, w.flags()...)...); rc != 0 {
		t.Fatalf("login: %s", errs)
	}
	first := subRecs.Items[0]
	last := subRecs.Items[sck.LastSeq]
	lastStart, err := time.Parse(time.RFC3339Nano, last.Start)
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "sub.cbor")
	rc, out, errs := camchain("evidence", "export", "--hub", h.url(), "--camera", camera, "--stream", "sub",
		"--from", first.Start, "--to", lastStart.Add(time.Millisecond).Format(time.RFC3339Nano), "-o", bundle)
	if rc != 0 || !strings.Contains(out, "sub stream") {
		t.Fatalf("evidence export --stream sub: exit %d\n%s%s", rc, out, errs)
	}
	rc, out, errs = camchain("evidence", "verify", bundle, "--genesis", filepath.Join(h.data, "ledger", "config", "genesis.json"))
	if want := fmt.Sprintf("VERIFIED: %d clip(s) of camera ", sck.LastSeq+1); rc != 0 || !strings.Contains(out, want) || !strings.Contains(out, "epoch 0, sub stream") {
		t.Fatalf("evidence verify of the sub bundle: exit %d, want %q\n%s%s", rc, want, out, errs)
	}
}
