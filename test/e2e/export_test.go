package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
)

// TestRetentionExportVerify, with the real binaries: the owner sets a
// retention policy on the ledger; once a checkpoint covers the first
// recordings, `camchain export` writes an MP4 of them that ffmpeg decodes
// whole and `camchain verify clip.mp4` proves offline against the ledger's
// genesis; one flipped byte fails exactly the segment holding it, named by
// its seconds. Then the hub's disk is "nearly full" (--min-free above what
// the disk has): the hub deletes its checkpointed recordings as soon as it
// stores the next segment, with a hub/emergency-prune event on the
// ledger, `camchain verify` of the hub's copy calls those clips
// emergency-deleted (never pruned) and fails, and the export made before
// still verifies.
func TestRetentionExportVerify(t *testing.T) {
	t.Parallel() // mostly waiting for a checkpoint period to end
	h := initHub(t)
	h.run(t)
	cam := runTestcam(t)
	a := runAgent(t, filepath.Join(t.TempDir(), "agent"), "--source", "rtsp://"+cam.addr+"/sample")
	w := newWallet(t)
	// E2EE off: this test is of retention and the plaintext export (ffmpeg
	// decodes it, verify proves it without a keys file); TestE2EE exports
	// an encrypted camera, decrypting with the owner's key.
	camera := pairClear(t, h, a, w)
	for _, args := range [][]string{
		{"policy", "--camera", camera, "--period", "1m"},
		{"retention", "--camera", camera, "--days", "7"},
		{"login"},
	} {
		if rc, out, errs := camchain(append(append(args, "--hub", h.url()), w.flags()...)...); rc != 0 {
			t.Fatalf("%s: exit %d\n%s%s", args[0], rc, out, errs)
		}
	}
	c := h.client(t)
	var ck api.Checkpoint
	waitFor(t, 150*time.Second, "a checkpoint on the ledger", func() bool {
		cps, err := c.Checkpoints(context.Background(), camera, -1, 0, 10)
		if err != nil || len(cps.Items) == 0 {
			return false
		}
		ck = cps.Items[0]
		return true
	})
	if !contains(auditKinds(t, h, camera), "retention") {
		t.Errorf("no retention event in the camera's audit list: %v", auditKinds(t, h, camera))
	}
	recs, err := c.Recordings(context.Background(), camera, -1, 0, 500)
	if err != nil || uint64(len(recs.Items)) <= ck.LastSeq {
		t.Fatalf("recordings: %d, %v; the checkpoint covers 0–%d", len(recs.Items), err, ck.LastSeq)
	}
	first, last := recs.Items[0], recs.Items[ck.LastSeq]
	lastStart, _ := time.Parse(time.RFC3339Nano, last.Start)

	// The export plays and verifies offline.
	dir := t.TempDir()
	clip := filepath.Join(dir, "clip.mp4")
	genesis := filepath.Join(h.data, "ledger", "config", "genesis.json")
	rc, out, errs := camchain("export", "--hub", h.url(), "--camera", camera, "--from", first.Start,
		"--to", lastStart.Add(time.Millisecond).Format(time.RFC3339Nano), "-o", clip)
	if rc != 0 || !strings.Contains(out, fmt.Sprintf("exported %d segment(s)", ck.LastSeq+1)) || !strings.Contains(out, "bundle sha256 ") {
		t.Fatalf("export: exit %d\n%s%s", rc, out, errs)
	}
	sum := strings.Fields(out[strings.Index(out, "bundle sha256 ")+len("bundle sha256 "):])[0]
	if b, err := exec.Command("ffmpeg", "-v", "error", "-i", clip, "-f", "null", "-").CombinedOutput(); err != nil || len(b) != 0 {
		t.Fatalf("ffmpeg decoding the export: %v\n%s", err, b)
	}
	rc, out, errs = camchain("verify", clip, "--genesis", genesis)
	if rc != 0 || !strings.HasPrefix(out, "VERIFIED: "+clip) || !strings.Contains(out, "sha256 "+sum) {
		t.Fatalf("verify of the export: exit %d (the hub's bundle %s)\n%s%s", rc, sum, out, errs)
	}
	// The hub filed the export on the ledger with that hash.
	l, err := c.Audit(context.Background(), api.AuditQuery{Camera: camera, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	filed := false
	for _, e := range l.Items {
		filed = filed || e.Kind == "hub/evidence-export" && strings.Contains(e.Detail, sum)
	}
	if !filed {
		t.Errorf("no hub/evidence-export event naming bundle %s", sum)
	}

	// One flipped byte in the middle of the file: exactly one segment
	// fails, named by its place in the video.
	video, err := os.ReadFile(clip)
	if err != nil {
		t.Fatal(err)
	}
	tampered := filepath.Join(dir, "tampered.mp4")
	video[len(video)/2] ^= 0x01
	os.WriteFile(tampered, video, 0o600)
	ev, _ := os.ReadFile(clip + ".evidence")
	os.WriteFile(tampered+".evidence", ev, 0o600)
	rc, out, errs = camchain("verify", tampered, "--genesis", genesis)
	if rc != 1 || !strings.HasPrefix(out, "NOT VERIFIED: "+tampered) || strings.Count(out, "FAILS: "+tampered+" ") != 1 || !strings.Contains(out, "sha256 is") {
		t.Fatalf("verify of the tampered export: exit %d\n%s%s", rc, out, errs)
	}
	t.Logf("camchain verify of the tampered export:\n%s", out)

	// The disk nearly full: the hub deletes what a checkpoint covers at
	// the next segment it stores, loudly.
	h.stop()
	h.run(t, "--min-free", "1000000000000000000")
	waitFor(t, 60*time.Second, "a hub/emergency-prune event", func() bool {
		return contains(auditKinds(t, h, camera), "hub/emergency-prune")
	})
	chainDir := filepath.Join(h.data, "recordings", strings.ToLower(strings.TrimPrefix(camera, "0x")), "0")
	rc, out, errs = camchain("verify", "--hub", h.url(), chainDir)
	if rc != 1 || !strings.Contains(out, "emergency-deleted") || strings.Contains(out, "✓ pruned") {
		t.Fatalf("verify of the hub's copy after emergency deletion: exit %d\n%s%s", rc, out, errs)
	}
	t.Logf("camchain verify of the hub's copy:\n%s", out)
	// The timeline shows the deleted stretch as pruned, the rest after it.
	tl, err := h.client(t).Timeline(context.Background(), camera, api.TimelineOptions{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Minute), Epoch: -1})
	if err != nil || len(tl.Spans) == 0 || tl.Spans[0].State != "pruned" || tl.Spans[0].FirstSeq != 0 || tl.Spans[0].LastSeq < ck.LastSeq {
		t.Errorf("timeline after emergency deletion: %+v, %v", tl, err)
	}
	if rc, out, errs = camchain("verify", clip, "--genesis", genesis); rc != 0 {
		t.Fatalf("the export after the hub deleted its copy: exit %d\n%s%s", rc, out, errs)
	}
}
