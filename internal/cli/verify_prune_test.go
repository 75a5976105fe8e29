package cli

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/hub"
	"github.com/camchain/camchain/internal/store"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/verify/verifytest"
)

// TestVerifyCardPrunesAgainstARealHub is issue 14's attack, tried from
// outside with `camchain verify`: a card whose ring buffer legitimately
// pruned its oldest clips (the camera's store, signing with the camera's
// key) verifies, exit 0, those clips `pruned`; a copy of the card with its
// two oldest remaining clips deleted and the unsigned marker moved over
// them fails, exit 1, naming them `pruned-early`; deleting them without
// moving the marker makes them `missing`; deleting the camera's statement
// as well leaves nothing that allows any deletion.
func TestVerifyCardPrunesAgainstARealHub(t *testing.T) {
	h, url := startHub(t)
	rc := newRecordedCamera(t, h, url, 8, time.Now().Add(-time.Hour))
	cam, chain := rc.cam, rc.chain
	now := uint64(time.Now().Unix())
	rc.checkpoint(t, 0, 7, now-3600, now-3000)

	// The card: the camera's store, with the camera's key as its signer
	// and a budget that holds seqs 3–7. Everything is acknowledged, so the
	// ring buffer deletes 0–2 to make room.
	var keep int64
	for _, s := range chain.Segments[3:] {
		keep += int64(len(s))
	}
	card := filepath.Join(t.TempDir(), "store")
	sd, err := store.Open(card, store.Options{MaxBytes: keep, Signer: cam})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := sd.Chain(cam.Address(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range chain.Records {
		if err := ch.Append(r, chain.Segments[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.SetAcked(feedchain.HeadOf(chain.Records[7])); err != nil {
		t.Fatal(err)
	}
	if err := ch.Reserve(0); err != nil {
		t.Fatal(err)
	}
	if info, _ := ch.Info(2); !info.Pruned {
		t.Fatal("the ring buffer did not prune seq 2")
	}
	if info, _ := ch.Info(3); info.Pruned {
		t.Fatal("the ring buffer pruned seq 3")
	}
	if err := sd.Close(); err != nil {
		t.Fatal(err)
	}
	chainDir := verifytest.ChainDir(card, cam.Address(), 0)

	r := runCLI("verify", card, "--hub", url).must(t, 0, "")
	for _, want := range []string{"· pruned       seq 0 ", "· pruned       seq 2 ", "signed prune statement (seqs below 3",
		"8 clip(s): 5 verified, 3 pruned — everything checked is verified"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the legitimately pruned card: output lacks %q:\n%s", want, r.stdout)
		}
	}

	copyCard := func() string {
		t.Helper()
		dst := verifytest.ChainDir(filepath.Join(t.TempDir(), "copy"), cam.Address(), 0)
		if err := os.CopyFS(dst, os.DirFS(chainDir)); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	del := func(dir string, seqs ...int) {
		t.Helper()
		for _, s := range seqs {
			if err := os.Remove(filepath.Join(dir, "seg", fmt.Sprintf("%016d.mp4", s))); err != nil {
				t.Fatal(err)
			}
		}
	}
	moveMarker := func(dir string, n int) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "pruned"), fmt.Appendf(nil, "camchain-pruned 1\n%d\n", n), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// The attack: the two oldest remaining clips deleted minutes after
	// recording, the marker moved over them.
	moved := copyCard()
	del(moved, 3, 4)
	moveMarker(moved, 5)
	r = runCLI("verify", moved, "--hub", url).must(t, 1, "not everything checked is verified")
	for _, want := range []string{"· pruned       seq 2 ", "✗ pruned-early seq 3 ", "✗ pruned-early seq 4 ",
		"allows only the seqs below 3", "3 verified, 3 pruned, 2 pruned-early"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("deleted and the marker moved: output lacks %q:\n%s", want, r.stdout)
		}
	}

	// Deleted, the marker left alone: missing.
	left := copyCard()
	del(left, 3, 4)
	r = runCLI("verify", left, "--hub", url).must(t, 1, "not everything checked is verified")
	if !strings.Contains(r.stdout, "✗ missing      seq 3 ") || !strings.Contains(r.stdout, "3 verified, 3 pruned, 2 missing") {
		t.Errorf("deleted, marker not moved:\n%s", r.stdout)
	}

	// The camera's statement deleted too: nothing allows any deletion.
	bare := copyCard()
	del(bare, 3, 4)
	moveMarker(bare, 5)
	if err := os.Remove(filepath.Join(bare, "prune-statement")); err != nil {
		t.Fatal(err)
	}
	r = runCLI("verify", bare, "--hub", url).must(t, 1, "not everything checked is verified")
	if !strings.Contains(r.stdout, "✗ pruned-early seq 0 ") || !strings.Contains(r.stdout, "3 verified, 5 pruned-early") ||
		!strings.Contains(r.stdout, "no prune statement signed by the camera") {
		t.Errorf("statement deleted:\n%s", r.stdout)
	}
}

// TestVerifyHubCopyAgainstTheLedgerPolicy: on the hub's copy a clip counts
// as pruned only when the owner's retention policy on the ledger allowed
// its deletion by its age. Ten-day-old clips gone under the hub's unsigned
// marker are pruned-early while the 30-day default applies; once the owner
// signs 7 days they are pruned; the hub's own pass (the store's
// PruneOlder, as internal/hub calls it) leaves a copy that verifies.
func TestVerifyHubCopyAgainstTheLedgerPolicy(t *testing.T) {
	h, url := startHub(t)
	rc := newRecordedCamera(t, h, url, 6, time.Now().Add(-10*24*time.Hour))
	cam, owner := rc.cam, rc.owner
	hc := rc.toHub(t)
	now := uint64(time.Now().Unix())
	rc.checkpoint(t, 0, 5, now-3600, now-3000)

	// A copy of the hub's chain with its three oldest clips deleted and the
	// marker moved, under the 30-day default: pruned-early.
	hubChain := verifytest.ChainDir(h.Store().Dir(), cam.Address(), 0)
	cp := verifytest.ChainDir(filepath.Join(t.TempDir(), "copy"), cam.Address(), 0)
	if err := os.CopyFS(cp, os.DirFS(hubChain)); err != nil {
		t.Fatal(err)
	}
	for s := range 3 {
		if err := os.Remove(filepath.Join(cp, "seg", fmt.Sprintf("%016d.mp4", s))); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(cp, "pruned"), []byte("camchain-pruned 1\n3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI("verify", cp, "--hub", url).must(t, 1, "not everything checked is verified")
	if !strings.Contains(r.stdout, "✗ pruned-early seq 0 ") || !strings.Contains(r.stdout, "3 verified, 3 pruned-early") {
		t.Errorf("ten-day-old clips gone under the 30-day default:\n%s", r.stdout)
	}

	// The owner keeps 7 days: the same deletion is retention now.
	rc.submit(t, &tx.Retention{Camera: cam.Address(), Days: 7, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, owner.key)
	r = runCLI("verify", cp, "--hub", url).must(t, 0, "")
	if !strings.Contains(r.stdout, "· pruned       seq 2 ") || !strings.Contains(r.stdout, "owner's retention policy on the ledger (now 7 days") {
		t.Errorf("under the owner's 7-day policy:\n%s", r.stdout)
	}

	// The hub's own pass over its copy: everything checkpointed and older
	// than 7 days goes, and the hub's copy verifies.
	if res, err := hc.PruneOlder(time.Now(), 7*24*time.Hour, 6, nil); err != nil || res.Deleted != 6 {
		t.Fatalf("the hub's pass: %+v, %v", res, err)
	}
	r = runCLI("verify", h.Store().Dir(), "--hub", url).must(t, 0, "")
	if !strings.Contains(r.stdout, "6 clip(s): 6 pruned") {
		t.Errorf("the hub's pruned copy:\n%s", r.stdout)
	}
}

// TestHubEmergencyDeletionIsItsOwnVerdict: a real hub whose disk reports
// nearly full deletes its oldest checkpointed recordings, files a
// hub/emergency-prune alarm on the ledger naming exactly which seqs, and
// `camchain verify` reports those clips emergency-deleted (exit 1), never
// pruned; uncheckpointed clips stay.
func TestHubEmergencyDeletionIsItsOwnVerdict(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hub")
	if _, err := hub.Init(hub.Config{DataDir: dir}, ""); err != nil {
		t.Fatal(err)
	}
	// The disk: roomy until full is set; from then on its free space is
	// freeAfter plus what the hub has deleted since (the store's bytes then
	// minus now), so a pass that frees enough ends the shortage, as on a
	// real disk.
	var full atomic.Bool
	var freeAfter, usedAtFull atomic.Int64
	h, err := hub.Start(hub.Config{DataDir: dir, HTTPAddr: "127.0.0.1:0", LinkAddr: "127.0.0.1:0",
		RetentionInterval: 100 * time.Millisecond, MinFree: 1 << 20,
		DiskFree: func(dir string) (uint64, uint64, error) {
			if !full.Load() {
				return 1 << 29, 1 << 30, nil
			}
			used, err := treeSize(dir)
			if err != nil {
				return 0, 0, err
			}
			return uint64(freeAfter.Load() + usedAtFull.Load() - used), 1 << 30, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	url := "http://" + h.Addr()
	rc := newRecordedCamera(t, h, url, 6, time.Now().Add(-time.Hour))
	cam, chain := rc.cam, rc.chain
	hc := rc.toHub(t)
	now := uint64(time.Now().Unix())
	rc.checkpoint(t, 0, 3, now-3600, now-3000) // 4 and 5 pending

	// The disk lacks just over two segments' bytes: seqs 0 and 1 and 2 go.
	need := int64(len(chain.Segments[0]) + len(chain.Segments[1]) + 1)
	freeAfter.Store(1<<20 - need)
	used, err := treeSize(h.Store().Dir())
	if err != nil {
		t.Fatal(err)
	}
	usedAtFull.Store(used)
	full.Store(true)
	deadline := time.Now().Add(20 * time.Second)
	for {
		si, ok := hc.Info(2)
		if !ok {
			t.Fatal("the hub's chain has no seq 2")
		}
		if si.Pruned {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no emergency deletion within 20 s of the disk filling")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for s := uint64(3); s < 6; s++ {
		if si, ok := hc.Info(s); !ok || si.Pruned {
			t.Fatalf("seq %d deleted: beyond what was needed, or not checkpointed", s)
		}
	}
	// The alarm reaches the ledger.
	c := rc.ownerClient(t)
	ctx := context.Background()
	var detail string
	for deadline = time.Now().Add(20 * time.Second); detail == ""; {
		evs, err := c.Audit(ctx, api.AuditQuery{Camera: cam.Address().Hex(), Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs.Items {
			if e.Kind == "hub/emergency-prune" {
				detail = e.Detail
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no hub/emergency-prune event on the ledger")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.HasPrefix(detail, "epoch 0 stream main: seqs 0-2 deleted") {
		t.Fatalf("emergency event detail %q", detail)
	}
	r := runCLI("verify", h.Store().Dir(), "--hub", url).must(t, 1, "not everything checked is verified")
	for _, want := range []string{"✗ emergency-deleted seq 0 ", "✗ emergency-deleted seq 2 ", "disk nearly full", "seqs 0–2",
		"3 emergency-deleted"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("verify after the emergency lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "· pruned") {
		t.Errorf("an emergency deletion reported as pruning:\n%s", r.stdout)
	}
}

// treeSize is the bytes in the regular files under dir.
func treeSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		n += fi.Size()
		return nil
	})
	return n, err
}
