package media

import (
	"errors"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

func newSegmenter(t testing.TB, target time.Duration, segs *[]Segment) *Segmenter {
	t.Helper()
	s := &Segmenter{Target: target, Epoch: t0, OnSegment: collect(segs)}
	if err := s.Initialize(); err != nil {
		t.Fatal(err)
	}
	return s
}

// feed writes aus with PTS first, first+1 frame, ...
func feed(t testing.TB, s *Segmenter, aus [][][]byte, first int64) {
	t.Helper()
	for i, au := range aus {
		if err := s.WriteAU((first+int64(i))*sampleFrameTicks, au); err != nil {
			t.Fatalf("WriteAU %d: %v", i, err)
		}
	}
}

// checkTiling checks that segments follow each other without gap or overlap,
// in wall-clock time and in fMP4 decode time.
func checkTiling(t *testing.T, segs []Segment) {
	t.Helper()
	var prev parsed
	for i, seg := range segs {
		p := parseSegment(t, seg)
		if i > 0 {
			if want := segs[i-1].Start.Add(segs[i-1].Duration); !seg.Start.Equal(want) {
				t.Errorf("segment %d starts %v, previous ends %v", i, seg.Start, want)
			}
			if want := prev.track.BaseTime + uint64(sumDurations(prev.track)); p.track.BaseTime != want {
				t.Errorf("segment %d BaseTime %d, previous ends at %d", i, p.track.BaseTime, want)
			}
			if p.seq <= prev.seq {
				t.Errorf("segment %d sequence number %d after %d", i, p.seq, prev.seq)
			}
		}
		prev = p
	}
}

func TestSegmenterSample(t *testing.T) {
	var segs []Segment
	s := newSegmenter(t, 0, &segs)
	feed(t, s, sampleAUs(t), 0)
	if len(segs) != 3 {
		t.Fatalf("%d segments before Flush, want 3", len(segs))
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(segs) != sampleFrames/sampleGOP {
		t.Fatalf("%d segments, want %d", len(segs), sampleFrames/sampleGOP)
	}
	for i, seg := range segs {
		p := parseSegment(t, seg)
		if seg.Frames != sampleGOP || seg.Duration != 2*time.Second {
			t.Errorf("segment %d: %d frames, %v; want %d, 2s", i, seg.Frames, seg.Duration, sampleGOP)
		}
		if want := t0.Add(time.Duration(i) * 2 * time.Second); !seg.Start.Equal(want) {
			t.Errorf("segment %d: Start %v, want %v", i, seg.Start, want)
		}
		if seg.Codec != sampleCodec || seg.Width != 640 || seg.Height != 360 {
			t.Errorf("segment %d: %s %dx%d, want %s 640x360", i, seg.Codec, seg.Width, seg.Height, sampleCodec)
		}
		if want := uint64(i) * 2 * ClockRate; p.track.BaseTime != want {
			t.Errorf("segment %d: BaseTime %d, want %d", i, p.track.BaseTime, want)
		}
		for j, smp := range p.track.Samples {
			if smp.Duration != sampleFrameTicks || smp.PTSOffset != 0 || smp.IsNonSyncSample != (j > 0) {
				t.Fatalf("segment %d sample %d: duration %d, PTS offset %d, non-sync %v",
					i, j, smp.Duration, smp.PTSOffset, smp.IsNonSyncSample)
			}
		}
	}
	checkTiling(t, segs)
}

func TestSegmenterDropsBeforeKeyframe(t *testing.T) {
	var segs []Segment
	s := newSegmenter(t, 0, &segs)
	aus := sampleAUs(t)
	// Start mid-GOP, as when joining a live camera: frames 10..49 precede
	// any keyframe and must not appear anywhere.
	feed(t, s, aus[10:], 10)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(segs) != 3 {
		t.Fatalf("%d segments, want 3", len(segs))
	}
	if want := t0.Add(2 * time.Second); !segs[0].Start.Equal(want) {
		t.Errorf("first segment starts %v, want %v (the first keyframe)", segs[0].Start, want)
	}
	if p := parseSegment(t, segs[0]); p.track.BaseTime != 0 {
		t.Errorf("first BaseTime %d, want 0", p.track.BaseTime)
	}
	for i, seg := range segs {
		if seg.Frames != sampleGOP {
			t.Errorf("segment %d: %d frames", i, seg.Frames)
		}
	}
	checkTiling(t, segs)
}

// TestSegmenterParameterSetsOutOfBand feeds a stream whose SPS and PPS come
// only once, ahead of the first access unit, as from an RTSP SDP.
func TestSegmenterParameterSetsOutOfBand(t *testing.T) {
	aus := sampleAUs(t)
	sps, pps := aus[0][0], aus[0][1]
	stripped := make([][][]byte, len(aus))
	for i, au := range aus {
		for _, n := range au {
			if typ := h264.NALUType(n[0] & 0x1F); typ != h264.NALUTypeSPS && typ != h264.NALUTypePPS {
				stripped[i] = append(stripped[i], n)
			}
		}
	}

	var segs []Segment
	s := newSegmenter(t, 0, &segs)
	if err := s.WriteAU(0, stripped[0]); !errors.Is(err, ErrNoParameterSets) {
		t.Fatalf("keyframe without SPS/PPS: %v, want ErrNoParameterSets", err)
	}

	segs = nil
	s = newSegmenter(t, 0, &segs)
	first := append([][]byte{sps, pps}, stripped[0]...)
	feed(t, s, append([][][]byte{first}, stripped[1:]...), 0)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(segs) != 4 {
		t.Fatalf("%d segments, want 4", len(segs))
	}
	for i, seg := range segs {
		if seg.Frames != sampleGOP || seg.Codec != sampleCodec {
			t.Errorf("segment %d: %d frames, %s", i, seg.Frames, seg.Codec)
		}
	}
	checkTiling(t, segs)
}

func TestSegmenterBFrames(t *testing.T) {
	aus, pts := bframesAUs(t)
	for _, tt := range []struct {
		target time.Duration
		frames []int
	}{
		{time.Second, []int{25, 25, 25}},
		{1500 * time.Millisecond, []int{50, 25}},
		{2 * time.Second, []int{50, 25}},
		{3 * time.Second, []int{75}},
	} {
		t.Run(tt.target.String(), func(t *testing.T) {
			var segs []Segment
			s := newSegmenter(t, tt.target, &segs)
			for i, au := range aus {
				if err := s.WriteAU(pts[i], au); err != nil {
					t.Fatalf("WriteAU %d: %v", i, err)
				}
			}
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			if len(segs) != len(tt.frames) {
				t.Fatalf("%d segments, want %d", len(segs), len(tt.frames))
			}
			keyframe := 0
			for i, seg := range segs {
				p := parseSegment(t, seg)
				if seg.Frames != tt.frames[i] {
					t.Errorf("segment %d: %d frames, want %d", i, seg.Frames, tt.frames[i])
				}
				if want := time.Duration(tt.frames[i]) * 40 * time.Millisecond; seg.Duration != want {
					t.Errorf("segment %d: Duration %v, want %v", i, seg.Duration, want)
				}
				if want := t0.Add(time.Duration(keyframe) * 40 * time.Millisecond); !seg.Start.Equal(want) {
					t.Errorf("segment %d: Start %v, want %v", i, seg.Start, want)
				}
				// The fragment must present every frame at its PTS.
				dts := int64(p.track.BaseTime)
				reordered := false
				for j, smp := range p.track.Samples {
					if smp.Duration == 0 || smp.PTSOffset < 0 {
						t.Fatalf("segment %d sample %d: duration %d, PTS offset %d", i, j, smp.Duration, smp.PTSOffset)
					}
					if got, want := dts+int64(smp.PTSOffset), pts[keyframe+j]; got != want {
						t.Fatalf("segment %d sample %d: presented at %d, PTS %d", i, j, got, want)
					}
					reordered = reordered || smp.PTSOffset > 0
					dts += int64(smp.Duration)
				}
				if !reordered {
					t.Errorf("segment %d: no sample has a PTS offset", i)
				}
				keyframe += seg.Frames
			}
			checkTiling(t, segs)
		})
	}
}

// TestSegmenterParameterChange switches, at a keyframe 1 s into a GOP, to a
// stream with another SPS: the segment must end there, before its target, so
// that each init section matches its samples.
func TestSegmenterParameterChange(t *testing.T) {
	sample := sampleAUs(t)
	other, otherPTS := bframesAUs(t)

	var segs []Segment
	s := newSegmenter(t, 0, &segs)
	feed(t, s, sample[:75], 0)
	base := int64(75 * sampleFrameTicks)
	for i, au := range other {
		if err := s.WriteAU(base+otherPTS[i], au); err != nil {
			t.Fatalf("WriteAU %d: %v", i, err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		frames int
		codec  string
	}{{50, sampleCodec}, {25, sampleCodec}, {50, "avc1.64000b"}, {25, "avc1.64000b"}}
	if len(segs) != len(want) {
		t.Fatalf("%d segments, want %d", len(segs), len(want))
	}
	for i, w := range want {
		if segs[i].Frames != w.frames || segs[i].Codec != w.codec {
			t.Errorf("segment %d: %d frames %s, want %d %s", i, segs[i].Frames, segs[i].Codec, w.frames, w.codec)
		}
	}
	if segs[2].Width != 160 || segs[2].Height != 96 {
		t.Errorf("after the change: %dx%d, want 160x96", segs[2].Width, segs[2].Height)
	}
	checkTiling(t, segs)
}

func TestSegmenterDiscontinuity(t *testing.T) {
	aus := sampleAUs(t)
	var segs []Segment
	s := newSegmenter(t, 0, &segs)
	feed(t, s, aus[:60], 0)
	// Frame 60 arrives 2 minutes late: the 10 frames of the open segment
	// are emitted, and the rest of the GOP is dropped.
	jump := int64(2 * 60 * ClockRate)
	if err := s.WriteAU(jump+60*sampleFrameTicks, aus[60]); !errors.Is(err, ErrDiscontinuity) {
		t.Fatalf("late frame: %v, want ErrDiscontinuity", err)
	}
	if len(segs) != 2 || segs[1].Frames != 10 || segs[1].Duration != 400*time.Millisecond {
		t.Fatalf("got %d segments; want the second to hold 10 frames, 400ms", len(segs))
	}
	for i := 61; i < 100; i++ {
		if err := s.WriteAU(jump+int64(i)*sampleFrameTicks, aus[i]); err != nil {
			t.Fatalf("WriteAU %d: %v", i, err)
		}
	}
	if len(segs) != 2 {
		t.Fatalf("%d segments from frames that follow no keyframe", len(segs))
	}
	feed(t, s, aus[100:], 100+jump/sampleFrameTicks)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(segs) != 4 {
		t.Fatalf("%d segments, want 4", len(segs))
	}
	if want := t0.Add(2*time.Minute + 4*time.Second); !segs[2].Start.Equal(want) {
		t.Errorf("after the jump: Start %v, want %v", segs[2].Start, want)
	}
	for i, seg := range segs {
		p := parseSegment(t, seg)
		if i > 0 && p.track.BaseTime <= 0 {
			t.Errorf("segment %d: BaseTime %d", i, p.track.BaseTime)
		}
	}

	// A PTS that goes backwards also ends the segment early.
	segs = nil
	s = newSegmenter(t, 0, &segs)
	feed(t, s, aus[:60], 100)
	if err := s.WriteAU(0, aus[60]); !errors.Is(err, ErrDiscontinuity) {
		t.Fatalf("backward PTS: %v, want ErrDiscontinuity", err)
	}
	if len(segs) != 2 || segs[1].Frames != 10 {
		t.Fatalf("backward PTS: got %d segments", len(segs))
	}
	feed(t, s, aus[100:], 0)
	if len(segs) != 3 || segs[2].Frames != 50 || !segs[2].Start.Equal(t0) {
		t.Fatalf("after backward jump: %d segments", len(segs))
	}
	parseSegment(t, segs[2])
}

// TestSegmenterKeyframeJump: when the jump comes at a keyframe (a camera
// restarting its clock, or resuming after a stall), nothing is dropped: the
// open segment ends early and the keyframe starts the next one.
func TestSegmenterKeyframeJump(t *testing.T) {
	aus := sampleAUs(t)
	for _, tt := range []struct {
		name  string
		first int64 // PTS of frame 0, in frames
		then  int64 // PTS of frame 100, in frames
	}{
		{"backward", 1000, 0},
		{"forward", 0, 10_000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var segs []Segment
			s := newSegmenter(t, 0, &segs)
			feed(t, s, aus[:75], tt.first) // one segment, and 25 frames
			feed(t, s, aus[100:], tt.then) // keyframe with a jump
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			if len(segs) != 4 {
				t.Fatalf("%d segments, want 4", len(segs))
			}
			for i, want := range []int{50, 25, 50, 50} {
				if segs[i].Frames != want {
					t.Errorf("segment %d: %d frames, want %d", i, segs[i].Frames, want)
				}
				parseSegment(t, segs[i])
			}
			if segs[1].Duration != time.Second {
				t.Errorf("segment before the jump: %v, want 1s", segs[1].Duration)
			}
			if want := t0.Add(time.Duration(tt.then) * 40 * time.Millisecond); !segs[2].Start.Equal(want) {
				t.Errorf("segment after the jump starts %v, want %v", segs[2].Start, want)
			}
			checkTiling(t, segs[2:])
		})
	}
}

func TestSegmenterFlush(t *testing.T) {
	aus := sampleAUs(t)
	var segs []Segment
	now := t0
	s := &Segmenter{Clock: func() time.Time { return now }, OnSegment: collect(&segs)}
	if err := s.Initialize(); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil || len(segs) != 0 {
		t.Fatalf("Flush of nothing: %v, %d segments", err, len(segs))
	}
	// The epoch is derived from the clock at the first access unit.
	feed(t, s, aus[:7], 1000)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(segs) != 1 || segs[0].Frames != 7 || segs[0].Duration != 280*time.Millisecond || !segs[0].Start.Equal(t0) {
		t.Fatalf("partial segment: %+v", segs)
	}
	parseSegment(t, segs[0])

	// After Flush the segmenter takes a new stream, with a new epoch and
	// new parameter sets, on the same timeline.
	now = t0.Add(time.Hour)
	if err := s.WriteAU(0, aus[1]); err != nil { // no keyframe yet: dropped
		t.Fatal(err)
	}
	feed(t, s, aus[50:101], 1)
	if len(segs) != 2 || segs[1].Frames != 50 || !segs[1].Start.Equal(now.Add(40*time.Millisecond)) {
		t.Fatalf("after Flush: %d segments", len(segs))
	}
	// The timeline goes on: the new stream's first segment starts where
	// the last one ended plus the wall-clock gap, never back at 0.
	if p, want := parseSegment(t, segs[1]), uint64(durationToTicks(segs[1].Start.Sub(t0))); p.track.BaseTime != want || segs[1].BaseTime != want {
		t.Errorf("after Flush: BaseTime %d (segment says %d), want %d", p.track.BaseTime, segs[1].BaseTime, want)
	}
}

func TestSegmenterOnSegmentError(t *testing.T) {
	aus := sampleAUs(t)
	boom := errors.New("boom")
	n := 0
	s := &Segmenter{Epoch: t0, OnSegment: func(Segment) error {
		n++
		if n == 1 {
			return boom
		}
		return nil
	}}
	if err := s.Initialize(); err != nil {
		t.Fatal(err)
	}
	for i, au := range aus {
		err := s.WriteAU(int64(i)*sampleFrameTicks, au)
		if (i == sampleGOP) != errors.Is(err, boom) {
			t.Fatalf("WriteAU %d: %v", i, err)
		}
	}
	if n != 3 {
		t.Fatalf("OnSegment called %d times, want 3", n)
	}
}

func TestSegmenterIgnoresNonPictures(t *testing.T) {
	aus := sampleAUs(t)
	var segs []Segment
	s := newSegmenter(t, 0, &segs)
	for _, au := range [][][]byte{nil, {}, {{}}, {{0x09, 0xf0}}, {aus[0][2]}, {aus[0][0], aus[0][1]}} {
		if err := s.WriteAU(0, au); err != nil {
			t.Fatalf("WriteAU(%x): %v", au, err)
		}
	}
	feed(t, s, aus[:51], 0)
	if len(segs) != 1 || segs[0].Frames != 50 {
		t.Fatalf("%d segments", len(segs))
	}
}

func TestSegmenterInitialize(t *testing.T) {
	ok := func(Segment) error { return nil }
	for _, tt := range []struct {
		s   Segmenter
		err bool
	}{
		{Segmenter{OnSegment: ok}, false},
		{Segmenter{OnSegment: ok, Target: MaxSegmentDuration}, false},
		{Segmenter{}, true},
		{Segmenter{OnSegment: ok, Target: -time.Second}, true},
		{Segmenter{OnSegment: ok, Target: MaxSegmentDuration + 1}, true},
	} {
		if err := tt.s.Initialize(); (err != nil) != tt.err {
			t.Errorf("%+v: Initialize() = %v", tt.s, err)
		}
	}
	var s Segmenter
	if err := s.WriteAU(0, [][]byte{{0x65, 0x88}}); !errors.Is(err, ErrNotInitialized) {
		t.Errorf("WriteAU before Initialize: %v", err)
	}
	if err := s.Flush(); !errors.Is(err, ErrNotInitialized) {
		t.Errorf("Flush before Initialize: %v", err)
	}
}

func TestTicks(t *testing.T) {
	for _, tt := range []struct {
		ticks int64
		d     time.Duration
	}{
		{0, 0},
		{1, 11111},
		{3600, 40 * time.Millisecond},
		{90000, time.Second},
		{-3600, -40 * time.Millisecond},
		{90000 * 86400 * 365 * 100, 100 * 365 * 24 * time.Hour}, // beyond where ticks*1e9 overflows
	} {
		if got := ticksToDuration(tt.ticks); got != tt.d {
			t.Errorf("ticksToDuration(%d) = %v, want %v", tt.ticks, got, tt.d)
		}
		if tt.ticks != 1 {
			if got := durationToTicks(tt.d); got != tt.ticks {
				t.Errorf("durationToTicks(%v) = %d, want %d", tt.d, got, tt.ticks)
			}
		}
	}
}

func BenchmarkSegmenter(b *testing.B) {
	aus := sampleAUs(b)
	in := 0
	for _, au := range aus {
		for _, n := range au {
			in += 4 + len(n) // as Annex-B
		}
	}
	out := 0
	s := &Segmenter{Epoch: t0, OnSegment: func(seg Segment) error {
		out += len(seg.Data)
		return nil
	}}
	if err := s.Initialize(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(in))
	b.ReportAllocs()
	var pts int64
	for b.Loop() {
		for _, au := range aus {
			if err := s.WriteAU(pts, au); err != nil {
				b.Fatal(err)
			}
			pts += sampleFrameTicks
		}
	}
	b.ReportMetric(float64(out)/b.Elapsed().Seconds()/1e6, "out-MB/s")
	b.ReportMetric(float64(pts)/ClockRate/b.Elapsed().Seconds(), "x-realtime")
}

func TestSegmenterTooLarge(t *testing.T) {
	aus := sampleAUs(t)
	var segs []Segment
	s := newSegmenter(t, 0, &segs)
	// A keyframe, then P frames one tick apart until the frame cap.
	for i := range MaxSegmentFrames {
		au := aus[1]
		if i == 0 {
			au = aus[0]
		}
		if err := s.WriteAU(int64(i), au); err != nil {
			t.Fatalf("WriteAU %d: %v", i, err)
		}
	}
	if err := s.WriteAU(MaxSegmentFrames, aus[1]); !errors.Is(err, ErrSegmentTooLarge) {
		t.Fatalf("frame past the cap: %v, want ErrSegmentTooLarge", err)
	}
	if len(segs) != 1 || segs[0].Frames != MaxSegmentFrames {
		t.Fatalf("got %d segments, want one of %d frames", len(segs), MaxSegmentFrames)
	}
	parseSegment(t, segs[0])
	if err := s.WriteAU(MaxSegmentFrames+1, aus[2]); err != nil || len(segs) != 1 {
		t.Fatalf("frame after the cap: %v, %d segments", err, len(segs))
	}
}
