package hub

import (
	"context"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/link"
)

// What the hub forwards to a camera over the link (SPEC §7.4): the
// ledger's transactions themselves, for the camera to check.

// maxAccessEvents bounds the camera's audit events read to find its
// viewers' latest grants and revokes.
const maxAccessEvents = 4096

// accessCache keeps each camera's forwarded set for the ledger height it
// was computed at, and the transactions' bytes by hash (they never change).
type accessCache struct {
	mu   sync.Mutex
	sets map[keys.Address]accessSet
	txs  map[feedchain.Hash][]byte
}

type accessSet struct {
	height, epoch uint64
	txs           [][]byte
}

// hubAccess is the link's AccessSource.
type hubAccess struct{ h *Hub }

func (a hubAccess) Access(cam keys.Address, epoch uint64) ([][]byte, error) {
	h := a.h
	height, _ := h.node.App.Height()
	c := &h.access
	c.mu.Lock()
	if s, ok := c.sets[cam]; ok && s.height == height && s.epoch == epoch {
		c.mu.Unlock()
		return s.txs, nil
	}
	c.mu.Unlock()
	txs, err := h.accessTxs(cam, epoch)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.sets == nil {
		c.sets = map[keys.Address]accessSet{}
	}
	c.sets[cam] = accessSet{height: height, epoch: epoch, txs: txs}
	c.mu.Unlock()
	return txs, nil
}

// accessTxs lists, for the camera's epoch: each viewer's latest Grant or
// Revoke (newest first, at most link.MaxAccessViewers), the ViewingKey
// registrations of the owner and of the viewers whose latest is a grant,
// and the owner's latest Encryption policy.
func (h *Hub) accessTxs(cam keys.Address, epoch uint64) ([][]byte, error) {
	d, err := h.node.App.Device(cam)
	if err != nil || d == nil || !d.Owned() || d.Epoch != epoch {
		return nil, err
	}
	var statements, vkeys []feedchain.Hash
	seen := map[keys.Address]bool{}
	granted := []keys.Address{d.Owner}
	before, read := uint64(0), 0
scan:
	for read < maxAccessEvents {
		evs, err := h.node.App.Events(ledger.EventFilter{Camera: cam, Before: before, Limit: 500})
		if err != nil {
			return nil, err
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			read++
			before = e.Seq
			if e.Time < d.ImprintedAt || e.Kind == audit.Imprint {
				break scan // the epoch's events end here
			}
			if (e.Kind != audit.Granted && e.Kind != audit.Revoked) || seen[e.Actor] {
				continue
			}
			seen[e.Actor] = true
			statements = append(statements, e.TxHash)
			if e.Kind == audit.Granted {
				granted = append(granted, e.Actor)
			}
			if len(statements) == link.MaxAccessViewers {
				break scan
			}
		}
	}
	for _, a := range granted {
		r, err := h.node.App.ViewingKey(a)
		if err != nil {
			return nil, err
		}
		if r != nil {
			vkeys = append(vkeys, r.TxHash)
		}
	}
	hashes := append(statements, vkeys...)
	if p, err := h.node.App.EncryptionNow(cam, epoch); err != nil {
		return nil, err
	} else if p != nil {
		hashes = append(hashes, p.TxHash)
	}
	out := make([][]byte, 0, len(hashes))
	for _, th := range hashes {
		raw, err := h.txBytes(th)
		if err != nil {
			return nil, err
		}
		out = append(out, raw)
	}
	return out, nil
}

// txBytes returns a committed transaction's wire bytes.
func (h *Hub) txBytes(hash feedchain.Hash) ([]byte, error) {
	c := &h.access
	c.mu.Lock()
	raw, ok := c.txs[hash]
	c.mu.Unlock()
	if ok {
		return raw, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := h.node.Tx(ctx, hash, false)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.txs == nil {
		c.txs = map[feedchain.Hash][]byte{}
	}
	c.txs[hash] = res.Tx
	c.mu.Unlock()
	return res.Tx, nil
}
