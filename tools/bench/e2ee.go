package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// End-to-end encryption's cost (docs/SPEC.md §17, issue 18): the same
// measurements as agent.footprint's CPU and live.latency's with parts, run
// with E2EE off and on in one run — the owner signing the Encryption policy
// through `camchain encryption --on` (and --off), as a user does, and each
// measurement waiting until the agent's status says so — so that the
// difference is what sealing (the agent) and opening (camchain watch, with
// the wallet's viewing key) add.
func benchE2EE(ctx context.Context, o *options) ([]Row, error) {
	bins := filepath.Dir(o.Bin)
	for _, b := range []string{"camchaind", "camchain-agent", "camchain", "camchain-testcam"} {
		if st, err := os.Stat(filepath.Join(bins, b)); err != nil || st.IsDir() {
			return nil, fmt.Errorf("%s not found: run `make build` first (`make bench` does)", filepath.Join(bins, b))
		}
	}
	off, on, cpuHow, err := e2eeAgentCPU(ctx, o, bins)
	if err != nil {
		return nil, err
	}
	loff, lon, liveHow, err := e2eeLiveLatency(ctx, o, bins)
	if err != nil {
		return nil, err
	}
	p50off, p50on := ms(pct(loff.lat, 50)), ms(pct(lon.lat, 50))
	return []Row{
		NewRow("e2ee.agent_cpu", "%", on.cpuPct, "e2ee.agent_cpu_off", off.cpuPct, RatioAtMost(1.2),
			fmt.Sprintf("the agent's CPU with E2EE on (every segment sealed before the card and the link): user+system from its own rusage through `camchain-agent status` over a window of %s, 100 %% = one core; on: %s; baseline: the same agent in the same run with E2EE off: %s; %s",
				agentMeasure, on.upload, off.upload, cpuHow)),
		NewRow("e2ee.live_latency_added_ms", "ms", p50on-p50off, "e2ee.live_latency_off_p50_ms", p50off, AtMost(100),
			fmt.Sprintf("what E2EE adds to the live view with parts of %s: p50 with E2EE on minus p50 without, the agent receiving a frame to `camchain watch --parts` having verified, decrypted (the wallet's viewing key) and written it; on: p50 %.0f ms of %d frames (p90 %.0f ms, the pipeline after the part closed p50 %.1f ms); off: p50 %.0f ms of %d frames (p90 %.0f ms, after the part closed p50 %.1f ms); baseline: the same run's live view with E2EE off; %s",
				livePart, p50on, len(lon.lat), ms(pct(lon.lat, 90)), ms(pct(lon.over, 50)), p50off, len(loff.lat), ms(pct(loff.lat, 90)), ms(pct(loff.over, 50)), liveHow)),
	}, nil
}

// e2eeAgentCPU is agent.footprint's 4 Mbit/s phase four times on one
// paired agent and hub, E2EE off, on, on, off, the owner switching it
// while the agent runs.
func e2eeAgentCPU(ctx context.Context, o *options, bins string) (off, on phaseResult, how string, err error) {
	tmp, err := os.MkdirTemp("", "camchain-bench-e2ee-agent-*")
	if err != nil {
		return off, on, "", err
	}
	defer os.RemoveAll(tmp)
	hub, httpAddr, err := startHubProc(ctx, bins, tmp)
	if err != nil {
		return off, on, "", err
	}
	defer hub.stop()
	agentBin, agentData := filepath.Join(bins, "camchain-agent"), filepath.Join(tmp, "agent")
	waitE2EE := func(want string) error {
		var s agentStatus
		if err := waitUntil(ctx, time.Minute, func() bool {
			var err error
			s, err = agentStatusOf(agentBin, agentData)
			return err == nil && s.E2EE == want
		}); err != nil {
			return fmt.Errorf("the agent's e2ee is %q, not %q: %w", s.E2EE, want, err)
		}
		return nil
	}

	// Two rounds in alternating order, off on | on off: the first boot
	// (pairing) is off's, the rest restarts; each mode's figure is the
	// mean of its two windows.
	var offs, ons []phaseResult
	for i, mode := range []string{e2eeOffState, e2eeOnState, e2eeOnState, e2eeOffState} {
		o.Progress.Printf("   agent at %.1f Mbit/s, E2EE %s (window %d of 4)", agentBitrate/1e6, mode, i+1)
		r, err := agentPhase(ctx, o, bins, agentData, agentBitrate, func() error {
			if i == 0 {
				if err := pairAgent(ctx, bins, tmp, agentData, httpAddr); err != nil {
					return err
				}
			}
			if err := waitUntil(ctx, time.Minute, func() bool { s, err := agentStatusOf(agentBin, agentData); return err == nil && s.E2EE != "" }); err != nil {
				return fmt.Errorf("the agent's status says nothing of e2ee: %w", err)
			}
			s, err := agentStatusOf(agentBin, agentData)
			if err != nil {
				return err
			}
			if s.E2EE != mode {
				if err := setEncryption(ctx, bins, tmp, "http://"+httpAddr, s.Camera, mode == e2eeOnState); err != nil {
					return err
				}
			}
			return waitE2EE(mode)
		})
		if err != nil {
			return off, on, "", fmt.Errorf("agent with E2EE %s (window %d): %w", mode, i+1, err)
		}
		if mode == e2eeOnState {
			ons = append(ons, r)
		} else {
			offs = append(offs, r)
		}
	}
	mean := func(rs []phaseResult) phaseResult {
		m := phaseResult{}
		var ups []string
		for _, r := range rs {
			m.cpuPct += r.cpuPct / float64(len(rs))
			ups = append(ups, fmt.Sprintf("%.2f %% (%s)", r.cpuPct, r.upload))
		}
		m.upload = strings.Join(ups, "; ")
		return m
	}
	off, on = mean(offs), mean(ons)
	o.Progress.Printf("   CPU with E2EE off %.2f %%, on %.2f %% (means of two windows each)", off.cpuPct, on.cpuPct)
	how = fmt.Sprintf("real camchain-agent paired with a real camchaind on loopback, sample clip at real time (a 2 s segment every 2 s) padded by an MP4 free box to %.1f Mbit/s (--pad-bitrate; the padding is sealed with the rest), "+
		"as agent.footprint measures it; windows of %s after %s of warm-up each, the agent restarted for each, the owner signing `camchain encryption --on` or `--off` while it runs and the window starting only once its status says so; two rounds in alternating order (off on | on off, the first boot off's), each mode the mean of its two windows; on a 2-core machine shared with the hub",
		agentBitrate/1e6, agentMeasure, agentWarmUp)
	return off, on, how, nil
}

