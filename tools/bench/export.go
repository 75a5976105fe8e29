package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/evidence/evidencetest"
	"github.com/camchain/camchain/internal/export"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/store/layout"
)

// Export of one hour: camchain export's work (the hub builds and streams
// the evidence bundle of 1,800 real fMP4 segments of the built-in sample
// over loopback HTTP; the client verifies it against the pinned validator
// set — every signature, every segment's SHA-256, every inclusion proof —
// and writes the MP4 and the evidence file atomically) in MB/s of video,
// beside copying the same segment files out of the hub's store into one
// file, fsynced.
const (
	exportSegments = 3600 / 2
	exportRuns     = 3
)

func benchExportHour(ctx context.Context, o *options) ([]Row, error) {
	tmp, err := os.MkdirTemp("", "camchain-bench-export-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	hubDir := filepath.Join(tmp, "hub")
	h, err := evidencetest.StartHub(hubDir)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	cam, err := evidencetest.NewCamera(ctx, h)
	if err != nil {
		return nil, err
	}
	t0 := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	o.Progress.Printf("   recording one hour: %d segments of the built-in sample (640×360 H.264)", exportSegments)
	if err := cam.RecordSample(exportSegments, t0, nil); err != nil {
		return nil, err
	}
	if err := cam.Checkpoint(ctx); err != nil {
		return nil, err
	}
	pin, err := evidencetest.PinnedValidatorsHash(hubDir)
	if err != nil {
		return nil, err
	}
	segDir := filepath.Join(h.Store().Dir(), layout.ChainDir(cam.Key.Address(), 0, feedchain.StreamMain), layout.SegDirName)
	var total int64
	for _, s := range cam.Segments {
		total += int64(len(s))
	}
	mb := float64(total) / 1e6

	exportRun := func(run int) (float64, error) {
		start := time.Now()
		data, err := cam.Client.Evidence(ctx, cam.Key.Address().Hex(), api.EvidenceQuery{From: t0.Add(-time.Second), To: t0.Add(time.Hour + time.Minute), Epoch: -1}, evidence.MaxBundleBytes)
		if err != nil {
			return 0, err
		}
		s, err := export.Save(data, filepath.Join(tmp, fmt.Sprintf("hour-%d.mp4", run)), evidence.Options{PinnedValidatorsHash: pin, Now: time.Now()}, true)
		if err != nil {
			return 0, err
		}
		d := time.Since(start)
		if len(s.Report.Clips) != exportSegments || s.Bytes > total {
			return 0, fmt.Errorf("exported %d clips, %d bytes of %d", len(s.Report.Clips), s.Bytes, total)
		}
		return mb / d.Seconds(), nil
	}
	copyRun := func(run int) (float64, error) {
		start := time.Now()
		out, err := os.OpenFile(filepath.Join(tmp, fmt.Sprintf("copy-%d.mp4", run)), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return 0, err
		}
		var n int64
		for seq := range exportSegments {
			f, err := os.Open(filepath.Join(segDir, layout.SegName(uint64(seq))))
			if err != nil {
				out.Close()
				return 0, err
			}
			k, err := io.Copy(out, f)
			f.Close()
			if err != nil {
				out.Close()
				return 0, err
			}
			n += k
		}
		if err := out.Sync(); err != nil {
			out.Close()
			return 0, err
		}
		if err := out.Close(); err != nil {
			return 0, err
		}
		if n != total {
			return 0, fmt.Errorf("copied %d bytes of %d", n, total)
		}
		return mb / time.Since(start).Seconds(), nil
	}
	// One untimed pass of each warms the page cache for both alike.
	if _, err := exportRun(-1); err != nil {
		return nil, err
	}
	if _, err := copyRun(-1); err != nil {
		return nil, err
	}
	var eRates, cRates []float64
	for run := range exportRuns {
		order := []func(int) (float64, error){exportRun, copyRun}
		if run%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for k, f := range order {
			r, err := f(run)
			if err != nil {
				return nil, err
			}
			if (k == 0) == (run%2 == 0) {
				eRates = append(eRates, r)
			} else {
				cRates = append(cRates, r)
			}
		}
		o.Progress.Printf("   run %d/%d: export %.0f MB/s, copy %.0f MB/s", run+1, exportRuns, eRates[run], cRates[run])
	}
	slices.Sort(eRates)
	slices.Sort(cRates)
	e, c := eRates[len(eRates)/2], cRates[len(cRates)/2]
	note := fmt.Sprintf("median of %d runs, alternating, after a warm-up of each; one hour = %d segments, %.1f MB (%.2f Mbit/s: the sample is 640×360); export as camchain export does it: GET …/evidence (the API client, owner's token) from a real hub on loopback (it recomputes the checkpoint root and streams the bundle), verify against the pinned validator set, write the MP4 and its evidence file atomically; baseline: read the same segment files from the hub's store and write them into one file, fsync; under %s",
		exportRuns, exportSegments, mb, mb*8/3600, os.TempDir())
	return []Row{NewRow("export.hour_mb_s", "MB/s", e, "copy of the segment files", c, RatioAtLeast(0.5), note)}, nil
}
