package hub

import (
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/store"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/verify/verifytest"
)

// The retention counters of /metrics (SPEC §13.5) are what the hub really
// deleted: after its retention pass under the owner's ledger policy, and
// after emergency deletion, camchain_store_retention_deleted_segments_total
// and …_bytes_total equal the segment files gone from the store (counted
// on the store itself, not from the counter), camchain_store_bytes fell by
// exactly those bytes, and a pass that may delete nothing more moves
// nothing.
func TestMetricsRetentionCountersMatchTheDeletions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hub")
	var free atomic.Int64
	free.Store(1 << 29)
	lh := startLedgerHub(t, Config{DataDir: dir, MetricsAddr: "127.0.0.1:0",
		RetentionInterval: time.Hour, MinFree: 1 << 20,
		DiskFree: func(string) (uint64, uint64, error) { return uint64(free.Load()), 1 << 30, nil }})
	h := lh.Hub
	owner, cam := recordsTestKey(t), recordsTestKey(t)
	submit := lh.mustSubmit(t)
	submit(&tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Hub: h.Address(),
		Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, owner, cam)

	// Twelve segments of different sizes, ten days old; a checkpoint
	// covers 0–9; the owner's policy keeps 7 days.
	now := time.Now()
	chain := verifytest.NewChain(cam, 0)
	start := now.Add(-10 * 24 * time.Hour)
	for i := range 12 {
		data := make([]byte, 1000+137*i)
		data[0] = byte(i)
		if err := chain.Append(data, start.Add(time.Duration(i)*2*time.Second), 2*time.Second, verifytest.Codec); err != nil {
			t.Fatal(err)
		}
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
	submit(m, cam)
	submit(&tx.Retention{Camera: cam.Address(), Days: 7, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, owner)

	// gone counts, on the store, the segment files deleted and their bytes.
	gone := func() (n, bytes int64) {
		for s := range uint64(len(chain.Segments)) {
			_, err := sc.Segment(s)
			switch {
			case errors.Is(err, store.ErrPruned):
				n++
				bytes += int64(len(chain.Segments[s]))
			case err != nil:
				t.Fatalf("segment %d: %v", s, err)
			}
		}
		return n, bytes
	}
	type reading struct{ segs, bytes, stored float64 }
	read := func() reading {
		t.Helper()
		mfs := scrape(t, h.Integrations().MetricsAddr())
		var r reading
		var ok [3]bool
		r.segs, ok[0] = metricValue(mfs, "camchain_store_retention_deleted_segments_total", nil)
		r.bytes, ok[1] = metricValue(mfs, "camchain_store_retention_deleted_bytes_total", nil)
		r.stored, ok[2] = metricValue(mfs, "camchain_store_bytes", nil)
		if ok != [3]bool{true, true, true} {
			t.Fatalf("/metrics lacks a store series (present: %v)", ok)
		}
		return r
	}
	check := func(what string, base reading, wantSegs int64) reading {
		t.Helper()
		n, b := gone()
		if n != wantSegs {
			t.Fatalf("%s: %d segment files gone, want %d", what, n, wantSegs)
		}
		r := read()
		if r.segs != float64(n) || r.bytes != float64(b) {
			t.Errorf("%s: /metrics says %v segments, %v bytes deleted; the store lost %d segments, %d bytes", what, r.segs, r.bytes, n, b)
		}
		if base.stored-r.stored != r.bytes-base.bytes {
			t.Errorf("%s: camchain_store_bytes fell by %v, the deletion counter rose by %v", what, base.stored-r.stored, r.bytes-base.bytes)
		}
		return r
	}

	var total int64
	for _, s := range chain.Segments {
		total += int64(len(s))
	}
	r0 := read()
	if r0.segs != 0 || r0.bytes != 0 || r0.stored != float64(total) {
		t.Fatalf("before any deletion: %+v, want 0 deleted and %d stored", r0, total)
	}

	// The retention pass, with seq 4 held: 0–3 go.
	h.cfg.Held = func(c keys.Address, epoch uint64, si store.SegmentInfo) bool { return si.Seq == 4 }
	res, err := h.retentionPass(now)
	if err != nil {
		t.Fatal(err)
	}
	r1 := check("retention pass", r0, 4)
	if float64(res.Deleted) != r1.segs || float64(res.Freed) != r1.bytes {
		t.Errorf("the pass reports %d segments, %d bytes; /metrics %v, %v", res.Deleted, res.Freed, r1.segs, r1.bytes)
	}
	// Again, nothing more may go: nothing moves.
	if _, err := h.retentionPass(now); err != nil {
		t.Fatal(err)
	}
	r1 = check("a second pass with the hold", r1, 4)

	// Emergency deletion, the hold released: the disk lacks just over two
	// segments, so 4, 5 and 6 go (never 10 and 11, not checkpointed).
	h.cfg.Held = nil
	lack := int64(len(chain.Segments[4]) + len(chain.Segments[5]) + 1)
	free.Store(1<<20 - lack)
	freed, err := h.emergencyPass(now)
	if err != nil {
		t.Fatal(err)
	}
	free.Store(1 << 29)
	r2 := check("emergency deletion", r1, 7)
	if float64(freed) != r2.bytes-r1.bytes {
		t.Errorf("emergency deletion reports %d bytes freed; /metrics rose by %v", freed, r2.bytes-r1.bytes)
	}
	// The disk has room again: nothing moves.
	if _, err := h.emergencyPass(now); err != nil {
		t.Fatal(err)
	}
	r2 = check("emergency pass with room", r2, 7)

	// The retention pass takes the rest the checkpoint covers (7–9).
	if _, err := h.retentionPass(now); err != nil {
		t.Fatal(err)
	}
	r3 := check("retention after the emergency", r2, 10)
	if r3.stored != float64(len(chain.Segments[10])+len(chain.Segments[11])) {
		t.Errorf("camchain_store_bytes = %v, want the two uncheckpointed segments' bytes", r3.stored)
	}
}
