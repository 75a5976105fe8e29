package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/evidence/evidencetest"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/store/layout"
	"github.com/camchain/camchain/internal/tx"
)

// The timeline: one day of one camera asked of a hub whose store holds 30
// days of 2 s segments of that camera in one epoch (1,296,000 records, a
// one-minute outage every hour, a checkpoint a day), through the API
// (bearer token, ledger authorization, spans with each segment's integrity
// state, gaps, alarms, JSON), beside reading that day's records from the
// records log directly (seek to the day's first entry, read and decode
// each record: the least any listing of the day must do).
const (
	timelineDays        = 30
	timelineSegment     = 2 * time.Second
	timelineSegsPerHour = 1770 // 59 min of 2 s segments, then a 1 min outage
	timelineSegmentSize = 4 << 10
	timelineQueries     = 25
)

func benchTimelineDay(ctx context.Context, o *options) ([]Row, error) {
	base := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		base = "/dev/shm" // 1.3 M segment files: hard links to one, in memory
	}
	tmp, err := os.MkdirTemp(base, "camchain-bench-timeline-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	h, err := evidencetest.StartHub(filepath.Join(tmp, "hub"))
	if err != nil {
		return nil, err
	}
	defer h.Close()
	cam, err := evidencetest.NewCamera(ctx, h)
	if err != nil {
		return nil, err
	}
	n := timelineDays * 24 * timelineSegsPerHour
	t0 := time.Now().Add(-(timelineDays*24 + 2) * time.Hour).Truncate(time.Hour)
	startOf := func(seq int) time.Time {
		return t0.Add(time.Duration(seq)*timelineSegment + time.Duration(seq/timelineSegsPerHour)*time.Minute)
	}
	o.Progress.Printf("   writing a %d-day store: %d records signed on every core, segment files as hard links", timelineDays, n)
	setup := time.Now()
	recs, offs, err := writeTimelineChain(h.Store().Dir(), cam, n, startOf)
	if err != nil {
		return nil, err
	}
	o.Progress.Printf("   written in %v; committing %d daily checkpoints", time.Since(setup).Round(time.Second), timelineDays)
	if err := timelineCheckpoints(ctx, cam, recs, startOf); err != nil {
		return nil, err
	}
	recs = nil

	tok, err := cam.OwnerToken(ctx)
	if err != nil {
		return nil, err
	}
	c, _ := api.NewClient(cam.URL)
	c.WithCredentials(api.StaticToken(tok))
	camHex := cam.Key.Address().Hex()
	day := func(d int) (time.Time, time.Time) {
		from := t0.Add(time.Duration(d) * 24 * time.Hour)
		return from, from.Add(24 * time.Hour)
	}
	// Once per hub process: the chain is opened (every record read and its
	// signature checked), then the first request builds its Merkle tree.
	start := time.Now()
	if _, err := h.Store().Lookup(cam.Key.Address(), 0); err != nil {
		return nil, err
	}
	open := time.Since(start)
	start = time.Now()
	from, to := day(0)
	if _, err := c.Timeline(ctx, camHex, api.TimelineOptions{From: from, To: to, Epoch: -1}); err != nil {
		return nil, err
	}
	cold := time.Since(start)

	logPath := filepath.Join(h.Store().Dir(), layout.ChainDir(cam.Key.Address(), 0, feedchain.StreamMain), layout.LogName)
	var apiT, diskT []time.Duration
	for range timelineQueries {
		k, _ := rand.Int(rand.Reader, big.NewInt(timelineDays))
		d := int(k.Int64())
		from, to := day(d)
		start := time.Now()
		tl, err := c.Timeline(ctx, camHex, api.TimelineOptions{From: from, To: to, Epoch: -1})
		if err != nil {
			return nil, err
		}
		apiT = append(apiT, time.Since(start))
		var segs uint64
		for _, s := range tl.Spans {
			segs += s.Segments
		}
		if tl.Next != "" || len(tl.Gaps) < 23 || segs < 24*timelineSegsPerHour-2 {
			return nil, fmt.Errorf("day %d: %d spans of %d segments, %d gaps, next %q: not the whole day", d, len(tl.Spans), segs, len(tl.Gaps), tl.Next)
		}

		// The baseline: the same day's records straight from the log.
		first := slices.IndexFunc(offs, func(x timelineOff) bool { return x.end > from.UnixNano() })
		start = time.Now()
		got, err := readRecordsFrom(logPath, offs[first].off, to)
		if err != nil {
			return nil, err
		}
		diskT = append(diskT, time.Since(start))
		if uint64(got) != segs {
			return nil, fmt.Errorf("day %d: the log holds %d records, the timeline %d segments", d, got, segs)
		}
	}
	slices.Sort(apiT)
	slices.Sort(diskT)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	note := fmt.Sprintf("%d queries of a random day (%d segments, 24 spans and 23 gaps each) of a %d-day store of %d records at 2 s; p50, max %.1f ms; through the API (bearer token, ledger authorization, integrity per segment from %d checkpoints, alarms, JSON); baseline: seek to the day's first entry of records.log and decode its records; once per hub process, opening the chain (every record read, every signature checked) took %.1f s and the first request (building the chain's Merkle tree) %.1f s",
		timelineQueries, 24*timelineSegsPerHour, timelineDays, n, ms(apiT[len(apiT)-1]), timelineDays, open.Seconds(), cold.Seconds())
	return []Row{NewRow("timeline.day_query_ms", "ms", ms(apiT[len(apiT)/2]), "the day's records read from the log", ms(diskT[len(diskT)/2]), AtMost(50), note)}, nil
}

