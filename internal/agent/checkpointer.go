package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
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
//
// The camera does not take the hub's word that a checkpoint landed: it
// looks each one up on the ledger through its hub and requires the very
// transaction it signed, in a committed block (api.Client.Committed). A
// checkpoint not found by the time it has expired is missing: the camera
// raises checkpoint-missing and signs the period again. A checkpoint the
// ledger refuses raises checkpoint-refused, saying when the refusal is the
// camera's clock (docs/SPEC.md §3.2: future, expired, expiry_too_far), so
// clock skew cannot silently stop checkpoints.
type checkpointer struct {
	a          *Agent
	chain      *store.Chain
	tree       *checkpoint.Tree
	api        *api.Client
	evmChainID uint64 // EIP-712 chain id

	pending *pendingCheckpoint   // submitted, not yet seen on the ledger
	alarmed map[string]time.Time // when each alarm was last raised (camera clock)
}

// pendingCheckpoint is a checkpoint the hub accepted and the camera has not
// yet found on the ledger.
type pendingCheckpoint struct {
	raw         []byte
	first, last uint64
	expiry      time.Time // after it the transaction can never land
}

// checkpointAlarmEvery is how often one alarm (one kind, one range of
// records) is raised again while its cause lasts.
const checkpointAlarmEvery = time.Hour

// confirmGrace is how long after a checkpoint's expiry the camera still
// looks for it before calling it missing (the ledger's block time may lag
// the camera's clock).
const confirmGrace = time.Minute

// clockRefusals are the ledger's refusals that the camera's clock causes
// (docs/SPEC.md §3.2 code names): a period end ahead of the block time
// (the clock is fast), or an expiry already past or too far ahead.
var clockRefusals = map[string]bool{"future": true, "expired": true, "expiry_too_far": true}

