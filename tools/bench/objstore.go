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
	"github.com/camchain/camchain/internal/objstore"
	"github.com/camchain/camchain/internal/store"
	"github.com/camchain/camchain/internal/testutil/s3server"
)

// Segments into object storage: the hub's store appending to a bucket
// alone (--recordings s3://…) beside the same store appending to its disk.
const (
	objSegments    = 40      // segments per run
	objSegmentSize = 1 << 20 // bytes per segment: 2 s at 4 Mbit/s
	objRuns        = 9       // runs of each, alternating which goes first; the median is reported
)

func benchObjectStore(ctx context.Context, o *options) ([]Row, error) {
	tmp, err := os.MkdirTemp("", "camchain-bench-objstore-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	o.Progress.Printf("   building and starting versitygw (tools/s3server) on loopback")
	srv, err := s3server.New(filepath.Join(tmp, "s3"), "bench")
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	octx, cancel := context.WithTimeout(ctx, time.Minute)
	b, err := objstore.Open(octx, srv.Config("hub"))
	cancel()
	if err != nil {
		return nil, err
	}

	n := objRuns * objSegments
	k, err := keys.Generate()
	if err != nil {
		return nil, err
	}
	cam := &feedchaintest.Chain{Camera: k.Address()}
	recs, segs := make([]*feedchain.Record, n), make([][]byte, n)
	rng := rand.NewChaCha8([32]byte{3})
	start := time.Now().Add(-time.Duration(n) * 2 * time.Second)
	for i := range n {
		segs[i] = make([]byte, objSegmentSize)
		rng.Read(segs[i])
		if recs[i], err = cam.Add(k, segs[i], start.Add(time.Duration(i)*2*time.Second), 2*time.Second); err != nil {
			return nil, err
		}
	}
	open := func(name string, opts store.Options) (*store.Store, *store.Chain, error) {
		st, err := store.Open(filepath.Join(tmp, name), opts)
		if err != nil {
			return nil, nil, err
		}
		c, err := st.Chain(k.Address(), 0)
		if err != nil {
			st.Close()
			return nil, nil, err
		}
		return st, c, nil
	}
	diskStore, disk, err := open("disk", store.Options{})
	if err != nil {
		return nil, err
	}
	defer diskStore.Close()
	bucketStore, bucket, err := open("bucket", store.Options{Objects: b, ObjectsOnly: true})
	if err != nil {
		return nil, err
	}
	defer bucketStore.Close()

	var bRates, dRates []float64
	for run := range objRuns {
		first := run * objSegments
		into := func(c *store.Chain, rates *[]float64) func() error {
			return func() error {
				t0 := time.Now()
				for i := first; i < first+objSegments; i++ {
					if err := ctx.Err(); err != nil {
						return err
					}
					if err := c.Append(recs[i], segs[i]); err != nil {
						return err
					}
				}
				*rates = append(*rates, objSegments/time.Since(t0).Seconds())
				return nil
			}
		}
		order := []func() error{into(bucket, &bRates), into(disk, &dRates)}
		if run%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, f := range order {
			if err := f(); err != nil {
				return nil, err
			}
		}
		o.Progress.Printf("   run %d/%d: bucket %.1f segments/s, disk %.1f segments/s", run+1, objRuns, bRates[run], dRates[run])
	}
	if h := bucket.Head(); !h.Valid || h.Seq != uint64(n-1) {
		return nil, fmt.Errorf("bucket store head %v after %d appends", h, n)
	}
	note := fmt.Sprintf("median of %d runs of %d %d-byte segments, alternating which goes first, one chain; both: verify signature, link and SHA-256, record to the local log, fsync; "+
		"bucket: segment PUT then record PUT to versitygw v1.8.0 (posix backend, no fsync) on loopback, each answered before the next; disk: segment to a temp file, fsync, rename, fsync dir; under %s",
		objRuns, objSegments, objSegmentSize, os.TempDir())
	return []Row{
		NewRow("hub.store_objects", "segments/s", medianFloat(bRates), "hub.store_disk", medianFloat(dRates), nil, note),
	}, nil
}
