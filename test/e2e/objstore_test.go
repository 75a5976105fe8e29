package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/store/layout"
	"github.com/camchain/camchain/internal/testutil/s3server"
	"github.com/camchain/camchain/internal/verify"
)

// outage is how long the object store is down in TestRecordingsInBucket:
// 20 s in make test, 3 minutes in make faults (CAMCHAIN_FAULTS=long), or
// $S3_OUTAGE.
func outage(t *testing.T) time.Duration {
	if v := os.Getenv("S3_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("S3_OUTAGE=%q: %v", v, err)
		}
		return d
	}
	if os.Getenv("CAMCHAIN_FAULTS") == "long" {
		return 3 * time.Minute
	}
	return 20 * time.Second
}

// TestRecordingsInBucket, with the real binaries and a real S3 server
// (versitygw) on loopback: a hub keeps its recordings in a bucket alone
// (--recordings s3://…, credentials and endpoint from the environment); a
// camera streams into it; the object store is killed for a while — the hub
// stops acknowledging, the camera keeps recording on its card — and comes
// back: the camera backfills and the bucket holds byte for byte what the
// card holds, nothing lost. `camchain verify s3://…` checks the clips
// straight from the bucket against the ledger's checkpoints. Restarted with
// a short retention, the hub deletes the old segments in the bucket behind
// a pruned mark there, and keeps every record.
func TestRecordingsInBucket(t *testing.T) {
	t.Parallel() // mostly waiting: the outage, a checkpoint period
	srv := s3server.Start(t, "camchain")
	prefix := "home/hub1"
	h := initHub(t)
	h.env = srv.Env()
	h.run(t, "--recordings", srv.URL(prefix))
	agentData := filepath.Join(t.TempDir(), "agent")
	a := runAgent(t, agentData)
	w := newWallet(t)
	camera := pair(t, h, a, w)
	if rc, out, errs := camchain(append([]string{"policy", "--camera", camera, "--period", "1m", "--hub", h.url()}, w.flags()...)...); rc != 0 {
		t.Fatalf("policy: exit %d\n%s%s", rc, out, errs)
	}
	waitFor(t, 60*time.Second, "3 segments on the hub", func() bool { return hubHead(t, h, camera) >= 2 })
	st := a.status(t)
	camHex := strings.ToLower(strings.TrimPrefix(camera, "0x"))
	chain := layout.ObjChainDir(mustAddr(t, camera), st.Epoch, 0)
	objChain := prefix + "/" + chain
	if _, ok := srv.Object(layout.ObjSegName(objChain, 0)); !ok {
		t.Fatalf("segment 0 is not in the bucket at %s", layout.ObjSegName(objChain, 0))
	}
	hubSegs, _ := os.ReadDir(filepath.Join(h.data, "recordings", camHex, layout.EpochDir(st.Epoch, 0), layout.SegDirName))
	if len(hubSegs) != 0 {
		t.Fatalf("recordings in the bucket alone, yet the hub's disk holds %d segment files", len(hubSegs))
	}

	// The object store goes away.
	srv.Stop()
	time.Sleep(3 * time.Second) // an append under way when it died finishes or fails
	held, acked := hubHead(t, h, camera), seqOf(a.status(t).Acked)
	time.Sleep(outage(t))
	if got := hubHead(t, h, camera); got != held {
		t.Fatalf("the hub stored records #%d–#%d while its object store was down", held+1, got)
	}
	during := a.status(t)
	if got := seqOf(during.Acked); got != acked {
		t.Fatalf("the camera got acknowledgements (#%d → #%d) while the hub's object store was down", acked, got)
	}
	if during.Alarms != st.Alarms {
		t.Fatalf("the camera raised %d alarm(s) over an object store outage: it is no divergence", during.Alarms-st.Alarms)
	}
	if seqOf(during.Head) < acked+5 {
		t.Fatalf("the camera did not keep recording during the outage: head %s, acked #%d", during.Head, acked)
	}
	t.Logf("outage of %s: hub held at #%d, camera recorded to %s", outage(t), held, during.Head)

	// Back: the camera backfills everything it buffered.
	srv.Run(t)
	waitFor(t, 90*time.Second, "the camera's backlog acknowledged", func() bool {
		return seqOf(a.status(t).Acked) >= seqOf(during.Head)
	})
	compareCardWithBucket(t, srv, agentData, camHex, st.Epoch, objChain, uint64(seqOf(during.Head)))

	// Verify straight from the bucket once a checkpoint covers the
	// outage.
	c := h.client(t)
	var lastSeq uint64
	waitFor(t, 180*time.Second, "a checkpoint covering the outage", func() bool {
		cps, err := c.Checkpoints(context.Background(), camera, -1, 0, 100)
		if err != nil || len(cps.Items) == 0 {
			return false
		}
		for _, ck := range cps.Items {
			lastSeq = max(lastSeq, ck.LastSeq)
		}
		return lastSeq >= uint64(seqOf(during.Head))
	})
	url := srv.URL(objChain)
	rc, out, errs := camchainEnv(srv.Env(), "verify", "--hub", h.url(), url)
	t.Logf("camchain verify %s: exit %d\n%s%s", url, rc, out, errs)
	for _, bad := range []string{"modified", "missing", "inserted", "truncated", "forged", "out of order", "failed", "pruned-early", os.TempDir()} {
		if strings.Contains(out, bad) {
			t.Fatalf("verify from the bucket says %q:\n%s%s", bad, out, errs)
		}
	}
	if n := strings.Count(out, "✓ verified"); n < int(lastSeq)+1 || !strings.Contains(out, url) {
		t.Fatalf("verify from the bucket: %d verified clips, want at least %d, named by %s:\n%s%s", n, lastSeq+1, url, out, errs)
	}
	// A flipped byte in a segment object: that clip alone is modified.
	segKey := layout.ObjSegName(objChain, 1)
	orig, _ := srv.Object(segKey)
	bad := bytes.Clone(orig)
	bad[len(bad)/2] ^= 1
	os.WriteFile(filepath.Join(srv.Root, srv.Bucket, filepath.FromSlash(segKey)), bad, 0o600)
	rc, out, errs = camchainEnv(srv.Env(), "verify", "--hub", h.url(), url)
	if rc != 1 || !strings.Contains(out, "✗ modified     seq 1 ") || strings.Count(out, "✗") != 1 || !strings.Contains(out, url) {
		t.Fatalf("verify of a bucket with segment 1 altered: exit %d\n%s%s", rc, out, errs)
	}
	os.WriteFile(filepath.Join(srv.Root, srv.Bucket, filepath.FromSlash(segKey)), orig, 0o600)

	// Retention in the bucket: restarted with --retention 30s, the hub's
	// first pass deletes the checkpointed segments older than that.
	h.stop()
	time.Sleep(31 * time.Second)
	h.run(t, "--recordings", srv.URL(prefix), "--retention", "30s")
	var mark uint64
	waitFor(t, 60*time.Second, "a pruned mark in the bucket", func() bool {
		b, ok := srv.Object(objChain + "/" + layout.PrunedName)
		if !ok {
			return false
		}
		n, err := layout.DecodePruned(b)
		mark = n
		return err == nil && n > 0
	})
	// The mark goes first, then the deletions one by one.
	waitFor(t, 30*time.Second, "the segments below the pruned mark deleted from the bucket", func() bool {
		for seq := range mark {
			if _, ok := srv.Object(layout.ObjSegName(objChain, seq)); ok {
				return false
			}
		}
		return true
	})
	for seq := range mark {
		if _, ok := srv.Object(layout.ObjRecName(objChain, seq)); !ok {
			t.Fatalf("record %d is gone from the bucket: retention deletes segments, never records", seq)
		}
	}
	if _, ok := srv.Object(layout.ObjSegName(objChain, mark)); !ok {
		t.Fatalf("segment %d at the pruned mark is gone", mark)
	}
	t.Logf("retention pruned segments below #%d in the bucket", mark)
}

