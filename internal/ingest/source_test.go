package ingest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/media"
	"github.com/camchain/camchain/internal/testcam"
)

func startCam(t *testing.T, user, pass string) *testcam.Server {
	t.Helper()
	s := &testcam.Server{Addr: "127.0.0.1:0", User: user, Pass: pass}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// collector gathers segments until it has n, then cancels.
type collector struct {
	mu     sync.Mutex
	segs   []media.Segment
	n      int
	cancel context.CancelFunc
}

func (c *collector) emit(s media.Segment) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.segs = append(c.segs, s)
	if len(c.segs) >= c.n {
		c.cancel()
	}
	return nil
}

func TestSourceRecordsTheTestCameraSample(t *testing.T) {
	cam := startCam(t, "", "")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := &collector{n: 3, cancel: cancel}
	src := &Source{URL: "rtsp://" + cam.Address() + testcam.SamplePath, Target: time.Second}
	if err := src.Run(ctx, c.emit); err != context.Canceled {
		t.Fatalf("Run: %v", err)
	}
	if len(c.segs) < 3 {
		t.Fatalf("%d segments", len(c.segs))
	}
	for i, s := range c.segs[:3] {
		t.Logf("segment %d: %v %v %d frames %s clock %v base %d", i, s.Start.Format(time.RFC3339Nano), s.Duration, s.Frames, s.Codec, s.Clock, s.BaseTime)
		if s.Codec != "avc1.4d401e" || s.Width != 640 || s.Height != 360 {
			t.Errorf("segment %d: %s %dx%d", i, s.Codec, s.Width, s.Height)
		}
		// Until the first RTCP sender report the clock is this machine's;
		// from then on, the camera's.
		if s.Clock != feedchain.ClockRTCP && (i > 0 || s.Clock != feedchain.ClockArrival) {
			t.Errorf("segment %d: clock %v, want rtcp (the test camera sends sender reports)", i, s.Clock)
		}
	}
	if c.segs[2].Clock != feedchain.ClockRTCP {
		t.Errorf("no segment took the camera's clock")
	}
	// The sample has an IDR every 2 s: 1 s target → 2 s segments, tiling.
	for i := 0; i < 2; i++ {
		a, b := c.segs[i], c.segs[i+1]
		if a.Duration != 2*time.Second || a.Frames != 50 {
			t.Errorf("segment %d: %v, %d frames", i, a.Duration, a.Frames)
		}
		if a.BaseTime+uint64(2*media.ClockRate) != b.BaseTime {
			t.Errorf("segments %d and %d: decode times do not tile", i, i+1)
		}
		// Wall-clock starts tile while the clock source stays; at the
		// switch they may step by the two clocks' difference.
		step := b.Start.Sub(a.Start.Add(a.Duration))
		if a.Clock == b.Clock && step != 0 || step < -100*time.Millisecond || step > 100*time.Millisecond {
			t.Errorf("segments %d and %d: start steps by %v (clocks %v, %v)", i, i+1, step, a.Clock, b.Clock)
		}
	}
}

// --rtsp-transport udp: RTP over UDP from a camera that offers UDP ports.
func TestSourceOverUDP(t *testing.T) {
	s := &testcam.Server{Addr: "127.0.0.1:0", UDPRTP: "127.0.0.1:18642", UDPRTCP: "127.0.0.1:18643"}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c := &collector{n: 2, cancel: cancel}
	var states []string
	var mu sync.Mutex
	src := &Source{URL: "rtsp://" + s.Address() + testcam.SamplePath, Transport: UDP, Target: time.Second,
		OnState: func(st string) { mu.Lock(); states = append(states, st); mu.Unlock() }}
	if err := src.Run(ctx, c.emit); err != context.Canceled {
		t.Fatalf("Run: %v (states %v)", err, states)
	}
	if len(c.segs) < 2 || c.segs[1].Frames != 50 {
		t.Fatalf("%d segments", len(c.segs))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(states) < 2 || states[0] != "connecting" || states[1] != "recording" {
		t.Fatalf("states %v", states)
	}
}

// A source the camera refuses keeps retrying, with backoff, until ctx ends.
func TestSourceRetriesACameraThatRefuses(t *testing.T) {
	cam := startCam(t, "admin", "right")
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	var mu sync.Mutex
	var states []string
	src := &Source{URL: "rtsp://admin:wrong@" + cam.Address() + testcam.SamplePath, MinBackoff: 100 * time.Millisecond, MaxBackoff: 400 * time.Millisecond,
		OnState: func(st string) { mu.Lock(); states = append(states, st); mu.Unlock() }}
	err := src.Run(ctx, func(media.Segment) error { t.Error("a segment from a refused connection"); return nil })
	if err != context.DeadlineExceeded {
		t.Fatalf("Run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	retries := 0
	for _, s := range states {
		if strings.HasPrefix(s, "retrying") {
			retries++
			if !strings.Contains(s, "401") || strings.Contains(s, "wrong") {
				t.Errorf("state %q", s)
			}
		}
	}
	if retries < 4 || retries > 12 {
		t.Fatalf("%d retries in 2.5 s with 100-400 ms backoff: %v", retries, states)
	}
}
