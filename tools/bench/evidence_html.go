package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/evidence/evidencetest"
	"github.com/camchain/camchain/internal/webui"
)

// The offline HTML verifier beside the CLI on one hour of evidence.
const (
	htmlEvidenceClips     = 1800     // one hour of 2 s segments
	htmlEvidenceClipBytes = 32 << 10 // 2 s at about 128 kbit/s: a sub-stream bitrate (see the note)
	htmlEvidenceRuns      = 3        // the median is reported
)

// benchEvidenceHTML verifies a 1-hour bundle (1800 clips under two
// checkpoints, made by a real hub) in Chromium with the page `camchain
// evidence export --html` writes, beside the real `camchain evidence
// verify` of the same bundle.
func benchEvidenceHTML(ctx context.Context, o *options) ([]Row, error) {
	tmp, err := os.MkdirTemp("", "camchain-bench-evidence-html-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	camchain := filepath.Join(tmp, "camchain")
	o.Progress.Printf("   building camchain")
	if err := goBuild(ctx, ".", camchain, "./cmd/camchain", nil); err != nil {
		return nil, err
	}
	h, err := evidencetest.StartHub(filepath.Join(tmp, "hub"))
	if err != nil {
		return nil, err
	}
	defer h.Close()
	pin, err := evidencetest.PinnedValidatorsHash(filepath.Join(tmp, "hub"))
	if err != nil {
		return nil, err
	}
	cam, err := evidencetest.NewCamera(ctx, h)
	if err != nil {
		return nil, err
	}
	o.Progress.Printf("   %d clips of %d bytes under 2 checkpoints on a real hub", htmlEvidenceClips, htmlEvidenceClipBytes)
	t0 := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	half := htmlEvidenceClips / 2
	for i := range 2 {
		if err := cam.Record(half, t0.Add(time.Duration(i*half)*2*time.Second), 2*time.Second, htmlEvidenceClipBytes); err != nil {
			return nil, err
		}
		if err := cam.Checkpoint(ctx); err != nil {
			return nil, err
		}
	}
	data, err := cam.Export(ctx, t0, t0.Add(time.Hour))
	if err != nil {
		return nil, err
	}
	if rep, err := evidence.VerifyBytes(data, evidence.Options{PinnedValidatorsHash: pin}); err != nil || len(rep.Clips) != htmlEvidenceClips {
		return nil, fmt.Errorf("the bundle does not verify: %v", err)
	}
	bundle, page := filepath.Join(tmp, "hour.cbor"), filepath.Join(tmp, "hour.html")
	html, err := webui.VerifierPage(data)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(bundle, data, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(page, html, 0o600); err != nil {
		return nil, err
	}
	pinHex := hex.EncodeToString(pin)

	var cli []time.Duration
	for range htmlEvidenceRuns {
		start := time.Now()
		if b, err := exec.CommandContext(ctx, camchain, "evidence", "verify", bundle, "--validators-hash", pinHex).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("camchain evidence verify: %w\n%s", err, b)
		}
		cli = append(cli, time.Since(start))
	}
	o.Progress.Printf("   %d page loads in Chromium (%d MB page)", htmlEvidenceRuns, len(html)>>20)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, "node", "test/verifybench.mjs", page, pinHex, fmt.Sprint(htmlEvidenceRuns))
	cmd.Dir = "ui"
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ui/test/verifybench.mjs (needs npm ci --prefix ui and chromium): %w", err)
	}
	var res struct {
		TotalMs, VerifyMs []float64
		Verdict           string
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res.TotalMs) == 0 {
		return nil, fmt.Errorf("verifybench output %q: %v", out, err)
	}
	if res.Verdict != "ok" {
		return nil, fmt.Errorf("the page's verdict on the genuine bundle is %q", res.Verdict)
	}
	slices.Sort(cli)
	slices.Sort(res.TotalMs)
	slices.Sort(res.VerifyMs)
	cliS := cli[len(cli)/2].Seconds()
	pageS, verifyS := res.TotalMs[len(res.TotalMs)/2]/1000, res.VerifyMs[len(res.VerifyMs)/2]/1000
	note := fmt.Sprintf("a 1-hour bundle made by a real hub: %d clips of 2 s (%d bytes each: one hour at ~128 kbit/s; an hour at 4 Mbit/s would be 1.8 GB, over the 1 GiB bundle limit) under 2 checkpoints, %d bytes, pinned; "+
		"page: Chromium, file://, offline, navigation to verdict (load, base64 decode, verification; verification alone %.2f s), median of %d fresh pages; "+
		"baseline: the real `camchain evidence verify --validators-hash` of the same bundle, process start to exit, median of %d", htmlEvidenceClips, htmlEvidenceClipBytes, len(data), verifyS, htmlEvidenceRuns, htmlEvidenceRuns)
	return []Row{
		NewRow("evidence.html_verify_clips_per_s", "clips/s", htmlEvidenceClips/pageS, "camchain evidence verify", htmlEvidenceClips/cliS, RatioAtLeast(0.2), note),
	}, nil
}
