package hub

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// readAhead gives each segment in order, holding fewer than its byte
// bound ahead of the caller (one segment at least), stops at the first
// error (given in its turn), and its goroutine ends on stop even while the
// caller has stopped reading.
func TestReadAhead(t *testing.T) {
	seqs := []uint64{3, 4, 5, 9, 10, 11, 12}
	var fetched atomic.Int64
	fetch := func(seq uint64) ([]byte, error) {
		fetched.Add(1)
		if seq == 11 {
			return nil, errors.New("segment 11 is gone")
		}
		return []byte(fmt.Sprint(seq)), nil
	}
	next, stop := readAhead(seqs, 4, fetch)
	for _, seq := range seqs[:5] {
		b, err := next(seq)
		if err != nil || string(b) != fmt.Sprint(seq) {
			t.Fatalf("#%d: %q, %v", seq, b, err)
		}
	}
	if _, err := next(11); err == nil || err.Error() != "segment 11 is gone" {
		t.Fatalf("#11: %v, want its fetch error", err)
	}
	if _, err := next(12); err == nil {
		t.Fatal("#12 given after #11 failed")
	}
	stop()
	if n := fetched.Load(); n != 6 {
		t.Fatalf("%d fetches, want 6: none after the error", n)
	}

	// Out of order is an error, not another segment's bytes.
	next, stop = readAhead(seqs, 4, fetch)
	if _, err := next(4); err == nil {
		t.Fatal("#4 asked for first: no error")
	}
	stop()

	// Segments of 10 bytes, 25 bytes ahead: the caller takes one, the
	// goroutine then holds 3 (30 bytes: it fetches while it holds fewer
	// than 25), and ends on stop.
	before := runtime.NumGoroutine()
	var slow atomic.Int64
	next, stop = readAhead([]uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 25, func(seq uint64) ([]byte, error) {
		slow.Add(1)
		return make([]byte, 10), nil
	})
	if b, err := next(0); err != nil || len(b) != 10 {
		t.Fatalf("#0: %v %v", b, err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := slow.Load(); n != 4 {
		t.Fatalf("%d segments read for a caller that took one, 25 bytes ahead: want 4", n)
	}
	stop()
	stop() // twice is harmless
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Fatalf("%d goroutines after stop, %d before", g, before)
	}
}
