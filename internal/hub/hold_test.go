package hub

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/store"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/verify/verifytest"
)

// A clip under the owner's legal hold (a LegalHold on the real ledger)
// survives the hub's retention pass and its emergency deletion, however
// old and however full the disk; a stranger's hold holds nothing; once the
// owner releases it, retention deletes it.
func TestLegalHoldSurvivesRetentionAndEmergencyDeletion(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hub")
	var free atomic.Int64
	free.Store(1 << 29)
	lh := startLedgerHub(t, Config{DataDir: dir, RetentionInterval: time.Hour, MinFree: 1 << 20,
		DiskFree: func(string) (uint64, uint64, error) { return uint64(free.Load()), 1 << 30, nil }})
	h := lh.Hub
	owner, cam, stranger := recordsTestKey(t), recordsTestKey(t), recordsTestKey(t)
	trySubmit := lh.trySubmit(t)
	submit := func(m tx.Msg, ks ...*keys.PrivateKey) error { _, err := trySubmit(m, ks...); return err }
	must := func(m tx.Msg, ks ...*keys.PrivateKey) {
		t.Helper()
		if err := submit(m, ks...); err != nil {
			t.Fatal(err)
		}
	}
	must(&tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Hub: h.Address(), Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, owner, cam)

	// Ten segments, 2 s each, ten days old, all checkpointed; 7 days' policy.
	now := time.Now()
	start := now.Add(-10 * 24 * time.Hour).Truncate(time.Second)
	chain := verifytest.NewChain(cam, 0)
	if err := chain.AppendRandom(10, 2000, 9, start); err != nil {
		t.Fatal(err)
	}
	sc, err := h.Store().Chain(cam.Address(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range chain.Records {
		if err := sc.Append(r, chain.Segments[i]); err != nil {
			t.Fatal(err)
		}
	}
	m, err := chain.CheckpointMsg(0, 9, uint64(now.Add(-2*time.Hour).Unix()), uint64(now.Add(-time.Hour).Unix()))
	if err != nil {
		t.Fatal(err)
	}
	must(m, cam)
	must(&tx.Retention{Camera: cam.Address(), Days: 7, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, owner)

	// The owner holds the recordings of seconds 6–10: segments 3 and 4.
	from := uint64(start.Unix()) + 6
	hold := &tx.LegalHold{Camera: cam.Address(), From: from, Until: from + 4, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}
	if err := submit(&tx.LegalHold{Camera: cam.Address(), From: uint64(start.Unix()), Until: from + 40, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, stranger); err == nil {
		t.Fatal("a stranger's legal hold was accepted")
	}
	must(hold, owner)

	pruned := func() []int {
		var out []int
		for s := range uint64(10) {
			if _, err := sc.Segment(s); errors.Is(err, store.ErrPruned) {
				out = append(out, int(s))
			} else if err != nil {
				t.Fatalf("segment %d: %v", s, err)
			}
		}
		return out
	}
	same := func(a []int, b ...int) bool { return slices.Equal(a, b) }

	if _, err := h.retentionPass(now); err != nil {
		t.Fatal(err)
	}
	if got := pruned(); !same(got, 0, 1, 2) {
		t.Fatalf("retention under the hold deleted %v, want 0 1 2 (it stops at the held segment 3)", got)
	}
	// The disk is nearly full: emergency deletion may not take the held clips.
	free.Store(1<<20 - 10_000)
	_, err = h.emergencyPass(now)
	if err == nil || !strings.Contains(err.Error(), "held") {
		t.Fatalf("emergency deletion under the hold: %v, want it to say nothing more may go (held)", err)
	}
	if got := pruned(); !same(got, 0, 1, 2) {
		t.Fatalf("emergency deletion under the hold deleted %v", got)
	}
	free.Store(1 << 29)

	// Released by the owner (not by a stranger): retention takes them.
	release := &tx.LegalHold{Camera: cam.Address(), Release: 1, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}
	if err := submit(release, stranger); err == nil {
		t.Fatal("a stranger released the owner's hold")
	}
	if _, err := h.retentionPass(now); err != nil {
		t.Fatal(err)
	}
	if got := pruned(); !same(got, 0, 1, 2) {
		t.Fatalf("after a stranger's release, retention deleted %v", got)
	}
	must(release, owner)
	if _, err := h.retentionPass(now); err != nil {
		t.Fatal(err)
	}
	if got := pruned(); !same(got, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9) {
		t.Fatalf("after the release, retention deleted %v, want all ten", got)
	}
}
