package store

import (
	"sort"
	"time"
)

// RangeTime calls fn, in seq order, for the records whose segments overlap
// [from, to): they end after from and start before to. It finds the first
// by binary search over the chain's in-memory index (each record's latest
// end so far, which never decreases), so a day of a 30-day chain costs
// that day's records, not the chain's; it reads nothing from disk. It
// stops at the first record that starts at or after to, or when fn
// returns false.
//
// A camera clock that stepped backwards (records later in the chain that
// start earlier) is listed in chain order: a record after the first one
// starting at or after to is not visited even if its start is earlier.
func (c *Chain) RangeTime(from, to time.Time, fn func(SegmentInfo) bool) {
	lo, hi := from.UnixNano(), to.UnixNano()
	const batch = 1024
	buf := make([]SegmentInfo, 0, batch)
	c.mu.RLock()
	seq := uint64(sort.Search(len(c.metas), func(i int) bool { return c.metas[i].endMax > lo }))
	c.mu.RUnlock()
	for {
		buf = buf[:0]
		done := false
		c.mu.RLock()
		for ; seq < uint64(len(c.metas)) && len(buf) < batch; seq++ {
			m := &c.metas[seq]
			if m.start >= hi {
				done = true
				break
			}
			if m.end() > lo {
				buf = append(buf, c.infoLocked(seq))
			}
		}
		if seq >= uint64(len(c.metas)) {
			done = true
		}
		c.mu.RUnlock()
		for _, si := range buf {
			if !fn(si) {
				return
			}
		}
		if done {
			return
		}
	}
}
