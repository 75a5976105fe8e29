package retention

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/camchain/camchain/internal/feedchain"
)

// Emergency is what one hub/emergency-prune event says the hub deleted:
// the segment files of seqs From ≤ seq < Below of one chain (SPEC §14.3).
type Emergency struct {
	Epoch       uint64
	Stream      feedchain.Stream
	From, Below uint64
	Event       uint64 // the audit event's sequence number, for reports
	At          string // its block time, as listed
}

// EmergencyDetail is the detail the hub files in its hub/emergency-prune
// event, in the one format ParseEmergency reads back.
func EmergencyDetail(epoch uint64, stream feedchain.Stream, from, below, free, total uint64) string {
	return fmt.Sprintf("epoch %d stream %s: seqs %d-%d deleted, disk nearly full (%d of %d bytes free)", epoch, stream, from, below-1, free, total)
}

var emergencyRE = regexp.MustCompile(`^epoch (0|[1-9][0-9]*) stream (main|sub): seqs (0|[1-9][0-9]*)-(0|[1-9][0-9]*) deleted, `)

// ParseEmergency reads an event detail EmergencyDetail wrote (the ledger
// appends the event's time after it).
func ParseEmergency(detail string) (Emergency, error) {
	m := emergencyRE.FindStringSubmatch(detail)
	if m == nil {
		return Emergency{}, fmt.Errorf("emergency-prune event %q: not in the form %q", clipDetail(detail), "epoch E stream S: seqs A-B deleted, …")
	}
	var e Emergency
	var err error
	var last uint64
	if e.Epoch, err = strconv.ParseUint(m[1], 10, 64); err == nil {
		if e.Stream, err = feedchain.ParseStream(m[2]); err == nil {
			if e.From, err = strconv.ParseUint(m[3], 10, 64); err == nil {
				last, err = strconv.ParseUint(m[4], 10, 64)
			}
		}
	}
	if err != nil || last < e.From || last == 1<<64-1 {
		return Emergency{}, fmt.Errorf("emergency-prune event %q: bad numbers", clipDetail(detail))
	}
	e.Below = last + 1
	return e, nil
}

// Covers reports whether the event deleted seq of the chain (epoch, stream).
func (e Emergency) Covers(epoch uint64, stream feedchain.Stream, seq uint64) bool {
	return e.Epoch == epoch && e.Stream == stream && e.From <= seq && seq < e.Below
}

func clipDetail(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
