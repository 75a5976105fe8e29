package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"

	"github.com/camchain/camchain/internal/agent"
	"github.com/camchain/camchain/internal/ingest"
)

// Live latency: from the agent receiving a frame from the camera to
// `camchain watch` having verified and written it, with parts (SPEC
// §7.3, --parts 200ms) and without (whole 2 s segments), in the same run.
// ffmpeg plays a 720p clip in real time into camchain-testcam; the agent
// runs in this process (its RTSP source tells the bench when each frame
// arrives, by decode time); the hub and `camchain watch` are the real
// binaries, watch writing into a FIFO that this process reads, taking the
// time each fragment (moof+mdat) has arrived whole. Frames are matched by
// their decode time (tfdt plus sample durations), not guessed.
const (
	liveClip    = 10 * time.Second
	liveBitrate = "2M"
	livePart    = 200 * time.Millisecond
	liveSegment = 2 * time.Second
	liveWarm    = 4 * time.Second  // from the viewer's start, not counted
	liveMeasure = 20 * time.Second // counted, per mode
)

func benchLiveLatency(ctx context.Context, o *options) ([]Row, error) {
	bins := filepath.Dir(o.Bin)
	for _, b := range []string{"camchaind", "camchain", "camchain-testcam"} {
		if st, err := os.Stat(filepath.Join(bins, b)); err != nil || st.IsDir() {
			return nil, fmt.Errorf("%s not found: run `make build` first (`make bench` does)", filepath.Join(bins, b))
		}
	}
	tmp, err := os.MkdirTemp("", "camchain-bench-live-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	l, stop, err := startLivePipeline(ctx, o, bins, tmp)
	if err != nil {
		return nil, err
	}
	defer stop()
	var res [2]liveResult
	for i, parts := range []time.Duration{livePart, 0} {
		name := "with parts of " + parts.String()
		if parts == 0 {
			name = "without parts (whole segments)"
		}
		o.Progress.Printf("   live view %s: %s warm-up, %s measured", name, liveWarm, liveMeasure)
		if res[i], err = l.measure(ctx, parts, i == 0); err != nil {
			return nil, fmt.Errorf("live view %s: %w", name, err)
		}
		o.Progress.Printf("   %s: %d frames matched, p50 %.0f ms, p90 %.0f ms (the frames' wait for their fragment to close at the agent: p50 %.0f ms)",
			name, len(res[i].lat), ms(pct(res[i].lat, 50)), ms(pct(res[i].lat, 90)), ms(pct(res[i].floor, 50)))
	}
	p, s := res[0], res[1]
	how := fmt.Sprintf("ffmpeg plays a %s 1280x720 25 fps H.264 clip (%s, GOP 50, 2 B-frames) in real time into camchain-testcam; the agent (in the bench process, real RTSP source, %s segments) records, signs, stores and uploads to a real camchaind on loopback; a real `camchain watch` verifies every frame (records, parts, session chain) and writes into a FIFO; latency = the time the bench has read a fragment whole minus the time the agent's RTSP source received each of its frames, frames matched by decode time; %s per mode after %s of warm-up, on a 2-core machine shared with the whole pipeline",
		liveClip, liveBitrate, liveSegment, liveMeasure, liveWarm)
	return []Row{
		NewRow("live.latency_parts_p50_ms", "ms", ms(pct(p.lat, 50)), "live.latency_segments_p50_ms", ms(pct(s.lat, 50)), AtMost(500),
			fmt.Sprintf("with parts of %s (agent --parts, watch --parts): p50 of %d frames, p90 %.0f ms, max %.0f ms; moonshot 300 ms; the frames' own wait for their part to close at the agent (the frame after the part arrived) p50 %.0f ms, and what the pipeline adds after it (sign, link, hub, socket, verify, write) p50 %.1f ms, p90 %.1f ms; baseline: the same run's live view without parts; %s",
				livePart, len(p.lat), ms(pct(p.lat, 90)), ms(pct(p.lat, 100)), ms(pct(p.floor, 50)), ms(pct(p.over, 50)), ms(pct(p.over, 90)), how)),
		NewRow("live.latency_segments_p50_ms", "ms", ms(pct(s.lat, 50)), "segment_close_wait_p50_ms", ms(pct(s.floor, 50)), nil,
			fmt.Sprintf("without parts (whole segments): p50 of %d frames, p90 %.0f ms; baseline: the frames' own wait, in this run, for their segment to close at the agent (the next keyframe's arrival), which no segment-based live view can beat; the pipeline adds after it p50 %.1f ms, p90 %.1f ms (the segment's fsync on the agent and the hub included); %s",
				len(s.lat), ms(pct(s.lat, 90)), ms(pct(s.over, 50)), ms(pct(s.over, 90)), how)),
	}, nil
}

// startLivePipeline starts what a live view is measured through, under
// tmp: ffmpeg playing a 720p clip in real time into camchain-testcam, and a
// real camchaind; the agent (in this process) and the viewer are started by
// liveRun.measure. stop ends them.
func startLivePipeline(ctx context.Context, o *options, bins, tmp string) (l *liveRun, stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	clip := filepath.Join(tmp, "clip.mkv")
	o.Progress.Printf("   encoding a %s 1280x720 clip at %s with ffmpeg", liveClip, liveBitrate)
	if err := makeClip(ctx, clip, "1280x720", liveBitrate, liveClip, false, "matroska"); err != nil {
		return nil, nil, err
	}
	camPort, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	camAddr := "127.0.0.1:" + strconv.Itoa(camPort)
	cam, err := startProc(ctx, "camchain-testcam", "ready", filepath.Join(bins, "camchain-testcam"), "-addr", camAddr)
	if err != nil {
		return nil, nil, err
	}
	stops = append(stops, cam.stop)
	ff := exec.Command("ffmpeg", "-hide_banner", "-v", "error", "-re", "-stream_loop", "-1", "-i", clip, "-c", "copy",
		"-rtsp_transport", "tcp", "-f", "rtsp", "rtsp://"+camAddr+"/main")
	if err := ff.Start(); err != nil {
		return nil, nil, fmt.Errorf("ffmpeg: %w", err)
	}
	stops = append(stops, func() { ff.Process.Kill(); ff.Wait() })
	hub, httpAddr, err := startHubProc(ctx, bins, tmp)
	if err != nil {
		return nil, nil, err
	}
	stops = append(stops, hub.stop)

	env := append(os.Environ(), "CAMCHAIN_HOME="+filepath.Join(tmp, "home"))
	l = &liveRun{bins: bins, tmp: tmp, env: env, hubURL: "http://" + httpAddr, camURL: "rtsp://" + camAddr + "/main", agentData: filepath.Join(tmp, "agent")}
	return l, stop, nil
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s) - 1) * p / 100
	return s[i]
}

