package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"
)

// uiRuns is how many cold loads of each kind the UI benchmark measures.
const uiRuns = 7

// benchUIFirstLoad loads the web UI in Debian's Chromium from a real hub on
// loopback (ui/test/firstload.mjs): bytes transferred (compressed) and time
// to interactive, beside the HTML page alone, medians of cold loads.
func benchUIFirstLoad(ctx context.Context, o *options) ([]Row, error) {
	tmp, err := os.MkdirTemp("", "camchain-bench-ui-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	h, err := startBenchHub(filepath.Join(tmp, "hub"), false)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	o.Progress.Printf("   %d cold loads of the page, and of its HTML alone, in Chromium", uiRuns)
	cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, "node", "test/firstload.mjs", "http://"+h.Addr(), fmt.Sprint(uiRuns))
	cmd.Dir = "ui"
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ui/test/firstload.mjs (needs npm ci --prefix ui and chromium): %w", err)
	}
	var res struct {
		UI, HTML struct {
			Bytes []float64 `json:"bytes"`
			MS    []float64 `json:"ms"`
		}
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("firstload output %q: %w", out, err)
	}
	med := func(v []float64) float64 {
		if len(v) == 0 {
			return 0
		}
		s := append([]float64(nil), v...)
		sort.Float64s(s)
		return s[len(s)/2]
	}
	note := fmt.Sprintf("Chromium, fresh context per load (cold cache), hub on loopback; median of %d; bytes as Resource Timing's transferSize (headers and gzip bodies); interactive = the sign-in view rendered after GET /api/v1/status", uiRuns)
	return []Row{
		NewRow("ui.first_load_bytes", "KB", med(res.UI.Bytes)/1000, "the HTML page alone", med(res.HTML.Bytes)/1000, AtMost(300), note),
		NewRow("ui.time_to_interactive", "ms", med(res.UI.MS), "the HTML page alone (DOMContentLoaded)", med(res.HTML.MS), AtMost(500), note),
	}, nil
}
