package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/camchain/camchain/internal/agent"
	"github.com/camchain/camchain/internal/ingest"
	cwallet "github.com/camchain/camchain/internal/wallet"
)

// Live glass-to-browser latency: from the agent receiving a frame from the
// camera to Chromium presenting it in the web UI's live view
// (requestVideoFrameCallback's presentationTime), every part and segment
// verified in the page first; beside `camchain watch --parts` having
// verified and written the same live feed in the same run (the CLI viewer:
// the same hub, socket, parts and checks, without a media pipeline). The
// agent streams parts (--parts 200ms, SPEC §7.3) and the page's live view
// asks for them (parts=1, §15.5). The pipeline is live.go's:
// ffmpeg plays a 720p clip in real time into camchain-testcam, the agent
// records it in this process (its RTSP source reports each frame's
// arrival by decode time), the hub is the real camchaind. The clip has no
// B-frames, so a frame's presentation time is its decode time and the
// page's frames are matched to the agent's exactly.
const playerLatencyTicks = 90000 // the video track's timescale (SPEC §7.1: 90 kHz)

func benchPlayerLatency(ctx context.Context, o *options) ([]Row, error) {
	bins := filepath.Dir(o.Bin)
	for _, b := range []string{"camchaind", "camchain", "camchain-testcam"} {
		if st, err := os.Stat(filepath.Join(bins, b)); err != nil || st.IsDir() {
			return nil, fmt.Errorf("%s not found: run `make build` first (`make bench` does)", filepath.Join(bins, b))
		}
	}
	tmp, err := os.MkdirTemp("", "camchain-bench-player-latency-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	clip := filepath.Join(tmp, "clip.mkv")
	o.Progress.Printf("   encoding a %s 1280x720 clip at %s (no B-frames) with ffmpeg", liveClip, liveBitrate)
	if out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25",
		"-t", fmt.Sprint(liveClip.Seconds()), "-vf", "noise=alls=12:allf=t", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "veryfast",
		"-b:v", liveBitrate, "-maxrate", liveBitrate, "-bufsize", liveBitrate, "-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-bf", "0",
		"-an", "-f", "matroska", clip).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ffmpeg: %w\n%s", err, out)
	}
	camPort, err := freePort()
	if err != nil {
		return nil, err
	}
	camAddr := "127.0.0.1:" + strconv.Itoa(camPort)
	cam, err := startProc(ctx, "camchain-testcam", "ready", filepath.Join(bins, "camchain-testcam"), "-addr", camAddr)
	if err != nil {
		return nil, err
	}
	defer cam.stop()
	ff := exec.Command("ffmpeg", "-hide_banner", "-v", "error", "-re", "-stream_loop", "-1", "-i", clip, "-c", "copy",
		"-rtsp_transport", "tcp", "-f", "rtsp", "rtsp://"+camAddr+"/main")
	if err := ff.Start(); err != nil {
		return nil, fmt.Errorf("ffmpeg: %w", err)
	}
	defer func() { ff.Process.Kill(); ff.Wait() }()
	hub, httpAddr, err := startHubProc(ctx, bins, tmp)
	if err != nil {
		return nil, err
	}
	defer hub.stop()
	l := &liveRun{bins: bins, tmp: tmp, env: append(os.Environ(), "CAMCHAIN_HOME="+filepath.Join(tmp, "home")), hubURL: "http://" + httpAddr,
		camURL: "rtsp://" + camAddr + "/main", agentData: filepath.Join(tmp, "agent")}

	o.Progress.Printf("   baseline: camchain watch --parts of the live feed (parts of %s): %s warm-up, %s measured", livePart, liveWarm, liveMeasure)
	w, err := l.measure(ctx, livePart, true) // pairs the agent and logs the CLI in
	if err != nil {
		return nil, fmt.Errorf("camchain watch: %w", err)
	}
	o.Progress.Printf("   the web UI's live view in Chromium: %s warm-up, %s measured", liveWarm, liveMeasure)
	b, err := l.measureBrowser(ctx)
	if err != nil {
		return nil, fmt.Errorf("Chromium: %w", err)
	}
	o.Progress.Printf("   Chromium: %d frames presented and matched (%d not matched), p50 %.0f ms, p90 %.0f ms; watch p50 %.0f ms; the frames' wait for their part to close p50 %.0f ms",
		len(b.lat), b.unmatched, ms(pct(b.lat, 50)), ms(pct(b.lat, 90)), ms(pct(w.lat, 50)), ms(pct(w.floor, 50)))
	note := fmt.Sprintf("glass = the agent's RTSP source receiving the frame (in the bench process); browser = Debian's Chromium presenting it in the web UI's live view (requestVideoFrameCallback presentationTime, as wall clock via performance.timeOrigin), every part verified in the page before it is appended (the agent streams %s parts, the page asks for them; each segment's record then binds its parts in the page); p50 of %d frames, p90 %.0f ms, max %.0f ms, %d dropped; moonshot 300 ms; ffmpeg plays a %s 1280x720 25 fps H.264 clip (%s, GOP 50, no B-frames, so frames are matched by their decode time exactly) in real time into camchain-testcam; the agent (%s segments) records, signs and uploads to a real camchaind on loopback; baseline: the same live feed through `camchain watch --parts` (verified and written) in the same run, p50 of %d frames; the frames' own wait for their part to close at the agent p50 %.0f ms; %s per viewer after %s of warm-up, on a 2-core machine shared with the whole pipeline",
		livePart, len(b.lat), ms(pct(b.lat, 90)), ms(pct(b.lat, 100)), b.dropped, liveClip, liveBitrate, liveSegment, len(w.lat), ms(pct(w.floor, 50)), liveMeasure, liveWarm)
	return []Row{
		NewRow("player.live_latency_p50_ms", "ms", ms(pct(b.lat, 50)), "live.latency via camchain watch --parts (p50)", ms(pct(w.lat, 50)), AtMost(1000), note),
	}, nil
}

