package hub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/retention"
	"github.com/camchain/camchain/internal/store"
)

// DefaultMinFree is the free space on the recordings' file system below
// which the hub deletes its oldest recordings, outside the owner's policy
// (emergency deletion, SPEC §14.3).
const DefaultMinFree = 1 << 30

// DiskFreeFunc reports the free and total bytes of the file system that
// holds dir.
type DiskFreeFunc func(dir string) (free, total uint64, err error)

// statfsFree is the default DiskFreeFunc: what an unprivileged writer may
// still use.
func statfsFree(dir string) (uint64, uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, 0, err
	}
	return st.Bavail * uint64(st.Bsize), st.Blocks * uint64(st.Bsize), nil
}

// emergencyEvery is the least time between two emergency passes started
// by writes: a disk that stays full (nothing more may be deleted) must not
// make every segment scan every chain.
const emergencyEvery = 2 * time.Second

// checkDiskAfterWrite runs after every segment the hub stores: when the
// recordings' file system has less than MinFree free, it asks the
// emergency loop for a pass (without waiting for it: the write is durable
// and acknowledged either way). A statfs per segment costs microseconds;
// the retention loop's pass every RetentionInterval stays as a backstop.
func (h *Hub) checkDiskAfterWrite() {
	if !h.segmentsOnDisk() {
		return // segments go to the bucket alone: they do not fill the disk
	}
	free, _, err := h.cfg.DiskFree(h.store.Dir())
	if err != nil || free >= uint64(h.cfg.MinFree) {
		return // an unreadable statfs is logged by the next pass
	}
	select {
	case h.emergencyKick <- struct{}{}:
	default: // a pass is already asked for
	}
}

// emergencyLoop runs an emergency pass for each kick, at most one per
// emergencyEvery, until ctx ends.
func (h *Hub) emergencyLoop(ctx context.Context) {
	defer h.wg.Done()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.emergencyKick:
		}
		if wait := emergencyEvery - time.Since(last); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		last = time.Now()
		if _, err := h.emergencyPass(last); err != nil {
			h.cfg.Logger.Error("emergency deletion (after a write)", "err", err)
		}
	}
}

// emergencyCursor is one chain's planned emergency cut.
type emergencyCursor struct {
	ref   store.ChainRef
	c     *store.Chain
	segs  []store.SegmentInfo // deletable, oldest first
	taken int
}

// emergencyPass frees space when the recordings' disk has less than
// MinFree: it deletes the oldest segments of every camera that a committed
// checkpoint covers and no hold keeps, whatever the retention policy,
// until MinFree is free again. Before any file of a chain goes, the hub
// persists a hub/emergency-prune alarm naming exactly which seqs (it
// reaches the ledger even across a crash), so `camchain verify` reports
// these clips as emergency-deleted, never as pruned. Returns the bytes
// freed.
func (h *Hub) emergencyPass(now time.Time) (int64, error) {
	if !h.segmentsOnDisk() {
		return 0, nil // nothing on the disk to free: segments are in the bucket alone
	}
	h.emergencyMu.Lock()
	defer h.emergencyMu.Unlock()
	free, total, err := h.cfg.DiskFree(h.store.Dir())
	if err != nil {
		return 0, fmt.Errorf("free space of %s: %w", h.store.Dir(), err)
	}
	if free >= uint64(h.cfg.MinFree) {
		return 0, nil
	}
	need := int64(uint64(h.cfg.MinFree) - free)
	refs, err := h.store.Chains()
	if err != nil {
		return 0, err
	}
	var curs []*emergencyCursor
	for _, ref := range refs {
		protect, err := h.checkpointedBelow(ref)
		if err != nil || protect == 0 {
			continue
		}
		c, err := h.store.LookupStream(ref)
		if err != nil {
			continue
		}
		held, err := h.heldFor(ref)
		if err != nil {
			continue // a hold that cannot be read may hold anything
		}
		cu := &emergencyCursor{ref: ref, c: c}
		c.Range(0, protect, func(si store.SegmentInfo) bool {
			if si.Pruned || si.Missing {
				return true
			}
			if held != nil && held(si) {
				return false // a held segment stops the cut: the mark is a prefix
			}
			cu.segs = append(cu.segs, si)
			return true
		})
		if len(cu.segs) > 0 {
			curs = append(curs, cu)
		}
	}
	// Oldest first across every chain.
	for need > 0 {
		var best *emergencyCursor
		for _, cu := range curs {
			if cu.taken < len(cu.segs) && (best == nil || cu.segs[cu.taken].Start.Before(best.segs[best.taken].Start)) {
				best = cu
			}
		}
		if best == nil {
			break
		}
		need -= int64(best.segs[best.taken].Size)
		best.taken++
	}
	var freed int64
	var errs []error
	for _, cu := range curs {
		if cu.taken == 0 {
			continue
		}
		from, below := cu.segs[0].Seq, cu.segs[cu.taken-1].Seq+1
		detail := retention.EmergencyDetail(cu.ref.Epoch, cu.ref.Stream, from, below, free, total)
		if err := h.recordAlarm(cu.ref.Camera, audit.EmergencyPrune, detail, now); err != nil {
			errs = append(errs, fmt.Errorf("%s: emergency deletion not recorded, nothing deleted: %w", cu.ref, err))
			continue
		}
		res, err := cu.c.PruneOlder(now, time.Nanosecond, below, nil)
		freed += res.Freed
		if err != nil {
			errs = append(errs, err)
		}
		h.cfg.Logger.Error("disk nearly full: emergency deletion of the oldest recordings, outside the retention policy",
			"camera", cu.ref.Camera.Hex(), "epoch", cu.ref.Epoch, "stream", cu.ref.Stream, "from", from, "below", below,
			"bytes", res.Freed, "free", free, "min_free", h.cfg.MinFree)
	}
	if need > 0 {
		errs = append(errs, errors.New("disk nearly full and nothing more may be deleted (not yet checkpointed, held or already gone): free space on "+h.store.Dir()))
	}
	return freed, errors.Join(errs...)
}