// liveRun is the pipeline around the agent; the agent is paired once and
// restarted for each mode on the same data directory.
type liveRun struct {
	bins, tmp, agentData string
	env                  []string
	hubURL, camURL       string
	camera               string
	// e2ee, if set, is the agent's E2EE state (its status) each mode
	// waits for before the viewer starts and checks again at its end;
	// watchArgs are added to camchain watch's.
	e2ee      string
	watchArgs []string
}

type liveResult struct {
	lat   []time.Duration // per frame: viewer has it − agent received it
	floor []time.Duration // per frame: the frame after its fragment arrived at the agent − it did
	over  []time.Duration // per frame: lat − floor, what the pipeline adds (sign, link, hub, socket, verify, write)
}

// fragment is one moof+mdat the viewer wrote: its video frames' decode
// times and when the bench had it whole.
type fragment struct {
	decode []uint64
	at     time.Time
}

func (l *liveRun) measure(ctx context.Context, parts time.Duration, first bool) (liveResult, error) {
	var res liveResult
	var mu sync.Mutex
	arrived := map[uint64]time.Time{}
	src := &ingest.Source{URL: l.camURL, Target: liveSegment, Parts: parts,
		OnFrame: func(dt uint64, at time.Time) { mu.Lock(); arrived[dt] = at; mu.Unlock() }}
	if err := src.Validate(); err != nil {
		return res, err
	}
	a, err := agent.Open(agent.Config{DataDir: l.agentData, Source: src, SourceName: src.Redacted()})
	if err != nil {
		return res, err
	}
	defer a.Close()
	before := seqOf(a.Status().Acked) // a segment acknowledged in an earlier mode's run
	if err := a.Start(); err != nil {
		return res, err
	}
	if first {
		if err := pairAgent(ctx, l.bins, l.tmp, l.agentData, l.hubURL[len("http://"):]); err != nil {
			return res, err
		}
		l.camera = a.Address().Hex()
		if out, err := l.cli(ctx, "login", "--hub", l.hubURL, "--keystore", filepath.Join(l.tmp, "keystore"), "--passphrase-file", filepath.Join(l.tmp, "passphrase")).CombinedOutput(); err != nil {
			return res, fmt.Errorf("camchain login: %w\n%s", err, out)
		}
	}
	if err := waitUntil(ctx, time.Minute, func() bool {
		s := a.Status()
		return s.Link == "connected" && seqOf(s.Acked) > before && (l.e2ee == "" || s.E2EE == l.e2ee)
	}); err != nil {
		return res, fmt.Errorf("agent not connected and recording (e2ee %q wanted): %w (status %+v)", l.e2ee, err, a.Status())
	}

	fifo := filepath.Join(l.tmp, fmt.Sprintf("watch-%d.mp4", parts))
	os.Remove(fifo) // a mode measured again (the e2ee group) makes its own
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		return res, err
	}
	args := []string{"watch", "--camera", l.camera, "--hub", l.hubURL, "--out", fifo, "--duration", (liveWarm + liveMeasure + time.Second).String()}
	if parts > 0 {
		args = append(args, "--parts")
	}
	args = append(args, l.watchArgs...)
	w := l.cli(ctx, args...)
	var werr safeBuffer
	w.Stderr, w.Stdout = &werr, &werr
	if err := w.Start(); err != nil {
		return res, err
	}
	started := time.Now()
	f, err := os.Open(fifo) // blocks until watch opens it
	if err != nil {
		w.Process.Kill()
		w.Wait()
		return res, err
	}
	frags, rerr := readFragments(bufio.NewReaderSize(f, 1<<20), started.Add(liveWarm+liveMeasure))
	f.Close()
	w.Process.Kill()
	w.Wait()
	if rerr != nil {
		return res, fmt.Errorf("reading what watch wrote: %w\nwatch: %s", rerr, werr.String())
	}
	if s := a.Status(); l.e2ee != "" && s.E2EE != l.e2ee {
		return res, fmt.Errorf("the agent's e2ee is %q at the end, not %q", s.E2EE, l.e2ee)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, fr := range frags {
		if i+1 >= len(frags) || fr.at.Before(started.Add(liveWarm)) {
			continue
		}
		next, ok := arrived[frags[i+1].decode[0]]
		for _, d := range fr.decode {
			at, found := arrived[d]
			if !found || at.Before(started) {
				continue
			}
			res.lat = append(res.lat, fr.at.Sub(at))
			if ok {
				res.floor = append(res.floor, next.Sub(at))
				res.over = append(res.over, fr.at.Sub(next))
			}
		}
	}
	if len(res.lat) < int(liveMeasure/time.Second)*10 {
		return res, fmt.Errorf("only %d frames matched in %d fragments (watch: %s)", len(res.lat), len(frags), werr.String())
	}
	return res, nil
}