// syncTree appends the chain's new records to the Merkle tree.
func (c *checkpointer) syncTree() error {
	head := c.chain.Head()
	if !head.Valid {
		return nil
	}
	return c.tree.ExtendTo(c.chain, head.Seq+1)
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
	if err := c.confirm(ctx, now); err != nil {
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
		if enc := c.a.currentE2EE(); enc != nil {
			enc.SetPeriod(period) // content keys rotate at least every period (SPEC §17.2)
		}
		var first uint64
		var prevSize uint64
		var prevEnd uint64
		count, lastSeq, lastEnd := d.Checkpoints.Count, d.Checkpoints.LastSeq, d.Checkpoints.LastPeriodEnd
		if c.chain.ID().Stream == feedchain.StreamSub {
			// The sub stream's chain has its own checkpoints (SPEC §6.3).
			count, lastSeq, lastEnd = 0, 0, ""
			if sc := d.SubCheckpoints; sc != nil {
				count, lastSeq, lastEnd = sc.Count, sc.LastSeq, sc.LastPeriodEnd
			}
		}
		if count > 0 {
			first = lastSeq + 1
			prevSize = first
			if t, err := time.Parse(time.RFC3339, lastEnd); err == nil {
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
		if err := c.commit(ctx, now, epoch, pStart, pEnd, first, last, prevSize); err != nil {
			return committed, err
		}
		committed++
		if err := c.awaitConfirm(ctx, now); err != nil {
			return committed, err
		}
	}
}

func (c *checkpointer) commit(ctx context.Context, now time.Time, epoch, start, end, first, last, prevSize uint64) error {
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
	expiry := now.Add(tx.DefaultTTL)
	m := &tx.Checkpoint{Stream: c.chain.ID().Stream, Camera: c.a.key.Address(), Epoch: epoch, PeriodStart: start, PeriodEnd: end,
		FirstSeq: first, LastSeq: last, TreeSize: size, Root: root, ChainHead: head,
		Consistency: proof, Nonce: tx.NewNonce(), Expiry: uint64(expiry.Unix())}
	signed, err := tx.Sign(c.evmChainID, m, c.a.key)
	if err != nil {
		return err
	}
	raw, err := signed.Encode()
	if err != nil {
		return err
	}
	_, err = c.api.Submit(ctx, raw)
	var ae *api.Error
	if errors.As(err, &ae) && ae.Result != nil {
		why := fmt.Sprintf("the ledger refused the checkpoint of records #%d–#%d: %s: %s", first, last, ae.Result.CodeName, ae.Result.Log)
		if clockRefusals[ae.Result.CodeName] {
			why = fmt.Sprintf("%s; the camera's clock reads %s: it is off from the ledger's, and no checkpoint can land until it is set right (NTP)",
				why, now.UTC().Format(time.RFC3339))
		}
		c.alarm(now, audit.CheckpointRefused, first, last, why)
		return errors.New(why)
	}
	if err != nil {
		return err
	}
	c.pending = &pendingCheckpoint{raw: raw, first: first, last: last, expiry: expiry}
	c.a.log.Info("checkpoint submitted", "stream", m.Stream.String(), "epoch", epoch, "first_seq", first, "last_seq", last,
		"period_end", time.Unix(int64(end), 0).UTC().Format(time.RFC3339))
	return nil
}

// errUnconfirmed: the last checkpoint is not on the ledger yet; the next is
// not signed until it is (or is found missing).
var errUnconfirmed = errors.New("the last checkpoint is not on the ledger yet")

// confirm looks the pending checkpoint up on the ledger. Found (the very
// transaction the camera signed, applied): done. Not found before its
// expiry: errUnconfirmed, look again next round. Not found after it, or
// another transaction in its place: the checkpoint is missing; alarm, and
// the period is signed again.
func (c *checkpointer) confirm(ctx context.Context, now time.Time) error {
	p := c.pending
	if p == nil {
		return nil
	}
	r, err := c.api.Committed(ctx, p.raw)
	switch {
	case err == nil && r.Code == 0:
		c.pending = nil
		c.a.log.Info("checkpoint confirmed on the ledger", "stream", c.chain.ID().Stream.String(), "first_seq", p.first, "last_seq", p.last, "height", r.Height)
		return nil
	case err == nil:
		c.pending = nil
		why := fmt.Sprintf("the checkpoint of records #%d–#%d is in block %d but the ledger refused it: %s: %s", p.first, p.last, r.Height, r.CodeName, r.Log)
		c.alarm(now, audit.CheckpointRefused, p.first, p.last, why)
		return errors.New(why)
	case errors.Is(err, api.ErrNotTheTx):
		c.pending = nil
		why := fmt.Sprintf("the hub accepted the checkpoint of records #%d–#%d, then answered for it with another transaction: it is not on the ledger; signing it again", p.first, p.last)
		c.alarm(now, audit.CheckpointMissing, p.first, p.last, why)
		return errors.New(why)
	case api.CodeOf(err) == api.ErrNotFound && now.After(p.expiry.Add(confirmGrace)):
		c.pending = nil
		why := fmt.Sprintf("the hub accepted the checkpoint of records #%d–#%d, but it is not on the ledger and has expired (%s); signing it again",
			p.first, p.last, p.expiry.UTC().Format(time.RFC3339))
		c.alarm(now, audit.CheckpointMissing, p.first, p.last, why)
		return errors.New(why)
	case api.CodeOf(err) == api.ErrNotFound:
		return fmt.Errorf("checkpoint of records #%d–#%d: %w", p.first, p.last, errUnconfirmed)
	}
	return err
}

// confirmWait is how long the camera waits, right after its hub accepted a
// checkpoint, for the ledger's transaction index to show it, before
// leaving it to the next round.
const confirmWait = 5 * time.Second

// awaitConfirm is confirm, retried for up to confirmWait while the
// checkpoint is not found yet.
func (c *checkpointer) awaitConfirm(ctx context.Context, now time.Time) error {
	deadline := time.Now().Add(confirmWait)
	for {
		err := c.confirm(ctx, now)
		if !errors.Is(err, errUnconfirmed) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// alarm raises kind about records first..last, at most once per
// checkpointAlarmEvery while the cause lasts.
func (c *checkpointer) alarm(now time.Time, kind audit.Alarm, first, last uint64, detail string) {
	key := fmt.Sprintf("%s %d %d", kind, first, last)
	if t, ok := c.alarmed[key]; ok && now.Sub(t) < checkpointAlarmEvery && now.After(t) {
		c.a.log.Warn("checkpoint alarm already raised", "kind", kind, "detail", detail)
		return
	}
	if c.alarmed == nil || len(c.alarmed) >= 64 {
		c.alarmed = map[string]time.Time{}
	}
	c.alarmed[key] = now
	c.a.alarms.Raise(kind, detail)
}

// checkpointLoop runs the checkpointer while the camera is paired.
func (a *Agent) checkpointLoop(ctx context.Context, p *Pairing, chain *store.Chain) {
	client, err := api.NewClient(p.HubAPI)
	if err != nil {
		a.log.Error("checkpoints: bad hub API URL", "err", err)
		return
	}
	// The camera reads its own ledger record as itself: it logs in with
	// its key like any other principal.
	client.WithCredentials(a.hubLogin)
	c := &checkpointer{a: a, chain: chain, tree: checkpoint.NewTree(), api: client, evmChainID: p.EVMChainID}
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