// compareCardWithBucket checks that for every seq up to last the bucket
// holds the card's record (as a records.log entry) and segment, byte for
// byte.
func compareCardWithBucket(t *testing.T, srv *s3server.Server, agentData, camHex string, epoch uint64, objChain string, last uint64) {
	t.Helper()
	chainDir := filepath.Join(agentData, "store", camHex, layout.EpochDir(epoch, 0))
	l, err := verify.ReadLogFile(filepath.Join(chainDir, layout.LogName))
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(l.Records)) <= last {
		t.Fatalf("the card holds %d records, want more than %d", len(l.Records), last)
	}
	for seq := uint64(0); seq <= last; seq++ {
		r := l.Records[seq]
		rec, ok := srv.Object(layout.ObjRecName(objChain, seq))
		if !ok || !bytes.Equal(rec, layout.AppendEntry(nil, r.Marshal())) {
			t.Fatalf("record #%d: the bucket's differs from the card's (present %v)", seq, ok)
		}
		seg, ok := srv.Object(layout.ObjSegName(objChain, seq))
		card, err := os.ReadFile(filepath.Join(chainDir, layout.SegDirName, layout.SegName(seq)))
		if err != nil || !ok || !bytes.Equal(seg, card) {
			t.Fatalf("segment #%d: the bucket's differs from the card's (in bucket %v, card %v)", seq, ok, err)
		}
	}
	t.Logf("card and bucket agree on records and segments #0–#%d", last)
}
