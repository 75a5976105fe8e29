package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/store"
	"github.com/camchain/camchain/internal/tx"
)

// checkpointGrace is how long after a period ends the camera waits before
// committing it, so the period's last segment is certainly recorded.
const checkpointGrace = 5 * time.Second

// checkpointer commits, at the end of each period the owner chose, the
// Merkle root of the camera's chain to the ledger, signed by the camera and
// sent through its hub. A camera that was offline commits late, period by
// period; only the camera can sign, so the hub cannot commit for it.
type checkpointer struct {
	a       *Agent
	chain   *store.Chain
	tree    *checkpoint.Tree
	api     *api.Client
	chain64 uint64 // EIP-712 chain id
}

// syncTree appends the chain's new records to the Merkle tree.
func (c *checkpointer) syncTree() error {
	head := c.chain.Head()
	for head.Valid && c.tree.Size() <= head.Seq {
		h, ok := c.chain.HashAt(c.tree.Size())
		if !ok {
			return fmt.Errorf("record #%d missing from the chain", c.tree.Size())
		}
		c.tree.Append(h)
	}
	return nil
}

// periodOf returns the period [start, end) containing t.
func periodOf(t time.Time, period uint64) (uint64, uint64) {
	s := uint64(t.Unix()) / period * period
	return s, s + period
}

// once commits every period that has ended and is not on the ledger yet.
// It returns how many checkpoints it committed.
func (c *checkpointer) once(ctx context.Context, now time.Time) (int, error) {
	if err := c.syncTree(); err != nil {
		return 0, err
	}
	cam := c.a.key.Address()
	committed := 0
	for {
		d, err := c.api.Device(ctx, cam.Hex())
		if api.CodeOf(err) == api.ErrNotFound {
			return committed, nil // the imprint is not on the ledger yet
		}
		if err != nil {
			return committed, err
		}
		epoch := c.chain.ID().Epoch
		if d.Epoch != epoch || !d.Owned {
			return committed, nil // not this chain's ledger state (reset/released): nothing to commit
		}
		period := d.CheckpointPeriod
		var first uint64
		var prevSize uint64
		var prevEnd uint64
		if d.Checkpoints.Count > 0 {
			first = d.Checkpoints.LastSeq + 1
			prevSize = first
			if t, err := time.Parse(time.RFC3339, d.Checkpoints.LastPeriodEnd); err == nil {
				prevEnd = uint64(t.Unix())
			}
		}
		head := c.chain.Head()
		if !head.Valid || first > head.Seq {
			return committed, nil // nothing recorded since the last checkpoint
		}
		info, ok := c.chain.Info(first)
		if !ok {
			return committed, fmt.Errorf("record #%d not in the chain", first)
		}
		pStart, pEnd := periodOf(info.Start, period)
		if pStart < prevEnd {
			pStart = prevEnd
		}
		if pStart >= pEnd || now.Before(time.Unix(int64(pEnd), 0).Add(checkpointGrace)) {
			return committed, nil // the period of the next record has not ended
		}
		last := first
		for s := first + 1; s <= head.Seq; s++ {
			in, ok := c.chain.Info(s)
			if !ok || uint64(in.Start.Unix()) >= pEnd {
				break
			}
			last = s
		}
		if err := c.commit(ctx, epoch, pStart, pEnd, first, last, prevSize); err != nil {
			return committed, err
		}
		committed++
	}
}

func (c *checkpointer) commit(ctx context.Context, epoch, start, end, first, last, prevSize uint64) error {
	size := last + 1
	root, err := c.tree.RootAt(size)
	if err != nil {
		return err
	}
	var proof []byte
	if prevSize > 0 {
		p, err := c.tree.ConsistencyProof(prevSize, size)
		if err != nil {
			return err
		}
		proof = checkpoint.EncodeProof(p)
	}
	head, _ := c.chain.HashAt(last)
	m := &tx.Checkpoint{Camera: c.a.key.Address(), Epoch: epoch, PeriodStart: start, PeriodEnd: end,
		FirstSeq: first, LastSeq: last, TreeSize: size, Root: tx.Hash(root), ChainHead: tx.Hash(head),
		Consistency: proof, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(tx.DefaultTTL)}
	signed, err := tx.Sign(c.chain64, m, c.a.key)
	if err != nil {
		return err
	}
	raw, err := signed.Encode()
	if err != nil {
		return err
	}
	res, err := c.api.Submit(ctx, raw)
	if err != nil {
		var ae *api.Error
		if errors.As(err, &ae) && ae.Result != nil {
			return fmt.Errorf("checkpoint of records #%d–#%d refused: %s: %s", first, last, ae.Result.CodeName, ae.Result.Log)
		}
		return err
	}
	c.a.log.Info("checkpoint committed", "epoch", epoch, "first_seq", first, "last_seq", last,
		"period_end", time.Unix(int64(end), 0).UTC().Format(time.RFC3339), "height", res.Height)
	return nil
}

// checkpointLoop runs the checkpointer while the camera is paired.
func (a *Agent) checkpointLoop(ctx context.Context, p *Pairing, chain *store.Chain) {
	client, err := api.NewClient(p.HubAPI)
	if err != nil {
		a.log.Error("checkpoints: bad hub API URL", "err", err)
		return
	}
	c := &checkpointer{a: a, chain: chain, tree: checkpoint.NewTree(), api: client, chain64: p.ChainID}
	t := time.NewTicker(a.cfg.CheckpointEvery)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		_, err := c.once(cctx, time.Now())
		cancel()
		if err != nil && ctx.Err() == nil {
			a.log.Warn("checkpoint not committed yet; will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
