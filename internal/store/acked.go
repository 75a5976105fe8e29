package store

import (
	"fmt"

	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/store/layout"
)

// Acked returns the acknowledgement pointer: the hub holds every record
// up to and including it. The zero Head means nothing is acknowledged.
func (c *Chain) Acked() feedchain.Head {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.acked
}

// SetAcked moves the acknowledgement pointer to h, durably. h must be a
// record of this chain (same seq and hash) at or after the current
// pointer; otherwise SetAcked returns *AckRefusedError and changes nothing.
// Retention never deletes a segment above the pointer.
func (c *Chain) SetAcked(h feedchain.Head) error {
	c.ackMu.Lock()
	defer c.ackMu.Unlock()
	c.mu.RLock()
	closed, acked, head := c.closed, c.acked, c.headLocked()
	var have feedchain.Hash
	inChain := h.Valid && h.Seq < uint64(len(c.metas))
	if inChain {
		have = c.metas[h.Seq].hash
	}
	c.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	refuse := func(reason string) error {
		return &AckRefusedError{Chain: c.id, Got: h, Acked: acked, Head: head, Reason: reason}
	}
	switch {
	case !h.Valid:
		return refuse("not a record")
	case !inChain:
		return refuse(fmt.Sprintf("the chain has no record %d", h.Seq))
	case have != h.Hash:
		return refuse(fmt.Sprintf("record %d has hash %s here: the chains diverged", h.Seq, have.Short()))
	case acked.Valid && h.Seq < acked.Seq:
		return refuse("acknowledgements never move backwards")
	case acked == h:
		return nil
	}
	if err := atomicfile.Write(c.statePath(layout.AckedName), layout.EncodeAcked(h), fileMode); err != nil {
		return fmt.Errorf("store: %s: save acknowledgement: %w", c.id, err)
	}
	c.mu.Lock()
	c.acked = h
	c.mu.Unlock()
	return nil
}

// ackedBound is the first seq retention must keep for this chain when
// nobody says otherwise: everything above the acknowledgement.
func (c *Chain) ackedBound() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.acked.Valid {
		return 0
	}
	return c.acked.Seq + 1
}
