package agent

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/camchain/camchain/internal/media"
)

// PacedSample is the built-in sample clip, looped, emitted at Speed times
// real time (1: one 2-second segment every 2 seconds, as a camera does;
// tests and demos of backfill use more).
type PacedSample struct {
	Speed float64
	// PadBitrate, if above the clip's own bitrate, pads every segment with
	// an MP4 "free" box (which players skip) up to this many bits per
	// second of video: a stand-in for a higher-bitrate camera at the normal
	// frame and segment rate, for benchmarks of the whole pipeline.
	PadBitrate int64
}

// Run implements Source.
func (p *PacedSample) Run(ctx context.Context, emit func(media.Segment) error) error {
	speed := p.Speed
	if speed <= 0 {
		speed = 1
	}
	start := time.Now()
	var elapsed time.Duration
	src := &media.SampleSource{Loop: true, Realtime: false}
	return src.Run(ctx, func(s media.Segment) error {
		// The segment began when the previous one ended, in wall-clock
		// time: faster than real time, a segment's start times are
		// closer together than its duration, but never in the future.
		s.Start = start.Add(time.Duration(float64(elapsed) / speed))
		if p.PadBitrate > 0 {
			s.Data = padFree(s.Data, int(p.PadBitrate/8*int64(s.Duration)/int64(time.Second)))
		}
		elapsed += s.Duration
		wait := time.Until(start.Add(time.Duration(float64(elapsed) / speed)))
		if wait > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
		return emit(s)
	})
}

// padFree appends an MP4 "free" box so the segment is size bytes long (if
// it is shorter). Players and parsers skip free boxes.
func padFree(data []byte, size int) []byte {
	pad := size - len(data)
	if pad < 8 {
		return data
	}
	out := make([]byte, len(data), size)
	copy(out, data)
	out = binary.BigEndian.AppendUint32(out, uint32(pad))
	out = append(out, "free"...)
	return append(out, make([]byte, pad-8)...)
}
