package cli

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/retention"
	"github.com/camchain/camchain/internal/verify"
)

// Paging sizes for the hub reads of verify.
const (
	verifyRecordsPage     = 5000 // the records route's maximum
	verifyCheckpointsPage = 500  // the other lists' maximum
)

// hubRecords fetches every record the hub stores for the chain. Nothing is
// taken on trust: Verify checks every record's signature and link and the
// tree they make against the checkpoints.
func hubRecords(ctx context.Context, c *api.Client, cam keys.Address, epoch uint64, stream feedchain.Stream) ([]*feedchain.Record, error) {
	var out []*feedchain.Record
	from := uint64(0)
	for {
		l, err := c.StreamRecords(ctx, cam.Hex(), stream.String(), int64(epoch), from, verifyRecordsPage)
		if err != nil {
			return nil, err
		}
		for i, s := range l.Items {
			b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
			if err != nil {
				return nil, fmt.Errorf("the hub sent record %d as malformed hex", from+uint64(i))
			}
			r, err := feedchain.Parse(b)
			if err != nil {
				return nil, fmt.Errorf("the hub sent a malformed record %d: %w", from+uint64(i), err)
			}
			out = append(out, r)
		}
		if l.Next == "" {
			return out, nil
		}
		next, err := strconv.ParseUint(l.Next, 10, 64)
		if err != nil || next != from+uint64(len(l.Items)) || len(l.Items) == 0 {
			return nil, fmt.Errorf("the hub's records paging is inconsistent (next %q after %d records from %d)", l.Next, len(l.Items), from)
		}
		from = next
	}
}

// hubCheckpoints lists the chain's checkpoints on the ledger and fetches
// each one's transaction bytes, which carry everything Verify trusts.
func hubCheckpoints(ctx context.Context, c *api.Client, cam keys.Address, epoch uint64, stream feedchain.Stream) ([]verify.Checkpoint, error) {
	var out []verify.Checkpoint
	from := uint64(0)
	for {
		l, err := c.StreamCheckpoints(ctx, cam.Hex(), stream.String(), int64(epoch), from, verifyCheckpointsPage)
		if err != nil {
			return nil, err
		}
		for _, cp := range l.Items {
			h, err := parseTxHash(cp.TxHash)
			if err != nil {
				return nil, fmt.Errorf("checkpoint #%d: %w", cp.Index, err)
			}
			res, err := lookupCommittedTx(ctx, c, cp.TxHash)
			if err != nil {
				return nil, fmt.Errorf("checkpoint #%d: transaction %s: %w", cp.Index, cp.TxHash, err)
			}
			raw, err := hex.DecodeString(strings.TrimPrefix(res.Tx, "0x"))
			if err != nil {
				return nil, fmt.Errorf("checkpoint #%d: the hub sent its transaction as malformed hex", cp.Index)
			}
			if res.Code != 0 || res.Height != cp.Height {
				return nil, fmt.Errorf("checkpoint #%d: the hub lists it at height %d but its transaction at height %d with result %s", cp.Index, cp.Height, res.Height, res.CodeName)
			}
			at, err := time.Parse(time.RFC3339, cp.Time)
			if err != nil {
				return nil, fmt.Errorf("checkpoint #%d: time %q: %w", cp.Index, cp.Time, err)
			}
			out = append(out, verify.Checkpoint{Index: cp.Index, Height: cp.Height, Time: at, TxHash: h, Tx: raw})
		}
		if l.Next == "" {
			return out, nil
		}
		next, err := strconv.ParseUint(l.Next, 10, 64)
		if err != nil || next <= from {
			return nil, fmt.Errorf("the hub's checkpoint paging is inconsistent (next %q after %d)", l.Next, from)
		}
		from = next
	}
}

// lookupCommittedTx fetches a transaction the ledger lists as committed.
// The node indexes a block's transactions just after committing it, so a
// lookup right after a checkpoint lands may briefly miss it: not_found is
// retried for a few seconds.
func lookupCommittedTx(ctx context.Context, c *api.Client, hash string) (*api.TxResult, error) {
	const tries, wait = 20, 250 * time.Millisecond
	for i := 1; ; i++ {
		res, err := c.Tx(ctx, hash)
		if api.CodeOf(err) != api.ErrNotFound || i == tries {
			return res, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

func parseTxHash(s string) (feedchain.Hash, error) {
	var h feedchain.Hash
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("tx hash %q is not 32 bytes of hex", s)
	}
	copy(h[:], b)
	return h, nil
}

// hubRetentionPolicy gathers the owner's retention policy history of the
// chain from the camera's audit events (kind retention, oldest first),
// each checked against its transaction's bytes: hash, strict decoding,
// camera and epoch, signed by the owner the event names
// (retention.PolicyChangeOf). Block times are the hub's word, as for
// checkpoints.
func hubRetentionPolicy(ctx context.Context, c *api.Client, cam keys.Address, epoch uint64) ([]retention.PolicyChange, []retention.Emergency, error) {
	var evs []api.Event
	var ems []retention.Emergency
	before := uint64(0)
	for range 100 { // at most 100 pages of events
		l, err := c.Audit(ctx, api.AuditQuery{Camera: cam.Hex(), Before: before, Limit: 100})
		if err != nil {
			return nil, nil, err
		}
		for _, e := range l.Items {
			switch e.Kind {
			case string(audit.Retention):
				evs = append(evs, e)
			case string(audit.EmergencyPrune):
				em, err := retention.ParseEmergency(e.Detail)
				if err != nil {
					return nil, nil, fmt.Errorf("audit event %d: %w", e.Seq, err)
				}
				em.Event, em.At = e.Seq, e.Time
				ems = append(ems, em)
			}
		}
		if len(l.Items) == 0 || l.Next == "" {
			break
		}
		next, err := strconv.ParseUint(l.Next, 10, 64)
		if err != nil || (before != 0 && next >= before) {
			return nil, nil, fmt.Errorf("the hub's audit paging is inconsistent (next %q before %d)", l.Next, before)
		}
		before = next
	}
	var out []retention.PolicyChange
	for i := len(evs) - 1; i >= 0; i-- { // newest first → oldest first
		e := evs[i]
		h, err := parseTxHash(e.TxHash)
		if err != nil {
			return nil, nil, fmt.Errorf("retention event %d: %w", e.Seq, err)
		}
		res, err := lookupCommittedTx(ctx, c, e.TxHash)
		if err != nil {
			return nil, nil, fmt.Errorf("retention event %d: transaction %s: %w", e.Seq, e.TxHash, err)
		}
		raw, err := hex.DecodeString(strings.TrimPrefix(res.Tx, "0x"))
		if err != nil || res.Code != 0 {
			return nil, nil, fmt.Errorf("retention event %d: the hub sent transaction %s malformed or not applied", e.Seq, e.TxHash)
		}
		owner, err := keys.ParseAddress(e.Owner)
		if err != nil {
			return nil, nil, fmt.Errorf("retention event %d: owner %q: %w", e.Seq, e.Owner, err)
		}
		at, err := time.Parse(time.RFC3339, e.Time)
		if err != nil {
			return nil, nil, fmt.Errorf("retention event %d: time %q: %w", e.Seq, e.Time, err)
		}
		p, err := retention.PolicyChangeOf(raw, h, cam, epoch, owner, at)
		if errors.Is(err, retention.ErrOtherChain) {
			continue // another epoch's policy
		}
		if err != nil {
			return nil, nil, err
		}
		out = append(out, p)
	}
	return out, ems, nil
}