// timelineOff is where a record's entry starts in records.log, and when
// the latest segment up to it ends.
type timelineOff struct {
	off, end int64
}

// writeTimelineChain writes a chain of n records of cam straight into the
// hub's store directory, as the store would have appended them, with every
// segment file a hard link to one file (identical bytes, so one hash).
func writeTimelineChain(storeDir string, cam *evidencetest.Camera, n int, startOf func(int) time.Time) ([]*feedchain.Record, []timelineOff, error) {
	dir := filepath.Join(storeDir, layout.ChainDir(cam.Key.Address(), 0, feedchain.StreamMain))
	if err := os.MkdirAll(filepath.Join(dir, layout.SegDirName), 0o700); err != nil {
		return nil, nil, err
	}
	data := make([]byte, timelineSegmentSize)
	if _, err := io.ReadFull(rand.Reader, data); err != nil {
		return nil, nil, err
	}
	proto := filepath.Join(dir, "proto")
	if err := os.WriteFile(proto, data, 0o600); err != nil {
		return nil, nil, err
	}
	sum := feedchain.SegmentHash(data)
	recs := make([]*feedchain.Record, n)
	var prev feedchain.Hash
	for i := range n {
		r := &feedchain.Record{Camera: cam.Key.Address(), Seq: uint64(i), Prev: prev, Segment: sum,
			Start: startOf(i).UnixNano(), Duration: timelineSegment, Size: uint64(len(data)), Codec: evidencetest.Codec}
		prev = r.Hash() // the hash is over the body, not the signature
		recs[i] = r
	}
	// Sign on every core; link the segment files meanwhile.
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers+1)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				if err := recs[i].Sign(cam.Key); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range n {
			if err := os.Link(proto, filepath.Join(dir, layout.SegDirName, layout.SegName(uint64(i)))); err != nil {
				errs[workers] = err
				return
			}
		}
	})
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	os.Remove(proto)
	buf := layout.LogHeader()
	offs := make([]timelineOff, n)
	var endMax int64
	for i, r := range recs {
		endMax = max(endMax, r.Start+int64(r.Duration))
		offs[i] = timelineOff{off: int64(len(buf)), end: endMax}
		buf = layout.AppendEntry(buf, r.Marshal())
	}
	if err := os.WriteFile(filepath.Join(dir, layout.LogName), buf, 0o600); err != nil {
		return nil, nil, err
	}
	return recs, offs, nil
}

// timelineCheckpoints commits one camera-signed checkpoint per day of the
// chain.
func timelineCheckpoints(ctx context.Context, cam *evidencetest.Camera, recs []*feedchain.Record, startOf func(int) time.Time) error {
	tree := checkpoint.NewTree()
	perDay := 24 * timelineSegsPerHour
	var lastEnd uint64
	for d := range timelineDays {
		first, last := d*perDay, (d+1)*perDay-1
		for _, r := range recs[first : last+1] {
			tree.Append(r.Hash())
		}
		size := uint64(last + 1)
		root, err := tree.RootAt(size)
		if err != nil {
			return err
		}
		var cons []byte
		if first > 0 {
			p, err := tree.ConsistencyProof(uint64(first), size)
			if err != nil {
				return err
			}
			cons = checkpoint.EncodeProof(p)
		}
		start := max(uint64(startOf(first).Unix()), lastEnd)
		end := uint64(startOf(last).Add(timelineSegment + time.Second).Unix())
		m := &tx.Checkpoint{Camera: cam.Key.Address(), PeriodStart: start, PeriodEnd: end,
			FirstSeq: uint64(first), LastSeq: uint64(last), TreeSize: size, Root: root, ChainHead: recs[last].Hash(),
			Consistency: cons, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}
		s, err := tx.Sign(cam.Chain, m, cam.Key)
		if err != nil {
			return err
		}
		raw, err := s.Encode()
		if err != nil {
			return err
		}
		if _, err := cam.Client.Submit(ctx, raw); err != nil {
			return fmt.Errorf("checkpoint of day %d: %w", d, err)
		}
		lastEnd = end
	}
	return nil
}

// readRecordsFrom reads records.log from the entry at off and decodes
// records until one starts at or after to; it returns how many it read.
func readRecordsFrom(path string, off int64, to time.Time) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	er := layout.NewEntryReader(f)
	limit := to.UnixNano()
	n := 0
	for {
		rec, _, err := er.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		r, err := feedchain.Parse(rec)
		if err != nil {
			return n, err
		}
		if r.Start >= limit {
			return n, nil
		}
		n++
	}
}
