package ingest

import (
	"context"
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