type browserResult struct {
	lat       []time.Duration
	unmatched int
	dropped   int
}

// measureBrowser runs the agent, opens the live view in Chromium
// (ui/test/livelatency.mjs) as the owner, and matches each presented
// frame to the agent's receipt of it.
func (l *liveRun) measureBrowser(ctx context.Context) (browserResult, error) {
	var res browserResult
	var mu sync.Mutex
	arrived := map[uint64]time.Time{}
	src := &ingest.Source{URL: l.camURL, Target: liveSegment, Parts: livePart,
		OnFrame: func(dt uint64, at time.Time) { mu.Lock(); arrived[dt] = at; mu.Unlock() }}
	if err := src.Validate(); err != nil {
		return res, err
	}
	a, err := agent.Open(agent.Config{DataDir: l.agentData, Source: src, SourceName: src.Redacted()})
	if err != nil {
		return res, err
	}
	defer a.Close()
	// The agent ran before (the baseline's mode), its segments acknowledged:
	// the page starts once this run has a segment on the hub, so that the
	// live view begins with this run's media.
	before := seqOf(a.Status().Acked)
	if err := a.Start(); err != nil {
		return res, err
	}
	if err := waitUntil(ctx, time.Minute, func() bool { s := a.Status(); return s.Link == "connected" && seqOf(s.Acked) > before }); err != nil {
		return res, fmt.Errorf("agent not connected and recording a segment of this run: %w (status %+v)", err, a.Status())
	}
	k, err := cwallet.NewKeystore(filepath.Join(l.tmp, "keystore"), cwallet.LightScrypt).Load("bench passphrase")
	if err != nil {
		return res, err
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, "node", "test/livelatency.mjs", l.hubURL, "0x"+hex.EncodeToString(crypto.FromECDSA(k.ECDSA())), l.camera,
		fmt.Sprint((liveWarm + liveMeasure).Seconds()))
	cmd.Dir = "ui"
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return res, fmt.Errorf("ui/test/livelatency.mjs (needs npm ci --prefix ui and chromium): %w", err)
	}
	var page struct {
		Frames  [][2]float64 `json:"frames"`
		Dropped int          `json:"dropped"`
		State   string       `json:"state"`
	}
	if err := json.Unmarshal(out, &page); err != nil {
		return res, fmt.Errorf("livelatency output %q: %w", out, err)
	}
	// Parts flowing, the player shows "unverified-part" most of the time
	// (a segment's record binds its parts once it closes): either, never broken.
	if page.State != "verified" && page.State != "unverified-part" {
		return res, fmt.Errorf("the page's player ended %q, not verified or playing unverified parts", page.State)
	}
	res.dropped = page.Dropped
	if len(page.Frames) == 0 {
		return res, fmt.Errorf("Chromium presented no frame")
	}
	mu.Lock()
	defer mu.Unlock()
	warm := page.Frames[0][1] + float64(liveWarm.Milliseconds())
	for _, f := range page.Frames {
		if f[1] < warm {
			continue
		}
		ticks := uint64(math.Round(f[0] * playerLatencyTicks))
		at, ok := arrived[ticks]
		for d := uint64(1); !ok && d <= 2; d++ {
			if at, ok = arrived[ticks+d]; !ok {
				at, ok = arrived[ticks-d]
			}
		}
		if !ok {
			res.unmatched++
			continue
		}
		presented := time.UnixMicro(int64(f[1] * 1000))
		res.lat = append(res.lat, presented.Sub(at))
	}
	if len(res.lat) < int(liveMeasure/time.Second)*10 {
		return res, fmt.Errorf("only %d of %d presented frames matched the agent's (media time %.3f s first; %d frames received)", len(res.lat), len(page.Frames), page.Frames[0][0], len(arrived))
	}
	return res, nil
}
