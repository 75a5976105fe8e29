package hub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/auth"
	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/tx"
)

// DefaultLoginInterval is how often the hub commits its login records'
// Merkle root to the ledger (docs/SPEC.md §11.7): one LoginBatch per
// interval that had any, however many logins, refusals or attackers.
const DefaultLoginInterval = time.Minute

// DefaultLoginRetention is how long the hub keeps the login records of
// batches already on the ledger: a year of logins stays provable, and the
// log's disk and memory (about 120 and 110 bytes a record) stop growing.
const DefaultLoginRetention = 365 * 24 * time.Hour

// loginLoop closes the login log's batch every LoginInterval and files the
// closed batches the ledger does not have yet, in order. A batch that
// fails is filed again at the next tick; nothing waits for it.
func (h *Hub) loginLoop(ctx context.Context) {
	defer h.wg.Done()
	tick := time.NewTicker(h.cfg.LoginInterval)
	defer tick.Stop()
	h.fileLoginBatches(ctx) // what a crash left closed but unfiled
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if _, err := h.logins.Close(uint64(time.Now().Unix())); err != nil {
				h.cfg.Logger.Error("login log: cannot close the interval's batch", "err", err)
				continue
			}
			h.fileLoginBatches(ctx)
		}
	}
}

// fileLoginBatches submits every closed batch from the ledger's next one on.
func (h *Hub) fileLoginBatches(ctx context.Context) {
	head, err := h.node.App.LoginBatchHead(h.key.Address())
	if err != nil {
		h.cfg.Logger.Error("login batches: ledger state", "err", err)
		return
	}
	for _, b := range h.logins.Closed(head.Batches) {
		if err := h.fileLoginBatch(ctx, b); err != nil {
			h.cfg.Logger.Error("login batch not yet on the ledger; retrying next interval", "seq", b.Seq, "err", err)
			return
		}
		head.Batches = b.Seq + 1
	}
	before := time.Now().Add(-h.cfg.LoginRetention).Unix()
	if n, err := h.auth.PruneLog(uint64(max(before, 0)), head.Batches); err != nil {
		h.cfg.Logger.Error("login log: pruning", "err", err)
	} else if n > 0 {
		h.cfg.Logger.Info("login log: pruned batches past the retention", "batches", n, "retention", h.cfg.LoginRetention)
	}
}

func (h *Hub) fileLoginBatch(ctx context.Context, b *auth.Batch) error {
	m := &tx.LoginBatch{Hub: h.key.Address(), Seq: b.Seq, PeriodStart: b.Start, PeriodEnd: b.End, Size: b.Size,
		Root: b.Root, Unverified: b.Unverified, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(tx.DefaultTTL)}
	err := h.submitOwn(ctx, m)
	var ref *ledger.Refusal
	if !errors.As(err, &ref) || ref.Code != ledger.CodeConflict {
		return err
	}
	// Committed already (filed before a crash)? Then it must be this very
	// batch: a hub's log and its ledger record never disagree.
	got, lerr := h.node.App.LoginBatch(h.key.Address(), b.Seq)
	if lerr != nil || got == nil {
		return err
	}
	if got.Msg.Root != b.Root || got.Msg.Size != b.Size {
		return fmt.Errorf("the ledger's login batch %d (size %d, root %x) is not this hub's log (size %d, root %x)",
			b.Seq, got.Msg.Size, got.Msg.Root, b.Size, b.Root)
	}
	return nil
}

// loginRecord returns a login record with its inclusion proof against the
// root its batch committed on the ledger (GET /auth/logins/{record}). The
// caller sees the records of its own address; the hub's owner sees every
// record. Any other record is not found, whether it exists or not.
func (h *Hub) loginRecord(r *http.Request) (any, error) {
	s := sessionOf(r)
	hash, err := parseHash(r.PathValue("record"))
	if err != nil {
		return nil, err
	}
	notFound := api.Errorf(api.ErrNotFound, "no login record %s of yours on this hub", hexHash(hash[:]))
	p, err := h.logins.Prove(signin.Head(hash))
	switch {
	case errors.Is(err, auth.ErrNoEntry):
		return nil, notFound
	case p != nil && p.Entry.Address() != s.Address && (h.cfg.Owner == (keys.Address{}) || s.Address != h.cfg.Owner):
		return nil, notFound
	case errors.Is(err, auth.ErrNotBatched):
		return nil, api.Errorf(api.ErrConflict, "%v (at most %s)", err, h.cfg.LoginInterval)
	case err != nil:
		return nil, err
	}
	rec, err := h.node.App.LoginBatch(h.key.Address(), p.Batch.Seq)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, api.Errorf(api.ErrConflict, "login batch %d is closed but not yet on the ledger; retry after the next interval", p.Batch.Seq)
	}
	if rec.Msg.Root != p.Batch.Root || rec.Msg.Size != p.Batch.Size {
		return nil, fmt.Errorf("login batch %d on the ledger differs from the hub's log", p.Batch.Seq)
	}
	res, err := h.node.Tx(r.Context(), rec.TxHash, false)
	if errors.Is(err, ledger.ErrTxNotFound) {
		// Committed, but CometBFT indexes a block's transactions after the
		// block: moments later it is found.
		return nil, api.Errorf(api.ErrConflict, "login batch %d is on the ledger but its transaction is not indexed yet; retry in a moment", p.Batch.Seq)
	}
	if err != nil {
		return nil, fmt.Errorf("login batch %d transaction: %w", p.Batch.Seq, err)
	}
	return loginProofView(p, rec, res.Tx, h), nil
}

func loginProofView(p *auth.Proof, rec *ledger.LoginBatchRecord, batchTx []byte, h *Hub) api.LoginProof {
	e := p.Entry
	out := api.LoginProof{
		Hash: e.Hash().Hex(), Entry: hexHash(p.Raw), Kind: e.Kind().String(),
		Address: e.Address().Hex(), Client: e.Client().String(), Time: rfc3339(e.Time()),
		Index: p.Index, Hub: h.key.Address().Hex(), ChainID: h.node.App.EVMChainID(),
		Batch: api.LoginBatch{Seq: rec.Msg.Seq, PeriodStart: rfc3339(rec.Msg.PeriodStart), PeriodEnd: rfc3339(rec.Msg.PeriodEnd),
			Size: rec.Msg.Size, Root: hexHash(rec.Msg.Root[:]), Unverified: rec.Msg.Unverified,
			TxHash: hexHash(rec.TxHash[:]), Height: rec.Height},
		BatchTx: hexHash(batchTx), Path: []string{},
	}
	if e.Refusal != nil {
		out.Reason = e.Refusal.Reason.String()
	}
	for _, x := range p.Path {
		out.Path = append(out.Path, hexHash(x[:]))
	}
	return out
}
