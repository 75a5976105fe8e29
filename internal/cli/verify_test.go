package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/verify"
)

// TestVerifyAgainstARealHub records a real chain into a camera's store and
// the hub's, commits the camera's checkpoints through the hub's API, and
// runs `camchain verify` on both stores, a seg directory, loose clips and a
// tampered copy.
func TestVerifyAgainstARealHub(t *testing.T) {
	h, url := startHub(t)
	rc := newRecordedCamera(t, h, url, 8, time.Now().Add(-time.Hour))
	cam, chain := rc.cam, rc.chain
	camHex := cam.Address().Hex()
	sdStore := filepath.Join(t.TempDir(), "store")
	sdChain, err := chain.WriteStore(sdStore)
	if err != nil {
		t.Fatal(err)
	}
	rc.toHub(t)
	now := uint64(time.Now().Unix())
	commit := func(first, last, k uint64) {
		t.Helper()
		rc.checkpoint(t, first, last, now-3600+k*600, now-3000+k*600)
	}
	commit(0, 3, 0)
	commit(4, 5, 1)

	// Seq 6 and 7 are not checkpointed yet: pending, exit 1.
	r := runCLI("verify", sdStore, "--hub", url).must(t, 1, "not everything checked is verified")
	for _, want := range []string{
		"camera " + camHex + " epoch 0: " + sdChain,
		"8 records from " + filepath.Join(sdChain, "records.log") + "; 2 checkpoints",
		"✓ verified     seq 0      seg/0000000000000000.mp4  checkpoint #0 at height",
		"✓ verified     seq 5      seg/0000000000000005.mp4  checkpoint #1 at height",
		"? pending      seq 6      seg/0000000000000006.mp4  no checkpoint covers it yet",
		"✓ checkpoint #1  seq 4–5",
		"8 clip(s): 6 verified, 2 pending; checkpoints: 2 verified",
		"NOT everything checked is verified",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("verify output lacks %q:\n%s", want, r.stdout)
		}
	}

	commit(6, 7, 2)
	r = runCLI("verify", sdStore, "--hub", url).must(t, 0, "")
	if !strings.Contains(r.stdout, "8 clip(s): 8 verified — everything checked is verified") {
		t.Errorf("all checkpointed:\n%s", r.stdout)
	}

	// --json: the typed report.
	r = runCLI("verify", sdChain, "--hub", url, "--json").must(t, 0, "")
	var out verifyJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	if !out.OK || len(out.Chains) != 1 || !out.Chains[0].OK || out.Chains[0].Camera != camHex || len(out.Chains[0].Clips) != 8 ||
		out.Chains[0].Counts[verify.Verified] != 8 || len(out.Chains[0].Checkpoints) != 3 {
		t.Fatalf("--json report: %s", r.stdout)
	}
	for _, cl := range out.Chains[0].Clips {
		if cl.Status != verify.Verified || cl.Checkpoint == nil || cl.Checkpoint.Height == 0 || cl.Checkpoint.Time.IsZero() {
			t.Errorf("clip %+v", cl)
		}
	}
	var raw map[string]any
	json.Unmarshal([]byte(r.stdout), &raw)
	clip0 := raw["chains"].([]any)[0].(map[string]any)["clips"].([]any)[0].(map[string]any)
	if clip0["status"] != "verified" || clip0["seq"] != 0.0 || !strings.HasPrefix(clip0["checkpoint"].(map[string]any)["tx_hash"].(string), "0x") {
		t.Errorf("JSON clip shape: %v", clip0)
	}

	// The hub's own store verifies the same way.
	runCLI("verify", h.Store().Dir(), "--hub", url).must(t, 0, "")

	// A tampered copy of the camera's chain: exit 1, the clip named.
	tampered := filepath.Join(t.TempDir(), "copy", fmt.Sprintf("%x", cam.Address().Bytes()), "0")
	if err := os.CopyFS(tampered, os.DirFS(sdChain)); err != nil {
		t.Fatal(err)
	}
	seg2 := filepath.Join(tampered, "seg", "0000000000000002.mp4")
	b, _ := os.ReadFile(seg2)
	b[len(b)/3] ^= 1
	os.WriteFile(seg2, b, 0o644)
	r = runCLI("verify", tampered, "--hub", url).must(t, 1, "not everything")
	if !strings.Contains(r.stdout, "✗ modified     seq 2      seg/0000000000000002.mp4  sha256") ||
		!strings.Contains(r.stdout, "7 verified, 1 modified") {
		t.Errorf("tampered copy:\n%s", r.stdout)
	}
	r = runCLI("verify", tampered, "--hub", url, "--json").must(t, 1, "")
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.OK || out.Chains[0].Counts[verify.Modified] != 1 {
		t.Errorf("tampered --json: %v\n%s", err, r.stdout)
	}
	// One clip of it, by path: only that clip is reported.
	r = runCLI("verify", filepath.Join(tampered, "seg", "0000000000000003.mp4"), "--hub", url).must(t, 0, "")
	if !strings.Contains(r.stdout, "1 clip(s): 1 verified") {
		t.Errorf("one clip:\n%s", r.stdout)
	}

	// A seg directory without its records.log: records from the hub.
	segOnly := filepath.Join(t.TempDir(), "sd", fmt.Sprintf("%x", cam.Address().Bytes()), "0", "seg")
	if err := os.CopyFS(segOnly, os.DirFS(filepath.Join(sdChain, "seg"))); err != nil {
		t.Fatal(err)
	}
	r = runCLI("verify", segOnly, "--hub", url).must(t, 0, "")
	if !strings.Contains(r.stdout, "8 records from "+url) {
		t.Errorf("seg directory:\n%s", r.stdout)
	}

	// Loose clips, records from the hub: --camera is needed.
	export := t.TempDir()
	os.WriteFile(filepath.Join(export, "front-door.mp4"), chain.Segments[4], 0o644)
	os.WriteFile(filepath.Join(export, "strange.mp4"), []byte("not from this camera"), 0o644)
	runCLI("verify", export, "--hub", url).must(t, 2, "--camera")
	r = runCLI("verify", export, "--hub", url, "--camera", camHex).must(t, 1, "not everything")
	if !strings.Contains(r.stdout, "✓ verified     seq 4      "+filepath.Join(export, "front-door.mp4")) ||
		!strings.Contains(r.stdout, "✗ inserted     seq -      "+filepath.Join(export, "strange.mp4")+"  matches no record") {
		t.Errorf("loose clips:\n%s", r.stdout)
	}
	runCLI("verify", filepath.Join(export, "front-door.mp4"), "--hub", url, "--camera", camHex, "--epoch", "0").must(t, 0, "")

	// Command-line and environment errors.
	runCLI("verify", "--hub", url).must(t, 2, "at least one PATH")
	runCLI("verify", sdStore, "--hub", url, "--camera", "0x1234").must(t, 2, "--camera")
	runCLI("verify", sdStore, "--hub", url, "--epoch", "-3").must(t, 2, "--epoch")
	runCLI("verify", sdChain, "--hub", url, "--epoch", "1").must(t, 2, "not --epoch 1")
	runCLI("verify", filepath.Join(t.TempDir(), "nope"), "--hub", url).must(t, 1, "no such file")
	runCLI("verify", sdStore, "--hub", "http://127.0.0.1:1").must(t, 1, "cannot reach the hub")
}
