package verify

import (
	"fmt"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
)

// GapTolerance is how much later than its predecessor ended a segment may
// start and still count as continuous: clock steps (a camera's first RTCP
// sender report replacing the arrival clock) and arrival jitter stay
// below it; a camera outage does not.
const GapTolerance = 500 * time.Millisecond

// Gap is a stretch of a stream's time with no recording: the camera was
// offline, unreachable, or the agent was stopped. A gap is not tampering:
// the chain runs on across it, and the records on both sides are the
// camera's. (Deleting a recorded segment is not a gap: its record remains,
// and the clip is missing.)
type Gap struct {
	Stream    string        `json:"stream"`     // "main" or "sub"
	AfterSeq  uint64        `json:"after_seq"`  // the last record before the gap
	BeforeSeq uint64        `json:"before_seq"` // the first record after it
	From      time.Time     `json:"from"`       // when AfterSeq's segment ended
	To        time.Time     `json:"to"`         // when BeforeSeq's segment started
	Length    time.Duration `json:"length_ns"`
}

func (g Gap) String() string {
	return fmt.Sprintf("%s stream: no recording for %v after seq %d (%s → %s)", g.Stream, g.Length.Round(time.Millisecond),
		g.AfterSeq, g.From.UTC().Format(time.RFC3339Nano), g.To.UTC().Format(time.RFC3339Nano))
}

// FindGaps lists the gaps of each stream in records (in chain order):
// wherever a record of a stream starts more than GapTolerance after the
// previous record of the same stream ended.
func FindGaps(records []*feedchain.Record) []Gap {
	var gaps []Gap
	last := map[feedchain.Stream]*feedchain.Record{}
	for _, r := range records {
		if r == nil {
			continue
		}
		if p := last[r.Stream]; p != nil {
			end := p.StartTime().Add(p.Duration)
			if d := r.StartTime().Sub(end); d > GapTolerance {
				gaps = append(gaps, Gap{Stream: r.Stream.String(), AfterSeq: p.Seq, BeforeSeq: r.Seq, From: end, To: r.StartTime(), Length: d})
			}
		}
		last[r.Stream] = r
	}
	return gaps
}
