package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/verify"
	"github.com/camchain/camchain/internal/verify/verifytest"
)

// camchain verify over a directory of recordings, beside the physical limit
// of any check of them: SHA-256 of the same files on every core, with the
// same instructions (Go's crypto/sha256, which uses the CPU's SHA
// extensions where it has them).
const (
	verifySegments    = 200     // segment files in the chain
	verifySegmentSize = 1 << 20 // bytes per segment
	verifyRuns        = 15      // runs of each (~0.2 s), alternating which goes first; the median is reported
	verifyEVMChainID  = 4242
)

func benchVerify(ctx context.Context, o *options) ([]Row, error) {
	return runVerifyBench(ctx, o, verifySegments, verifySegmentSize, verifyRuns)
}

func runVerifyBench(ctx context.Context, o *options, n, size, runs int) ([]Row, error) {
	tmp, err := os.MkdirTemp("", "camchain-bench-verify-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	k, err := keys.Generate()
	if err != nil {
		return nil, err
	}
	o.Progress.Printf("   writing a chain of %d segments of %d bytes with two checkpoints; store in %s", n, size, tmp)
	chain := verifytest.NewChain(k, 0)
	if err := chain.AppendRandom(n, size, 5, time.Now().Add(-time.Duration(n)*2*time.Second)); err != nil {
		return nil, err
	}
	dir, err := chain.WriteStore(filepath.Join(tmp, "store"))
	if err != nil {
		return nil, err
	}
	cps, err := chain.Checkpoints(verifyEVMChainID, uint64(n/2-1), uint64(n-1))
	if err != nil {
		return nil, err
	}
	clips, err := verify.ListClips(filepath.Join(dir, verify.SegDirName))
	if err != nil {
		return nil, err
	}
	var files []string
	for _, c := range clips {
		files = append(files, c.Path)
	}
	mb := float64(n) * float64(size) / 1e6

	// One untimed pass of each warms the page cache for both alike.
	if _, err := verifyChainDir(ctx, dir, cps, n); err != nil {
		return nil, err
	}
	if err := hashFilesParallel(ctx, files); err != nil {
		return nil, err
	}
	var vRates, sRates []float64
	for run := range runs {
		// Alternate which goes first.
		verifyRun := func() error {
			t0 := time.Now()
			if _, err := verifyChainDir(ctx, dir, cps, n); err != nil {
				return err
			}
			vRates = append(vRates, mb/time.Since(t0).Seconds())
			return nil
		}
		hashRun := func() error {
			t0 := time.Now()
			if err := hashFilesParallel(ctx, files); err != nil {
				return err
			}
			sRates = append(sRates, mb/time.Since(t0).Seconds())
			return nil
		}
		order := []func() error{verifyRun, hashRun}
		if run%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, f := range order {
			if err := f(); err != nil {
				return nil, err
			}
		}
		o.Progress.Printf("   run %d/%d: verify %.0f MB/s, SHA-256 on %d cores %.0f MB/s", run+1, runs, vRates[run], runtime.GOMAXPROCS(0), sRates[run])
	}
	v, s := verifyMedian(vRates), verifyMedian(sRates)
	note := fmt.Sprintf("median of %d runs, alternating, after one warm-up pass of each (page cache warm), of %d %d-byte segment files of one chain under %s; "+
		"verify: read records.log, hash every file (one goroutine per CPU), check every record's signature and link, rebuild the Merkle tree, "+
		"check 2 camera-signed checkpoints, judge every clip; baseline: SHA-256 of the same files (each read whole into a buffer, crypto/sha256), one goroutine per core (%d), "+
		"the floor of any check of their bytes on this machine",
		runs, n, size, os.TempDir(), runtime.GOMAXPROCS(0))
	return []Row{NewRow("verify.throughput", "MB/s", v, "sha256.files.all_cores", s, RatioAtLeast(0.9), note)}, nil
}

// verifyChainDir is what `camchain verify DIR` does once its inputs are
// local: the read-only pipeline of internal/verify. It fails unless every
// one of n clips is verified.
func verifyChainDir(ctx context.Context, dir string, cps []verify.Checkpoint, n int) (*verify.Report, error) {
	l, err := verify.ReadLogFile(filepath.Join(dir, verify.LogName))
	if err != nil {
		return nil, err
	}
	clips, err := verify.ListClips(filepath.Join(dir, verify.SegDirName))
	if err != nil {
		return nil, err
	}
	if err := verify.HashClips(ctx, clips, 0, nil); err != nil {
		return nil, err
	}
	pruned, err := verify.ReadPruned(dir)
	if err != nil {
		return nil, err
	}
	cam, epoch, _, _ := verify.ParseChainDir(dir)
	rep := verify.Verify(verify.Input{Camera: cam, Epoch: epoch, EVMChainID: verifyEVMChainID, Records: l.Records, LogDamage: l.Damage,
		Clips: clips, Complete: true, PrunedBelow: pruned, Checkpoints: cps})
	if c := rep.Counts(); !rep.OK() || c[verify.Verified] != n {
		return nil, fmt.Errorf("verify of an untouched chain: %v, problems %v", c, rep.Problems)
	}
	return rep, nil
}

// hashFilesParallel computes the SHA-256 of every file, one goroutine per
// core taking the next file, each file read whole into the goroutine's
// buffer and hashed.
func hashFilesParallel(ctx context.Context, files []string) error {
	var next atomic.Int64
	workers := min(runtime.GOMAXPROCS(0), len(files))
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var buf []byte
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(files) {
					return
				}
				f, err := os.Open(files[i])
				if err != nil {
					errs <- err
					return
				}
				st, err := f.Stat()
				if err == nil {
					if int64(cap(buf)) < st.Size() {
						buf = make([]byte, st.Size())
					}
					_, err = io.ReadFull(f, buf[:st.Size()])
				}
				f.Close()
				if err != nil {
					errs <- fmt.Errorf("%s: %w", files[i], err)
					return
				}
				sha256.Sum256(buf[:st.Size()])
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}

func verifyMedian(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
