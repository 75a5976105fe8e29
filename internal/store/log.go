package store

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/store/layout"
)

// verifyBatch is how many records scanLog collects before checking their
// signatures in parallel (about 35 µs each on one core).
const verifyBatch = 4096

// logScan is what scanLog found: the good prefix of the log, and why the
// entry after it (if any) is not good.
type logScan struct {
	metas []meta
	end   int64  // offset just past the last good entry
	bad   string // why the entry at end was refused; "" if the log ended cleanly
}

type pendingRec struct {
	r    *feedchain.Record
	m    meta
	next int64 // offset just past this entry
}

// verifyLoadedStream is the stream rule for a log being read: a sub
// stream's chain holds only its stream's records; the main chain may also
// hold sub-stream records, interleaved, as agents wrote them before each
// stream had its own chain (SPEC §6.5), and those stores stay readable.
// Appends take only the chain's own stream (feedchain.VerifyStream).
func verifyLoadedStream(stream feedchain.Stream, r *feedchain.Record) error {
	if stream == feedchain.StreamMain {
		return nil
	}
	return feedchain.VerifyStream(stream, r)
}

// scanLog reads records.log: the header (an error if wrong), then entries
// until the first one that is short, oversize, fails its CRC, does not
// parse, is not signed by id's camera, or does not follow its predecessor.
func scanLog(f io.ReaderAt, size int64, id ChainRef) (logScan, error) {
	r := io.NewSectionReader(f, 0, size)
	if err := layout.ReadLogHeader(r); err != nil {
		return logScan{}, fmt.Errorf("%w: %w", ErrFormat, err)
	}

	sc := logScan{end: layout.LogHeaderSize}
	var head feedchain.Head
	off := int64(layout.LogHeaderSize)
	pending := make([]pendingRec, 0, verifyBatch)
	entries := layout.NewEntryReader(r)

	// flush checks the pending signatures and commits the good ones.
	flush := func() bool {
		i, err := firstBadSignature(pending)
		good := pending
		if i >= 0 {
			good = pending[:i]
		}
		for _, p := range good {
			sc.metas = append(sc.metas, p.m)
			sc.end = p.next
		}
		pending = pending[:0]
		if i >= 0 {
			sc.bad = err.Error()
			return false
		}
		return true
	}

	for {
		reason := ""
		var r *feedchain.Record
		rec, n, err := entries.Next()
		var damage *layout.DamageError
		switch {
		case errors.Is(err, io.EOF):
			flush()
			return sc, nil
		case errors.As(err, &damage):
			reason = damage.Reason
		case err != nil:
			return logScan{}, err
		default:
			if r, err = feedchain.Parse(rec); err != nil {
				reason = err.Error()
			} else if err := feedchain.VerifyNext(id.Camera, id.Epoch, head, r); err != nil {
				reason = err.Error()
			} else if err := verifyLoadedStream(id.Stream, r); err != nil {
				reason = err.Error()
			}
		}
		if reason != "" {
			if flush() {
				sc.bad = reason
			}
			return sc, nil
		}
		next := off + n
		m := metaOf(r, r.Hash(), off)
		pending = append(pending, pendingRec{r: r, m: m, next: next})
		head = feedchain.Head{Valid: true, Seq: r.Seq, Hash: m.hash}
		off = next
		if len(pending) == verifyBatch && !flush() {
			return sc, nil
		}
	}
}

// firstBadSignature verifies the records' signatures on every core and
// returns the index of the first that fails (and why), or -1.
func firstBadSignature(p []pendingRec) (int, error) {
	workers := min(runtime.GOMAXPROCS(0), (len(p)+63)/64)
	if workers <= 1 {
		for i := range p {
			if err := feedchain.Verify(p[i].r); err != nil {
				return i, err
			}
		}
		return -1, nil
	}
	per := (len(p) + workers - 1) / workers
	bad := make([]int, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*per, min((w+1)*per, len(p))
		bad[w] = -1
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				if err := feedchain.Verify(p[i].r); err != nil {
					bad[w], errs[w] = i, err
					return
				}
			}
		})
	}
	wg.Wait()
	for w := range workers { // chunks are in order: the first failing chunk has the first failure
		if bad[w] >= 0 {
			return bad[w], errs[w]
		}
	}
	return -1, nil
}