func (l *liveRun) cli(ctx context.Context, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, filepath.Join(l.bins, "camchain"), args...)
	c.Env = l.env
	return c
}

// readFragments reads an fMP4 stream box by box until until, returning
// each fragment's video decode times (track 1) and when it was read whole.
func readFragments(r io.Reader, until time.Time) ([]fragment, error) {
	var out []fragment
	var moof []byte
	for time.Now().Before(until) {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return out, nil
			}
			return out, err
		}
		size := int(binary.BigEndian.Uint32(hdr[:4]))
		if size < 8 || size > 64<<20 {
			return out, fmt.Errorf("box %q of %d bytes", hdr[4:], size)
		}
		box := make([]byte, size)
		copy(box, hdr[:])
		if _, err := io.ReadFull(r, box[8:]); err != nil {
			return out, err
		}
		switch string(hdr[4:]) {
		case "moof":
			moof = box
		case "mdat":
			if moof == nil {
				return out, errors.New("mdat without moof")
			}
			at := time.Now()
			var ps fmp4.Parts
			if err := ps.Unmarshal(append(moof, box...)); err != nil {
				return out, err
			}
			moof = nil
			for _, p := range ps {
				for _, tr := range p.Tracks {
					if tr.ID != 1 || len(tr.Samples) == 0 {
						continue
					}
					fr := fragment{at: at}
					d := tr.BaseTime
					for _, s := range tr.Samples {
						fr.decode = append(fr.decode, d)
						d += uint64(s.Duration)
					}
					out = append(out, fr)
				}
			}
		}
	}
	return out, nil
}

// safeBuffer is a bytes buffer safe for a child's stdout and stderr.
type safeBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.b) < 64<<10 {
		s.b = append(s.b, p...)
	}
	return len(p), nil
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}
