package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/retention"
	"github.com/camchain/camchain/internal/store/layout"
)

// PruneResult says what a retention pass deleted.
type PruneResult struct {
	Deleted int   // segment files deleted, in every chain of the store
	Freed   int64 // their bytes
	Stored  int64 // segment bytes the store holds afterwards
}

// Prune applies retention: it deletes segment files (never records),
// oldest first, while a segment of this chain ended more than MaxAge ago
// or the store holds more than MaxBytes, but never a segment of this
// chain with seq >= protectFrom, nor one of another chain above that
// chain's acknowledgement pointer. The agent passes Acked().Seq+1 (0 if
// nothing is acknowledged); the hub passes Len().
//
// Under the byte limit the store's oldest segments go first: within a
// camera its oldest epoch's, across cameras the earliest started.
func (c *Chain) Prune(protectFrom uint64) (PruneResult, error) {
	c.s.pruneMu.Lock()
	defer c.s.pruneMu.Unlock()
	return c.s.prune(c, protectFrom, 0)
}

// Reserve makes room for a segment of n bytes before the agent records
// it, pruning what Prune(Acked().Seq+1) may. If the segment still would
// not fit under MaxBytes because the rest is unacknowledged, it logs an
// error and returns a *FullError (errors.Is ErrFull): the agent must stop
// recording and raise an alarm rather than lose what the hub lacks.
func (c *Chain) Reserve(n int64) error {
	if n < 0 {
		return fmt.Errorf("store: reserve %d bytes: negative", n)
	}
	s := c.s
	s.pruneMu.Lock()
	defer s.pruneMu.Unlock()
	if _, err := s.prune(c, c.ackedBound(), n); err != nil {
		return err
	}
	if s.opts.MaxBytes == 0 {
		return nil
	}
	stored := s.total.Load()
	if stored+n <= s.opts.MaxBytes {
		return nil
	}
	err := &FullError{Dir: s.dir, Need: n, Stored: stored, Unacked: s.unacked(), Limit: s.opts.MaxBytes}
	c.log.Error("store full: recording must stop; unacknowledged segments are never deleted",
		"need", n, "stored", stored, "unacked", err.Unacked, "limit", err.Limit, "acked", c.Acked().String())
	return err
}

// cursor is a chain's planned pruned mark during a retention pass.
type cursor struct {
	c         *Chain
	at, bound uint64 // next seq to prune; first seq to keep
	aged      uint64 // at after the age rule, before the byte budget
}

// prune plans a retention pass for target (whose protected seqs start at
// bound) so that extra more bytes fit, then carries it out.
func (s *Store) prune(target *Chain, bound uint64, extra int64) (PruneResult, error) {
	var curs []cursor
	ti := -1
	for _, ch := range s.loaded() {
		ch.mu.RLock()
		cu := cursor{c: ch, at: ch.pruneBelow, bound: uint64(len(ch.metas))}
		closed, acked := ch.closed, ch.acked
		ch.mu.RUnlock()
		if closed {
			continue
		}
		b := bound
		if ch != target {
			b = 0
			if acked.Valid {
				b = acked.Seq + 1
			}
		} else {
			ti = len(curs)
		}
		cu.bound = min(cu.bound, b)
		curs = append(curs, cu)
	}
	if ti < 0 {
		return PruneResult{}, ErrClosed
	}

	var planned int64 // bytes the plan frees
	if s.opts.MaxAge > 0 {
		cutoff := s.opts.Clock().Add(-s.opts.MaxAge)
		cu := &curs[ti]
		cu.c.mu.RLock()
		for ; cu.at < cu.bound; cu.at++ {
			m := &cu.c.metas[cu.at]
			// A file already missing (lost outside camchain) is passed
			// only once it is old enough too: the age rule never sweeps a
			// young loss under the mark (or the camera's statement).
			if !time.Unix(0, m.start).Add(m.dur).Before(cutoff) {
				break
			}
			if !m.missing {
				planned += int64(m.size)
			}
		}
		cu.c.mu.RUnlock()
	}
	for i := range curs {
		curs[i].aged = curs[i].at
	}
	if s.opts.MaxBytes > 0 {
		need := s.total.Load() + extra - s.opts.MaxBytes - planned
		for need > 0 {
			i, ok := pickOldest(curs)
			if !ok {
				break
			}
			cu := &curs[i]
			cu.c.mu.RLock()
			m := cu.c.metas[cu.at]
			cu.c.mu.RUnlock()
			cu.at++
			if !m.missing {
				need -= int64(m.size)
			}
		}
	}

	var res PruneResult
	var errs []error
	for _, cu := range curs {
		why := pruneWhy{retention.ReasonBytes, uint64(s.opts.MaxBytes)}
		if cu.at == cu.aged {
			why = pruneWhy{retention.ReasonAge, uint64(s.opts.MaxAge)}
		}
		n, freed, err := cu.c.pruneTo(cu.at, why)
		res.Deleted += n
		res.Freed += freed
		errs = append(errs, err)
	}
	res.Stored = s.total.Load()
	return res, errors.Join(errs...)
}

