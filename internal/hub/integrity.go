package hub

import (
	"log/slog"
	"sort"
	"sync"

	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/store"
)

// Integrity states of a stored recording, as the API reports them.
const (
	IntegrityVerified = "verified" // covered by a ledger checkpoint whose root matches this hub's records
	IntegrityPending  = "pending"  // no checkpoint covers it yet
	IntegrityFailed   = "failed"   // a covering checkpoint does not match: records differ from what the camera committed
)

// trees caches, per chain, the Merkle tree over the hub's stored records,
// extended as records arrive.
type trees struct {
	mu sync.Mutex
	m  map[store.ChainRef]*checkpoint.Tree
}

func (t *trees) synced(c *store.Chain, log *slog.Logger) *checkpoint.Tree {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[store.ChainRef]*checkpoint.Tree{}
	}
	tr := t.m[c.ID()]
	if tr == nil {
		tr = checkpoint.NewTree()
		t.m[c.ID()] = tr
	}
	if head := c.Head(); head.Valid {
		// A store chain holds every record up to its head, so this extends
		// to the head; were one missing, the tree would stop short of it
		// and the checkpoints above would read as pending, not verified.
		if err := tr.ExtendTo(c, head.Seq+1); err != nil {
			log.Error("integrity: the hub's chain lacks a record below its head", "camera", c.ID().Camera.Hex(), "epoch", c.ID().Epoch, "err", err)
		}
	}
	return tr
}

// ckVerdict is one ledger checkpoint checked against the hub's records.
type ckVerdict struct {
	rec   ledger.CheckpointRecord
	state string
}

// integrityIndex answers, for any seq of a chain, its integrity state and
// the checkpoint that decided it.
type integrityIndex []ckVerdict

func (h *Hub) integrityIndex(c *store.Chain) (integrityIndex, error) {
	id := c.ID()
	recs, err := h.checkpointsOf(id.Camera, id.Epoch, id.Stream, 0, 1<<20)
	if err != nil {
		return nil, err
	}
	tr := h.trees.synced(c, h.cfg.Logger)
	out := make(integrityIndex, 0, len(recs))
	for _, r := range recs {
		v := ckVerdict{rec: r, state: IntegrityPending}
		if r.Msg.TreeSize <= tr.Size() {
			root, err := tr.RootAt(r.Msg.TreeSize)
			if err != nil {
				return nil, err
			}
			v.state = IntegrityFailed
			if root == r.Msg.Root {
				v.state = IntegrityVerified
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// of returns the state of seq and its checkpoint (nil if pending).
func (ix integrityIndex) of(seq uint64) (string, *ledger.CheckpointRecord) {
	i := sort.Search(len(ix), func(i int) bool { return ix[i].rec.Msg.LastSeq >= seq })
	if i == len(ix) || ix[i].rec.Msg.FirstSeq > seq || ix[i].state == IntegrityPending {
		return IntegrityPending, nil
	}
	return ix[i].state, &ix[i].rec
}
