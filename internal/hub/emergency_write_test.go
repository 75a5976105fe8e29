package hub

import (
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/store"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/verify/verifytest"
)

// TestEmergencyDeletionOnWrite: the hub checks the disk after every
// segment it stores, not only in its retention pass (an hour away here).
// With room, writes delete nothing; the write that leaves the disk below
// --min-free starts emergency deletion within seconds: the oldest
// checkpointed segments go, just enough of them, under a hub/emergency-prune
// alarm on the ledger; never one no checkpoint covers, however full the
// disk stays.
func TestEmergencyDeletionOnWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hub")
	// The disk: base bytes free, plus whatever the store has deleted.
	var base atomic.Int64
	base.Store(1 << 29)
	var h *Hub
	diskFree := func(string) (uint64, uint64, error) {
		var freed int64
		if h != nil {
			_, freed = h.Store().Deleted()
		}
		return uint64(base.Load() + freed), 1 << 30, nil
	}
	lh := startLedgerHub(t, Config{DataDir: dir, RetentionInterval: time.Hour, MinFree: 1 << 20, DiskFree: diskFree})
	h = lh.Hub
	owner, cam := recordsTestKey(t), recordsTestKey(t)
	submit := lh.mustSubmit(t)
	submit(&tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Hub: h.Address(),
		Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, owner, cam)

	// Segments of 10 kB arrive as the camera link stores them (the link's
	// chain); a checkpoint covers #0–#7.
	chain := verifytest.NewChain(cam, 0)
	lc, err := linkBackend{h}.Chain(cam.Address(), 0, feedchain.StreamMain)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Hour)
	write := func(n int) {
		t.Helper()
		for range n {
			i := len(chain.Records)
			data := make([]byte, 10_000)
			data[0], data[1] = byte(i), 0xee
			if err := chain.Append(data, start.Add(time.Duration(i)*2*time.Second), 2*time.Second, verifytest.Codec); err != nil {
				t.Fatal(err)
			}
			if err := lc.Append(chain.Records[i], data); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(8)
	m, err := chain.CheckpointMsg(0, 7, uint64(start.Unix()), uint64(start.Add(16*time.Second).Unix()))
	if err != nil {
		t.Fatal(err)
	}
	submit(m, cam)
	sc, err := h.Store().Lookup(cam.Address(), 0)
	if err != nil {
		t.Fatal(err)
	}
	pruned := func() (n int) {
		for s := range sc.Len() {
			if _, err := sc.Segment(s); errors.Is(err, store.ErrPruned) {
				n++
			}
		}
		return n
	}
	emergencies := func() []ledger.Event {
		evs, err := h.node.App.Events(ledger.EventFilter{Camera: cam.Address(), Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var out []ledger.Event
		for _, e := range evs {
			if e.Kind == audit.EmergencyPrune {
				out = append(out, e)
			}
		}
		return out
	}

	// Room on the disk: writes delete nothing.
	write(1)
	time.Sleep(300 * time.Millisecond)
	if n := pruned(); n != 0 {
		t.Fatalf("%d segments deleted with room on the disk", n)
	}

	// The next write leaves 25 kB too little: #0–#2 go (30 kB), at once.
	base.Store(1<<20 - 25_000)
	written := time.Now()
	write(1)
	for pruned() < 3 {
		if time.Since(written) > 5*time.Second {
			t.Fatalf("5 s after the write that filled the disk, %d segments deleted, want 3", pruned())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("emergency deletion %v after the write", time.Since(written).Round(time.Millisecond))
	time.Sleep(300 * time.Millisecond)
	if n := pruned(); n != 3 {
		t.Errorf("%d segments deleted, want exactly the 3 that free enough", n)
	}
	for deadline := time.Now().Add(20 * time.Second); len(emergencies()) == 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no hub/emergency-prune event on the ledger")
		}
	}
	if e := emergencies()[0]; e.Detail == "" || !strings.Contains(e.Detail, "seqs 0-2 deleted") {
		t.Errorf("emergency event detail %q, want seqs 0-2", e.Detail)
	}

	// The disk stays far too full: only checkpointed segments go (#3–#7),
	// never #8–#10, whatever further writes ask.
	base.Store(0)
	written = time.Now()
	write(1)
	for pruned() < 8 && time.Since(written) < emergencyEvery+5*time.Second {
		time.Sleep(20 * time.Millisecond)
	}
	write(1)
	time.Sleep(emergencyEvery + 300*time.Millisecond)
	if n := pruned(); n != 8 {
		t.Errorf("%d segments deleted, want the 8 a checkpoint covers", n)
	}
	for s := uint64(8); s < sc.Len(); s++ {
		if _, err := sc.Segment(s); err != nil {
			t.Errorf("segment #%d (no checkpoint covers it): %v", s, err)
		}
	}
}
