package media

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

func TestSampleSourceOnce(t *testing.T) {
	var segs []Segment
	src := SampleSource{Clock: fixedClock}
	if err := src.Run(context.Background(), collect(&segs)); err != nil {
		t.Fatal(err)
	}
	if len(segs) != sampleFrames/sampleGOP {
		t.Fatalf("%d segments, want %d", len(segs), sampleFrames/sampleGOP)
	}
	for i, seg := range segs {
		if seg.Frames != sampleGOP || seg.Duration != 2*time.Second || seg.Codec != sampleCodec {
			t.Errorf("segment %d: %d frames, %v, %s", i, seg.Frames, seg.Duration, seg.Codec)
		}
		if want := t0.Add(time.Duration(i) * 2 * time.Second); !seg.Start.Equal(want) {
			t.Errorf("segment %d: Start %v, want %v", i, seg.Start, want)
		}
	}
	checkTiling(t, segs)
}

func TestSampleSourceLoop(t *testing.T) {
	const want = 3*sampleFrames/sampleGOP + 1 // three loops and a bit
	stop := errors.New("stop")
	var segs []Segment
	src := SampleSource{Loop: true, Clock: fixedClock}
	err := src.Run(context.Background(), func(s Segment) error {
		segs = append(segs, s)
		if len(segs) == want {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("Run: %v, want the error from emit", err)
	}
	if len(segs) != want {
		t.Fatalf("%d segments, want %d", len(segs), want)
	}
	for i, seg := range segs {
		p := parseSegment(t, seg)
		if seg.Frames != sampleGOP || seg.Duration != 2*time.Second {
			t.Errorf("segment %d: %d frames, %v", i, seg.Frames, seg.Duration)
		}
		if want := t0.Add(time.Duration(i) * 2 * time.Second); !seg.Start.Equal(want) {
			t.Errorf("segment %d: Start %v, want %v", i, seg.Start, want)
		}
		if want := uint64(i) * 2 * ClockRate; p.track.BaseTime != want {
			t.Errorf("segment %d: BaseTime %d, want %d", i, p.track.BaseTime, want)
		}
	}
	checkTiling(t, segs)

	// A loop repeats the pictures; only the timing differs.
	gops := sampleFrames / sampleGOP
	a, b := segs[1], segs[1+gops]
	if bytes.Equal(a.Data, b.Data) {
		t.Error("a looped segment is byte-identical to its first showing: timestamps did not advance")
	}
	if !bytes.Equal(a.Data[:a.InitLen], b.Data[:b.InitLen]) {
		t.Error("init sections differ between loops")
	}
}

func TestSampleSourceCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var segs []Segment
	src := SampleSource{Loop: true, Clock: fixedClock}
	err := src.Run(ctx, func(s Segment) error {
		segs = append(segs, s)
		if len(segs) == 2 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v, want context.Canceled", err)
	}
	// The cancel came while the keyframe starting the third segment was
	// being written; Run flushes that one frame instead of losing it.
	if len(segs) != 3 || segs[2].Frames != 1 || segs[2].Duration != 40*time.Millisecond {
		t.Fatalf("got %d segments, want 2 and a 1-frame final one", len(segs))
	}
	checkTiling(t, segs)
}

func TestSampleSourceRealtime(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a third of a second")
	}
	const runFor = 300 * time.Millisecond
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), runFor)
	defer cancel()
	var segs []Segment
	err := (&SampleSource{Realtime: true, Clock: fixedClock}).Run(ctx, collect(&segs))
	elapsed := time.Since(began)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run: %v", err)
	}
	if elapsed < runFor {
		t.Fatalf("Run returned after %v", elapsed)
	}
	// Paced at 25 fps, 300 ms is 8 frames; allow for a slow machine but
	// not for running flat out (which would give whole segments).
	if len(segs) != 1 {
		t.Fatalf("got %d segments, want one partial", len(segs))
	}
	if n := segs[0].Frames; n < 2 || n > 12 {
		t.Fatalf("got %d frames in %v, want ~8", n, elapsed)
	}
	parseSegment(t, segs[0])
}

func TestSampleSourceNilEmit(t *testing.T) {
	if err := (&SampleSource{}).Run(context.Background(), nil); err == nil {
		t.Fatal("Run with a nil emit succeeded")
	}
}

func TestSampleH264(t *testing.T) {
	a := SampleH264()
	if len(a) == 0 || len(a) > 500_000 {
		t.Fatalf("sample is %d bytes; the agent embeds it, keep it under 500 KB", len(a))
	}
	a[0] = 0xff
	if SampleH264()[0] == 0xff {
		t.Fatal("SampleH264 returned shared memory")
	}
}
