package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/feedchain/feedchaintest"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/store"
)

// Store append: the hub's durable write path for one chain.
const (
	storeSegments    = 48      // segments per run
	storeSegmentSize = 1 << 20 // bytes per segment
	storeRuns        = 7       // runs of each, alternating which goes first; the median is reported
)

func benchStoreAppend(ctx context.Context, o *options) ([]Row, error) {
	tmp, err := os.MkdirTemp("", "camchain-bench-store-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	k, err := keys.Generate()
	if err != nil {
		return nil, err
	}
	n := storeRuns * storeSegments
	o.Progress.Printf("   signing %d segments of %d bytes; store in %s", n, storeSegmentSize, tmp)
	cam := &feedchaintest.Chain{Camera: k.Address()}
	recs, segs := make([]*feedchain.Record, n), make([][]byte, n)
	rng := rand.NewChaCha8([32]byte{2})
	start := time.Now().Add(-time.Duration(n) * 2 * time.Second)
	for i := range n {
		segs[i] = make([]byte, storeSegmentSize)
		rng.Read(segs[i])
		if recs[i], err = cam.Add(k, segs[i], start.Add(time.Duration(i)*2*time.Second), 2*time.Second); err != nil {
			return nil, err
		}
	}
	st, err := store.Open(filepath.Join(tmp, "store"), store.Options{})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	chain, err := st.Chain(k.Address(), 0)
	if err != nil {
		return nil, err
	}
	plainDir := filepath.Join(tmp, "plain")
	if err := os.Mkdir(plainDir, 0o755); err != nil {
		return nil, err
	}

	var sRates, pRates []float64
	for run := range storeRuns {
		first := run * storeSegments
		storeRun := func() error {
			t0 := time.Now()
			for i := first; i < first+storeSegments; i++ {
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := chain.Append(recs[i], segs[i]); err != nil {
					return err
				}
			}
			sRates = append(sRates, storeSegments*storeSegmentSize/1e6/time.Since(t0).Seconds())
			return nil
		}
		plainRun := func() error {
			t0 := time.Now()
			for i := first; i < first+storeSegments; i++ {
				if err := writeSync(filepath.Join(plainDir, fmt.Sprintf("%016d.mp4", i)), segs[i]); err != nil {
					return err
				}
			}
			pRates = append(pRates, storeSegments*storeSegmentSize/1e6/time.Since(t0).Seconds())
			return nil
		}
		order := []func() error{storeRun, plainRun}
		if run%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, f := range order {
			if err := f(); err != nil {
				return nil, err
			}
		}
		o.Progress.Printf("   run %d/%d: store %.0f MB/s, write+fsync %.0f MB/s", run+1, storeRuns, sRates[run], pRates[run])
	}
	if h := chain.Head(); !h.Valid || h.Seq != uint64(n-1) {
		return nil, fmt.Errorf("store head %v after %d appends", h, n)
	}
	note := fmt.Sprintf("median of %d runs of %d %d-byte segments, alternating which goes first, one chain, under %s; store: verify signature, link and SHA-256, "+
		"segment to a temp file, fsync, rename, fsync dir, record to the log, fsync; baseline: each segment to its own file, write, fsync",
		storeRuns, storeSegments, storeSegmentSize, os.TempDir())
	return []Row{
		NewRow("hub.store_append", "MB/s", medianFloat(sRates), "disk.write_fsync", medianFloat(pRates), nil, note),
	}, nil
}

// writeSync creates path with data and fsyncs it.
func writeSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
