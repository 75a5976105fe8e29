package agent

import (
	"context"
	"time"

	"github.com/camchain/camchain/internal/media"
)

// PacedSample is the built-in sample clip, looped, emitted at Speed times
// real time (1: one 2-second segment every 2 seconds, as a camera does;
// tests and demos of backfill use more).
type PacedSample struct {
	Speed float64
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
