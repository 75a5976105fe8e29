package hub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/store"
)

// DefaultRetentionInterval is how often the hub applies retention.
const DefaultRetentionInterval = 10 * time.Minute

// HeldFunc reports whether a segment of camera's chain in epoch must be
// kept whatever its age: a legal hold. It runs during a retention pass and
// must be quick; it must not call the store's Prune.
type HeldFunc func(camera keys.Address, epoch uint64, seg store.SegmentInfo) bool

// retentionLoop runs a retention pass at start and every
// RetentionInterval until ctx ends.
func (h *Hub) retentionLoop(ctx context.Context) {
	defer h.wg.Done()
	t := time.NewTicker(h.cfg.RetentionInterval)
	defer t.Stop()
	for {
		if _, err := h.retentionPass(time.Now()); err != nil {
			h.cfg.Logger.Error("retention pass", "err", err)
		}
		if _, err := h.emergencyPass(time.Now()); err != nil {
			h.cfg.Logger.Error("emergency deletion", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// retentionFor is the age after which the hub may delete the segments of
// camera's chain in epoch: the owner's ledger policy (SPEC §14.2), else the
// hub's --retention.
func (h *Hub) retentionFor(camera keys.Address, epoch uint64) (time.Duration, error) {
	keep, _, err := h.retentionPolicy(camera, epoch)
	return keep, err
}

// retentionPolicy is retentionFor, and whether the owner's ledger policy
// (true) or the hub's --retention (false) set it.
func (h *Hub) retentionPolicy(camera keys.Address, epoch uint64) (time.Duration, bool, error) {
	p, err := h.node.App.RetentionNow(camera, epoch)
	if err != nil {
		return 0, false, err
	}
	if p == nil {
		return h.cfg.Retention, false, nil
	}
	return time.Duration(p.Days) * 24 * time.Hour, true, nil
}

// checkpointedBelow is the first seq of the chain that no committed
// checkpoint covers: the hub never deletes a segment at or above it, since
// a pending checkpoint still needs it. A sub stream's chain is not
// checkpointed yet (checkpointsOf): nothing of it is deleted.
func (h *Hub) checkpointedBelow(ref store.ChainRef) (uint64, error) {
	if ref.Stream != feedchain.StreamMain {
		return 0, nil
	}
	cp, err := h.node.App.LastCheckpoint(ref.Camera, ref.Epoch)
	if err != nil || cp == nil {
		return 0, err
	}
	return cp.Msg.LastSeq + 1, nil
}

// retentionPass applies every chain's retention once, as of now: segments
// older than the camera's policy, covered by a committed checkpoint and
// not held, oldest first (SPEC §14.2).
func (h *Hub) retentionPass(now time.Time) (store.PruneResult, error) {
	refs, err := h.store.Chains()
	if err != nil {
		return store.PruneResult{}, err
	}
	var total store.PruneResult
	var errs []error
	for _, ref := range refs {
		age, err := h.retentionFor(ref.Camera, ref.Epoch)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: retention policy: %w", ref, err))
			continue
		}
		protect, err := h.checkpointedBelow(ref)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: checkpoints: %w", ref, err))
			continue
		}
		if protect == 0 {
			continue // nothing checkpointed: nothing may go
		}
		c, err := h.store.LookupStream(ref)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		held, err := h.heldFor(ref)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: legal holds: %w", ref, err))
			continue // a hold that cannot be read may hold anything
		}
		res, err := c.PruneOlder(now, age, protect, held)
		total.Deleted += res.Deleted
		total.Freed += res.Freed
		total.Stored = res.Stored
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// heldFor is what keeps a segment of chain ref whatever its age: the
// owner's legal holds on the ledger for the camera's epoch (SPEC §14.4),
// every stream of it, and Config.Held. Nil when nothing holds.
func (h *Hub) heldFor(ref store.ChainRef) (func(store.SegmentInfo) bool, error) {
	all, err := h.node.App.Holds(ref.Camera, ref.Epoch)
	if err != nil {
		return nil, err
	}
	var holds []ledger.HoldRecord
	for _, r := range all {
		if r.Active() {
			holds = append(holds, r)
		}
	}
	hook := h.cfg.Held
	if len(holds) == 0 && hook == nil {
		return nil, nil
	}
	return func(si store.SegmentInfo) bool {
		for i := range holds {
			if holds[i].Covers(si.Start, si.Duration) {
				return true
			}
		}
		return hook != nil && hook(ref.Camera, ref.Epoch, si)
	}, nil
}