// e2eeLiveLatency is live.latency's measurement with parts twice on one
// pipeline: E2EE off, then on.
func e2eeLiveLatency(ctx context.Context, o *options, bins string) (off, on liveResult, how string, err error) {
	tmp, err := os.MkdirTemp("", "camchain-bench-e2ee-live-*")
	if err != nil {
		return off, on, "", err
	}
	defer os.RemoveAll(tmp)
	l, stop, err := startLivePipeline(ctx, o, bins, tmp)
	if err != nil {
		return off, on, "", err
	}
	defer stop()
	// The same watch command in both modes: the wallet that holds the
	// viewing key, used once a segment is sealed.
	l.watchArgs = walletFlags(tmp)

	o.Progress.Printf("   live view with parts of %s, E2EE off: %s warm-up, %s measured", livePart, liveWarm, liveMeasure)
	l.e2ee = e2eeOffState
	if off, err = l.measure(ctx, livePart, true); err != nil {
		return off, on, "", fmt.Errorf("live view with E2EE off: %w", err)
	}
	o.Progress.Printf("   E2EE off: %d frames matched, p50 %.0f ms, p90 %.0f ms", len(off.lat), ms(pct(off.lat, 50)), ms(pct(off.lat, 90)))
	if err := setEncryption(ctx, bins, tmp, l.hubURL, l.camera, true); err != nil {
		return off, on, "", err
	}
	o.Progress.Printf("   live view with parts of %s, E2EE on: %s warm-up, %s measured", livePart, liveWarm, liveMeasure)
	l.e2ee = e2eeOnState
	if on, err = l.measure(ctx, livePart, false); err != nil {
		return off, on, "", fmt.Errorf("live view with E2EE on: %w", err)
	}
	o.Progress.Printf("   E2EE on: %d frames matched, p50 %.0f ms, p90 %.0f ms", len(on.lat), ms(pct(on.lat, 50)), ms(pct(on.lat, 90)))
	how = fmt.Sprintf("as live.latency: ffmpeg plays a %s 1280x720 25 fps H.264 clip (%s) in real time into camchain-testcam; the agent in the bench process (real RTSP source, %s segments, parts of %s) records, seals (on), signs, stores and uploads to a real camchaind on loopback; a real `camchain watch --parts` verifies and decrypts into a FIFO; frames matched by decode time; %s per mode after %s of warm-up, off first then on (the agent restarted between, waiting for its status to say so), one round each; on a 2-core machine shared with the whole pipeline",
		liveClip, liveBitrate, liveSegment, livePart, liveMeasure, liveWarm)
	return off, on, how, nil
}

// The agent's E2EE states as its status says them (internal/agent).
const (
	e2eeOffState = "off"
	e2eeOnState  = "on"
)

// walletFlags are the CLI flags of the wallet pairAgent made under tmp.
func walletFlags(tmp string) []string {
	return []string{"--keystore", filepath.Join(tmp, "keystore"), "--passphrase-file", filepath.Join(tmp, "passphrase")}
}

// setEncryption signs the owner's Encryption policy for camera (on or off)
// with the wallet pairAgent made under tmp, as a user does.
func setEncryption(ctx context.Context, bins, tmp, hubURL, camera string, on bool) error {
	flag := "--off"
	if on {
		flag = "--on"
	}
	cmd := exec.CommandContext(ctx, filepath.Join(bins, "camchain"), append([]string{"encryption", "--camera", camera, flag, "--hub", hubURL}, walletFlags(tmp)...)...)
	cmd.Env = append(os.Environ(), "CAMCHAIN_HOME="+filepath.Join(tmp, "home"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("camchain encryption %s: %w\n%s", flag, err, out)
	}
	return nil
}
