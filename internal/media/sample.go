package media

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// sampleClip is the built-in sample; see the package comment and
// testdata/make-sample.sh.
//
//go:embed sample/sample.h264
var sampleClip string

// SampleH264 returns a copy of the built-in sample clip, an H.264 Annex-B
// elementary stream.
func SampleH264() []byte { return []byte(sampleClip) }

// SampleSource plays the built-in sample clip through a Segmenter, standing in
// for a camera. The clip has no timestamps of its own; frame n gets PTS
// n × (1/fps), counting on across loops, so a looped clip is an endless,
// gap-free stream of one-GOP (2 s) segments.
type SampleSource struct {
	// Loop replays the clip forever (until the context ends) instead of
	// once.
	Loop bool
	// Realtime feeds each frame no earlier than its PTS after Run started,
	// as a camera would, so a segment comes out every ~2 s. Without it Run
	// goes as fast as it can (tests, benchmarks). Pacing uses the monotonic
	// clock, not Clock.
	Realtime bool
	// Clock reads the wall clock once, when Run starts; segment Start times
	// are that reading plus the PTS. nil means time.Now.
	Clock func() time.Time
}

// Run feeds the clip through a new Segmenter (default 2 s target) and passes
// every segment to emit, in order. It returns nil after one pass without
// Loop, the first error from emit (wrapped), or, once ctx is done, ctx's error
// joined with any error from emitting the last partial segment.
//
// Without Loop the clip's last GOP has no following keyframe; it is emitted by
// the final Flush with its nominal duration, so one pass of the 8 s clip gives
// four 2 s segments. When ctx ends, the frames fed so far are likewise flushed
// as a final, shorter segment: nothing already captured is lost.
func (s *SampleSource) Run(ctx context.Context, emit func(Segment) error) error {
	if emit == nil {
		return errors.New("media: SampleSource.Run: emit is nil")
	}
	clock := s.Clock
	if clock == nil {
		clock = time.Now
	}
	aus, frameTicks, err := loadSample()
	if err != nil {
		return err
	}

	start := clock()
	seg := &Segmenter{Epoch: start, Clock: clock, OnSegment: emit}
	if err := seg.Initialize(); err != nil {
		return err
	}

	var timer *time.Timer
	if s.Realtime {
		timer = time.NewTimer(0)
		defer timer.Stop()
	}
	began := time.Now()
	cancelled := func() error { return errors.Join(ctx.Err(), seg.Flush()) }

	var n int64 // frames fed so far, over all loops
	for {
		for _, au := range aus {
			if ctx.Err() != nil {
				return cancelled()
			}
			pts := n * frameTicks
			if s.Realtime {
				if wait := time.Until(began.Add(ticksToDuration(pts))); wait > 0 {
					timer.Reset(wait)
					select {
					case <-ctx.Done():
						return cancelled()
					case <-timer.C:
					}
				}
			}
			if err := seg.WriteAU(pts, au); err != nil {
				return fmt.Errorf("media: sample source: %w", err)
			}
			n++
		}
		if !s.Loop {
			break
		}
	}
	if err := seg.Flush(); err != nil {
		return fmt.Errorf("media: sample source: %w", err)
	}
	return nil
}

// loadSample splits the embedded clip into access units and reads its frame
// duration, in 90 kHz ticks, from the SPS timing information.
func loadSample() ([][][]byte, int64, error) {
	aus, err := SplitAccessUnits([]byte(sampleClip))
	if err != nil {
		return nil, 0, fmt.Errorf("media: built-in sample: %w", err)
	}
	for _, nalu := range aus[0] {
		if h264.NALUType(nalu[0]&0x1F) != h264.NALUTypeSPS {
			continue
		}
		var sps h264.SPS
		if err := sps.Unmarshal(nalu); err != nil {
			return nil, 0, fmt.Errorf("media: built-in sample: SPS: %w", err)
		}
		if fps := sps.FPS(); fps >= 1 && fps <= 1000 {
			return aus, int64(ClockRate/fps + 0.5), nil
		}
	}
	return nil, 0, errors.New("media: built-in sample: no SPS with a frame rate in its first access unit")
}
