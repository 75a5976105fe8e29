package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The agent at a real RTSP camera: ffmpeg plays a 1080p 4 Mbit/s clip
// (main) and a 640×360 one (sub), both with AAC, in real time and in a loop
// into camchain-testcam; the agent records both and uploads to a hub.
const (
	rtspMainBitrate = "4M"
	rtspSubBitrate  = "512k"
	rtspClip        = 10 * time.Second
	rtspWarmUp      = 10 * time.Second
	rtspMeasure     = 60 * time.Second
)

func benchIngestAgent(ctx context.Context, o *options) ([]Row, error) {
	bins := filepath.Dir(o.Bin)
	for _, b := range []string{"camchaind", "camchain-agent", "camchain", "camchain-testcam"} {
		if st, err := os.Stat(filepath.Join(bins, b)); err != nil || st.IsDir() {
			return nil, fmt.Errorf("%s not found: run `make build` first (`make bench` does)", filepath.Join(bins, b))
		}
	}
	tmp, err := os.MkdirTemp("", "camchain-bench-rtsp-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	mainClip, subClip := filepath.Join(tmp, "main.mkv"), filepath.Join(tmp, "sub.mkv")
	o.Progress.Printf("   encoding %s clips with ffmpeg: 1920x1080 at %s, 640x360 at %s, AAC", rtspClip, rtspMainBitrate, rtspSubBitrate)
	if err := makeClip(ctx, mainClip, "1920x1080", rtspMainBitrate, rtspClip, true, "matroska"); err != nil {
		return nil, err
	}
	if err := makeClip(ctx, subClip, "640x360", rtspSubBitrate, rtspClip, true, "matroska"); err != nil {
		return nil, err
	}

	helloRSS, err := measureHelloRSS(ctx, tmp)
	if err != nil {
		return nil, err
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
	for _, p := range []struct{ clip, path string }{{mainClip, "/main"}, {subClip, "/sub"}} {
		cmd := exec.Command("ffmpeg", "-hide_banner", "-v", "error", "-re", "-stream_loop", "-1", "-i", p.clip, "-c", "copy",
			"-rtsp_transport", "tcp", "-f", "rtsp", "rtsp://"+camAddr+p.path)
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("ffmpeg: %w", err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
	}

	agentData := filepath.Join(tmp, "agent")
	hub, httpAddr, err := startHubProc(ctx, bins, tmp)
	if err != nil {
		return nil, err
	}
	defer hub.stop()

	agentBin, err := releasedAgent(ctx, tmp)
	if err != nil {
		return nil, err
	}
	a, err := startProc(ctx, "camchain-agent", "camchain-agent: camera", agentBin, "run", "--data", agentData,
		"--source", "rtsp://"+camAddr+"/main", "--sub-source", "rtsp://"+camAddr+"/sub", "--log-level", "warn")
	if err != nil {
		return nil, err
	}
	defer a.stop()
	fail := func(err error) ([]Row, error) { return nil, fmt.Errorf("%w\nagent output:\n%s", err, a.output()) }
	rss := sampleRSS(a.cmd.Process.Pid) // from exec to the end of the window
	defer rss.end()
	if err := pairAgent(ctx, bins, tmp, agentData, httpAddr); err != nil {
		return fail(err)
	}
	if err := waitUntil(ctx, agentConnectIn, func() bool {
		s, err := agentStatusOf(agentBin, agentData)
		return err == nil && s.Link == "connected" && seqOf(s.Head) >= 2
	}); err != nil {
		return fail(fmt.Errorf("agent not connected and recording: %w", err))
	}

	// The baseline: ffmpeg reading the same two streams, copying them to
	// nowhere: the RTSP/RTP work any recorder has to do.
	var readers []*exec.Cmd
	for _, path := range []string{"/main", "/sub"} {
		cmd := exec.Command("ffmpeg", "-hide_banner", "-v", "error", "-rtsp_transport", "tcp", "-i", "rtsp://"+camAddr+path, "-c", "copy", "-f", "null", "-")
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		readers = append(readers, cmd)
	}
	o.Progress.Printf("   agent recording main + sub and connected; warming up for %s", rtspWarmUp)
	select {
	case <-time.After(rtspWarmUp):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s0, err := agentStatusOf(agentBin, agentData)
	if err != nil {
		return fail(err)
	}
	var r0 time.Duration
	for _, c := range readers {
		d, err := procCPU(c.Process.Pid)
		if err != nil {
			return nil, err
		}
		r0 += d
	}
	t0 := time.Now()
	select {
	case <-time.After(rtspMeasure):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s1, err := agentStatusOf(agentBin, agentData)
	if err != nil {
		return fail(err)
	}
	var r1 time.Duration
	for _, c := range readers {
		d, err := procCPU(c.Process.Pid)
		if err != nil {
			return nil, fmt.Errorf("ffmpeg reader: %w", err)
		}
		r1 += d
	}
	wall := time.Since(t0)
	peak, err := rss.end()
	if err != nil {
		return fail(err)
	}
	cpu := float64(s1.CPUNanos-s0.CPUNanos) / float64(wall) * 100
	readerCPU := float64(r1-r0) / float64(wall) * 100
	// Each stream is its own chain (SPEC §6.1): count both.
	made := seqOf(s1.Head) - seqOf(s0.Head) + seqOf(s1.SubHead) - seqOf(s0.SubHead)
	acked := seqOf(s1.Acked) - seqOf(s0.Acked) + seqOf(s1.SubAcked) - seqOf(s0.SubAcked)
	upload := fmt.Sprintf("%d segments (main + sub) made and %d acknowledged in the window", made, acked)
	o.Progress.Printf("   agent CPU %.2f %% of one core (ffmpeg readers %.2f %%), RSS max %.1f MB; %s", cpu, readerCPU, peak, upload)
	// 2 s segments of each stream: 60 in 60 s.
	if want := int64(rtspMeasure/time.Second) * 2 / 2; made < want-4 || acked < made-5 {
		return fail(fmt.Errorf("the agent did not keep up: %s, want about %d", upload, want))
	}
	how := fmt.Sprintf("real camchain-agent (built as released: CGO_ENABLED=0 -trimpath -ldflags \"-s -w\", like the baseline) --source rtsp://…/main --sub-source rtsp://…/sub, paired with a real camchaind on loopback; ffmpeg plays, in real time and "+
		"in a loop (-re -stream_loop -1 -c copy), a %s 1920x1080 25 fps H.264 clip at %s (testsrc2 with temporal noise, GOP 50, 2 B-frames) and a 640x360 one at %s, "+
		"each with 64 kbit/s AAC, into camchain-testcam over RTSP/TCP; the agent segments both (2 s, audio kept), signs, stores, fsyncs and uploads; %s; "+
		"measured for %s after %s of warm-up", rtspClip, rtspMainBitrate, rtspSubBitrate, upload, rtspMeasure, rtspWarmUp)
	return []Row{
		NewRow("ingest.agent_rtsp.cpu_pct", "%", cpu, "ffmpeg.rtsp_read.cpu_pct", readerCPU, AtMost(2),
			"user+system CPU time from the agent's rusage (through `camchain-agent status`) over wall time, 100 % = one core; "+how+
				"; baseline: two ffmpeg processes reading the same two streams from the same server (-c copy -f null), their utime+stime from /proc over the same window"),
		NewRow("ingest.agent_rtsp.rss_mb", "MB", peak, "go.hello.rss_mb", helloRSS, AtMost(25),
			"max VmRSS (MB = 10^6 bytes) sampled every "+agentSample.String()+" from exec to the end of the window; "+how+"; baseline: a hello-world Go program asleep"),
	}, nil
}

// procCPU is a process's user+system CPU time from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no comm", pid)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state); utime is field 14, stime 15
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q stime %q", pid, f[11], f[12])
	}
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / clkTck, nil
}
