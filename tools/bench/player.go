package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/api/playconn"
	"github.com/camchain/camchain/internal/evidence/evidencetest"
	"github.com/camchain/camchain/internal/viewchain"
)

// The web player's own verification: a recorded session of the built-in
// sample (640×360 H.264, 2 s segments) as a real hub sends it over the
// playback socket, verified in Chromium by the page's Verifier
// (ui/src/viewchain.ts), beside SHA-256 alone of the same segments in the
// same page with the same library.
const (
	verifyRateSegments = 150 // five minutes
	verifyRateRuns     = 5   // the median is reported
)

func benchPlayerVerify(ctx context.Context, o *options) ([]Row, error) {
	tmp, err := os.MkdirTemp("", "camchain-bench-player-verify-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	o.Progress.Printf("   %d segments of the built-in sample on a real hub, played back over its socket", verifyRateSegments)
	in, err := recordedSession(ctx, tmp, nil)
	if err != nil {
		return nil, err
	}
	o.Progress.Printf("   %d runs in one Chromium page: the page's Verifier, then SHA-256 alone", verifyRateRuns)
	out, err := verifyRate(ctx, in)
	if err != nil {
		return nil, err
	}
	var res struct {
		Segments int       `json:"segments"`
		Bytes    int       `json:"bytes"`
		VerifyMS []float64 `json:"verifyMs"`
		ShaMS    []float64 `json:"shaMs"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("verifyrate output %q: %w", out, err)
	}
	if res.Segments != verifyRateSegments {
		return nil, fmt.Errorf("the page verified %d segments, want %d", res.Segments, verifyRateSegments)
	}
	v, s := medianF(res.VerifyMS), medianF(res.ShaMS)
	note := fmt.Sprintf("a real hub's recorded session of %d segments of the built-in sample (640x360 H.264, 2 s, %.0f KB average) over its playback socket, verified in Debian's Chromium by the page's own Verifier (ui/src/viewchain.ts: the hub's session-chain link and its signature, the camera's signature on each record, the record chain, SHA-256 of the bytes against the record; @noble/curves and @noble/hashes); baseline: SHA-256 alone of the same segments' bytes in the same page with the same library (@noble/hashes); median of %d runs (verify %.0f ms, SHA-256 %.0f ms); target ratio 0.5",
		res.Segments, float64(res.Bytes)/float64(res.Segments)/1000, verifyRateRuns, v, s)
	return []Row{
		NewRow("player.verify_segments_per_s", "segments/s", float64(res.Segments)/(v/1000), "player.sha256_segments_per_s", float64(res.Segments)/(s/1000), RatioAtLeast(0.5), note),
	}, nil
}

// recordedSession records verifyRateSegments segments of the built-in
// sample on a real hub under tmp (the camera made ready by prepare first,
// when given: to seal them), plays them back over the hub's socket and
// writes the session where it returns, for ui/test/verifyrate.mjs.
func recordedSession(ctx context.Context, tmp string, prepare func(cam *evidencetest.Camera) error) (string, error) {
	h, err := evidencetest.StartHub(filepath.Join(tmp, "hub"))
	if err != nil {
		return "", err
	}
	defer h.Close()
	cam, err := evidencetest.NewCamera(ctx, h)
	if err != nil {
		return "", err
	}
	if prepare != nil {
		if err := prepare(cam); err != nil {
			return "", err
		}
	}
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := cam.RecordSample(verifyRateSegments, t0, nil); err != nil {
		return "", err
	}
	in := filepath.Join(tmp, "session.json")
	return in, captureSession(ctx, cam, t0, verifyRateSegments, in)
}

// verifyRate runs ui/test/verifyrate.mjs on a recorded session, in
// Chromium, verifyRateRuns times, with args after those, and returns what
// it prints.
func verifyRate(ctx context.Context, session string, args ...string) ([]byte, error) {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, "node", append([]string{"test/verifyrate.mjs", session, fmt.Sprint(verifyRateRuns)}, args...)...)
	cmd.Dir = "ui"
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ui/test/verifyrate.mjs (needs npm ci --prefix ui and chromium): %w", err)
	}
	return out, nil
}

// captureSession records, as a viewer would receive it, the hub's playback
// session of cam's n segments from t0 (its binary frames, base64, with the
// hub, camera, stream and nonce to check them against) into the JSON file
// in, for ui/test/verifyrate.mjs.
func captureSession(ctx context.Context, cam *evidencetest.Camera, t0 time.Time, n int, in string) error {
	tok, err := cam.OwnerToken(ctx)
	if err != nil {
		return err
	}
	c, _ := api.NewClient(cam.URL)
	c.WithCredentials(api.StaticToken(tok))
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return err
	}
	p, err := playconn.Dial(ctx, c, cam.Key.Address().Hex(), api.PlayOptions{From: t0, To: t0.Add(time.Duration(n) * 2 * time.Second), Nonce: hex.EncodeToString(nonce[:]), Epoch: -1, MaxFrame: viewchain.MaxFrame})
	if err != nil {
		return err
	}
	session := struct {
		Hub    string   `json:"hub"`
		Camera string   `json:"camera"`
		Stream string   `json:"stream"`
		Nonce  string   `json:"nonce"`
		Frames []string `json:"frames"`
	}{Hub: p.Start.Hub, Camera: cam.Key.Address().Hex(), Stream: "main", Nonce: hex.EncodeToString(nonce[:])}
	for {
		m, err := p.Next(ctx)
		if errors.Is(err, api.ErrPlayEnded) {
			break
		}
		if err != nil {
			p.Close()
			return err
		}
		if m.Frame != nil {
			session.Frames = append(session.Frames, base64.StdEncoding.EncodeToString(m.Frame))
		}
	}
	p.Close()
	if len(session.Frames) != n+1 { // and the signed end
		return fmt.Errorf("the hub sent %d frames, want %d segments and the end", len(session.Frames), n)
	}
	b, err := json.Marshal(session)
	if err != nil {
		return err
	}
	if err := os.WriteFile(in, b, 0o600); err != nil {
		return err
	}
	return nil
}

func medianF(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