// pickOldest returns the cursor whose next segment retention deletes
// first: per camera the lowest epoch that has one, and among cameras the
// earliest start. curs is ordered by camera and epoch.
func pickOldest(curs []cursor) (int, bool) {
	best, bestStart := -1, int64(0)
	var seen *Chain // the last chain that had a candidate
	for i := range curs {
		cu := &curs[i]
		if cu.at >= cu.bound {
			continue
		}
		if seen != nil && seen.id.Camera == cu.c.id.Camera {
			continue // a lower epoch of this camera goes first
		}
		seen = cu.c
		cu.c.mu.RLock()
		start := cu.c.metas[cu.at].start
		cu.c.mu.RUnlock()
		if best < 0 || start < bestStart {
			best, bestStart = i, start
		}
	}
	return best, best >= 0
}

// pruneWhy is a retention pass's reason for one chain, for its signed
// prune statement.
type pruneWhy struct {
	reason retention.Reason
	limit  uint64
}

// pruneTo deletes the segments below seq n: it records the new mark
// first — the camera's signed statement, then the marker — so a crash
// mid-way leaves files that Open deletes rather than gaps that look like
// loss.
func (c *Chain) pruneTo(n uint64, why pruneWhy) (deleted int, freed int64, err error) {
	c.mu.RLock()
	old := c.pruneBelow
	var last feedchain.Hash
	if n > old {
		last = c.metas[n-1].hash
	}
	var files []uint64
	for seq := old; seq < n; seq++ {
		if m := &c.metas[seq]; !m.missing {
			files = append(files, seq)
			freed += int64(m.size)
		}
	}
	c.mu.RUnlock()
	if n <= old {
		return 0, 0, nil
	}
	if k := c.s.opts.Signer; k != nil && k.Address() == c.id.Camera {
		st := &retention.Statement{Camera: c.id.Camera, Epoch: c.id.Epoch, Below: n, Last: last,
			At: c.s.opts.Clock().UnixNano(), Reason: why.reason, Limit: why.limit}
		if err := st.Sign(k); err != nil {
			return 0, 0, fmt.Errorf("store: %s: prune statement: %w (nothing deleted)", c.id, err)
		}
		if err := atomicfile.Write(c.statePath(layout.PruneStatementName), st.Marshal(), fileMode); err != nil {
			return 0, 0, fmt.Errorf("store: %s: save prune statement: %w (nothing deleted)", c.id, err)
		}
	}
	if err := c.putPruned(n); err != nil {
		return 0, 0, fmt.Errorf("store: %s: %w (nothing deleted)", c.id, err)
	}
	if err := atomicfile.Write(c.statePath(layout.PrunedName), layout.EncodePruned(n), fileMode); err != nil {
		return 0, 0, fmt.Errorf("store: %s: save pruned mark: %w", c.id, err)
	}
	c.mu.Lock()
	c.pruneBelow = n
	c.bytes -= freed
	c.mu.Unlock()
	c.s.total.Add(-freed)
	c.s.deleted.Add(int64(len(files)))
	c.s.deletedBytes.Add(freed)

	var errs []error
	for _, seq := range files {
		if err := c.removeSegment(seq); err != nil {
			errs = append(errs, err) // the next Open removes it
		}
	}
	c.log.Info("retention deleted segments", "from", old, "below", n, "files", len(files), "bytes", freed)
	return len(files), freed, errors.Join(errs...)
}

// unacked counts the segment bytes above every chain's acknowledgement.
func (s *Store) unacked() int64 {
	var total int64
	for _, ch := range s.loaded() {
		b := ch.ackedBound()
		ch.mu.RLock()
		for seq := max(b, ch.pruneBelow); seq < uint64(len(ch.metas)); seq++ {
			if m := &ch.metas[seq]; !m.missing {
				total += int64(m.size)
			}
		}
		ch.mu.RUnlock()
	}
	return total
}

// PruneOlder applies an age rule to this chain alone (the hub's retention,
// whose age is each camera's own ledger policy): it deletes segment files,
// oldest first, while the segment ended more than maxAge before now, its
// seq is below protectFrom, and held does not keep it (nil: nothing is
// held). It stops at the first segment it may not delete, so the pruned
// mark stays a prefix.
func (c *Chain) PruneOlder(now time.Time, maxAge time.Duration, protectFrom uint64, held func(SegmentInfo) bool) (PruneResult, error) {
	if maxAge <= 0 {
		return PruneResult{}, fmt.Errorf("store: %s: prune older than %v: want a positive age", c.id, maxAge)
	}
	c.s.pruneMu.Lock()
	defer c.s.pruneMu.Unlock()
	cutoff := now.Add(-maxAge)
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return PruneResult{}, ErrClosed
	}
	at, bound := c.pruneBelow, min(protectFrom, uint64(len(c.metas)))
	var infos []SegmentInfo
	for ; at < bound; at++ {
		m := &c.metas[at]
		if !time.Unix(0, m.start).Add(m.dur).Before(cutoff) {
			break
		}
		if held != nil {
			infos = append(infos, c.infoLocked(at))
		}
	}
	c.mu.RUnlock()
	if held != nil {
		// held runs without the chain's lock: it may call the chain.
		for _, si := range infos {
			if held(si) {
				at = si.Seq
				break
			}
		}
	}
	n, freed, err := c.pruneTo(at, pruneWhy{retention.ReasonAge, uint64(maxAge)})
	return PruneResult{Deleted: n, Freed: freed, Stored: c.s.total.Load()}, err
}
