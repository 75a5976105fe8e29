package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/verify"
	"github.com/camchain/camchain/internal/verify/verifytest"
)

// camchain verify over a directory of recordings, beside sha256sum over the
// same files.
const (
	verifySegments    = 200     // segment files in the chain
	verifySegmentSize = 1 << 20 // bytes per segment
	verifyRuns        = 3       // runs of each, alternating; the median is reported
	verifyChainID     = 4242
)

func benchVerify(ctx context.Context, o *options) ([]Row, error) {
	return runVerifyBench(ctx, o, verifySegments, verifySegmentSize, verifyRuns)
}

func runVerifyBench(ctx context.Context, o *options, n, size, runs int) ([]Row, error) {
	sum, err := exec.LookPath("sha256sum")
	if err != nil {
		return nil, fmt.Errorf("the baseline needs sha256sum (GNU coreutils): %w", err)
	}
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
	cps, err := chain.Checkpoints(verifyChainID, uint64(n/2-1), uint64(n-1))
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
	if err := runSha256sum(ctx, sum, files); err != nil {
		return nil, err
	}
	var vRates, sRates []float64
	for run := range runs {
		t0 := time.Now()
		if _, err := verifyChainDir(ctx, dir, cps, n); err != nil {
			return nil, err
		}
		vRates = append(vRates, mb/time.Since(t0).Seconds())
		t0 = time.Now()
		if err := runSha256sum(ctx, sum, files); err != nil {
			return nil, err
		}
		sRates = append(sRates, mb/time.Since(t0).Seconds())
		o.Progress.Printf("   run %d/%d: verify %.0f MB/s, sha256sum %.0f MB/s", run+1, runs, vRates[run], sRates[run])
	}
	v, s := verifyMedian(vRates), verifyMedian(sRates)
	note := fmt.Sprintf("median of %d runs, alternating, after one warm-up pass of each (page cache warm), of %d %d-byte segment files of one chain under %s; "+
		"verify: read records.log, hash every file (one goroutine per CPU), check every record's signature and link, rebuild the Merkle tree, "+
		"check 2 camera-signed checkpoints, judge every clip; baseline: one sha256sum process over the same files",
		runs, n, size, os.TempDir())
	return []Row{NewRow("verify.throughput", "MB/s", v, "sha256sum", s, AtLeast(0.9*s), note)}, nil
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
	cam, epoch, _ := verify.ChainID(dir)
	rep := verify.Verify(verify.Input{Camera: cam, Epoch: epoch, ChainID: verifyChainID, Records: l.Records, LogDamage: l.Damage,
		Clips: clips, Complete: true, PrunedBelow: pruned, Checkpoints: cps})
	if c := rep.Counts(); !rep.OK() || c[verify.Verified] != n {
		return nil, fmt.Errorf("verify of an untouched chain: %v, problems %v", c, rep.Problems)
	}
	return rep, nil
}

// runSha256sum hashes files with the real sha256sum and checks it printed
// a line per file.
func runSha256sum(ctx context.Context, bin string, files []string) error {
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, files...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("sha256sum: %w: %s", err, strings.TrimSpace(errb.String()))
	}
	if got := bytes.Count(out.Bytes(), []byte("\n")); got != len(files) {
		return fmt.Errorf("sha256sum printed %d lines for %d files", got, len(files))
	}
	return nil
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
