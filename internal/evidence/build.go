package evidence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/types"

	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/store"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/witness"
)

// Records is one camera's chain in one epoch as the hub stores it
// (*store.Chain).
type Records interface {
	Head() feedchain.Head
	Info(seq uint64) (store.SegmentInfo, bool)
	HashAt(seq uint64) (feedchain.Hash, bool)
	Record(seq uint64) (*feedchain.Record, error)
	Segment(seq uint64) ([]byte, error)
}

// LedgerCheckpoint is a checkpoint the ledger committed.
type LedgerCheckpoint struct {
	Msg    tx.Checkpoint
	Height uint64
	TxHash feedchain.Hash
}

// LedgerTx is a committed transaction with its proof.
type LedgerTx struct {
	Raw    []byte
	Height int64
	Proof  types.TxProof
}

// Ledger is what Build reads from the ledger node.
type Ledger interface {
	// LedgerChainID is the CometBFT chain id.
	LedgerChainID() string
	// Checkpoints lists the committed checkpoints of the camera's stream
	// in the epoch, oldest first (each stream is its own series: SPEC §6.5).
	Checkpoints(camera keys.Address, epoch uint64, stream feedchain.Stream) ([]LedgerCheckpoint, error)
	// Tx looks a committed transaction up with its inclusion proof.
	Tx(ctx context.Context, hash feedchain.Hash) (*LedgerTx, error)
	// WaitForHeight returns once block height is committed.
	WaitForHeight(ctx context.Context, height int64) error
	// SignedHeader returns block height with a commit for it, and whether
	// that commit is the canonical one (block height+1 exists).
	SignedHeader(ctx context.Context, height int64) (*types.SignedHeader, bool, error)
	// Validators is the validator set of block height.
	Validators(ctx context.Context, height int64) (*types.ValidatorSet, error)
	// Results are the results of block height's transactions.
	Results(ctx context.Context, height int64) ([]*abci.ExecTxResult, error)
	// ValidatorChanges lists, in increasing order, the heights up to upTo
	// of the blocks whose NextValidatorsHash differs from their
	// ValidatorsHash (the blocks that hand the ledger to a new set).
	ValidatorChanges(ctx context.Context, upTo int64) ([]int64, error)
}

// Request selects the clips of a bundle: the records of camera in epoch,
// on the chain of Stream (the zero value: main), whose start time is in
// [From, To). Records must be that stream's chain.
type Request struct {
	Camera   keys.Address
	Epoch    uint64
	Stream   feedchain.Stream
	From, To time.Time
	// SegmentsLater leaves each clip's Segment nil, having checked only that
	// it is stored: Bundle.WriteTo reads the segments one at a time as it
	// writes the bundle.
	SegmentsLater bool
	// Cosignatures, if set, gives the witness cosignatures kept for a
	// checkpoint's tree (origin, size, root: docs/SPEC.md §16); they go into
	// the bundle, which is then version 2.
	Cosignatures func(origin string, size uint64, root feedchain.Hash) []witness.Cosignature
	// Timestamps, if set, gives the RFC 3161 tokens kept for a checkpoint's
	// tree (SPEC §16.5); they go into the bundle (version 2).
	Timestamps func(origin string, size uint64, root feedchain.Hash) [][]byte
}

// Why Build cannot make a bundle.
var (
	// ErrNoClips: no record of the chain starts in the time range.
	ErrNoClips = errors.New("no recordings in the time range")
	// ErrPending: some clips in the range are not yet under a committed
	// checkpoint (a *PendingError lists them).
	ErrPending = errors.New("recordings not yet covered by a ledger checkpoint")
	// ErrSegmentGone: some clips' segment files are gone (retention or
	// loss); a *GoneError lists them.
	ErrSegmentGone = errors.New("segment files no longer stored")
	// ErrTooLarge: the range holds more than a bundle may.
	ErrTooLarge = errors.New("time range too large for one bundle")
	// ErrRecordsDiffer: the hub's records do not match what the camera
	// committed: the hub's copy cannot serve as evidence.
	ErrRecordsDiffer = errors.New("the hub's records differ from the camera's checkpoint")
)

// PendingError lists the records in the range that no committed
// checkpoint covers yet.
type PendingError struct {
	Seqs       []SeqRange
	LastSeq    uint64 // the last record covered by a checkpoint
	HasCovered bool   // whether any checkpoint exists
}

func (e *PendingError) Error() string {
	covered := "no checkpoint of this epoch is on the ledger yet"
	if e.HasCovered {
		covered = fmt.Sprintf("the ledger's checkpoints cover records up to #%d", e.LastSeq)
	}
	return fmt.Sprintf("%v: records %s (%s); the camera commits a checkpoint at the end of each period: ask again later or for an earlier range",
		ErrPending, ranges(e.Seqs), covered)
}

func (e *PendingError) Is(target error) bool { return target == ErrPending }

// GoneError lists the records in the range whose segment files are gone.
type GoneError struct{ Seqs []SeqRange }

func (e *GoneError) Error() string {
	return fmt.Sprintf("%v: records %s (deleted by retention or lost); their records remain but the video cannot be bundled",
		ErrSegmentGone, ranges(e.Seqs))
}

func (e *GoneError) Is(target error) bool { return target == ErrSegmentGone }

func ranges(rs []SeqRange) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		if r.First == r.Last {
			parts[i] = fmt.Sprintf("#%d", r.First)
		} else {
			parts[i] = fmt.Sprintf("#%d–#%d", r.First, r.Last)
		}
	}
	return strings.Join(parts, ", ")
}

// collect turns sorted seqs into ranges.
func collect(seqs []uint64) []SeqRange {
	var out []SeqRange
	for _, s := range seqs {
		if n := len(out); n > 0 && out[n-1].Last+1 == s {
			out[n-1].Last = s
			continue
		}
		out = append(out, SeqRange{s, s})
	}
	return out
}

// Waits while building: the block after a checkpoint's block and the
// transaction index can lag the commit a little.
const (
	nextBlockWait = 15 * time.Second
	txIndexWait   = 5 * time.Second
	txIndexPoll   = 20 * time.Millisecond
)

// Build assembles the bundle of the clips req selects. Every clip must be
// covered by a committed checkpoint whose root matches the hub's records,
// and its segment must still be stored.
func Build(ctx context.Context, recs Records, l Ledger, req Request) (*Bundle, error) {
	if !req.From.Before(req.To) {
		return nil, fmt.Errorf("evidence: the range's start %s is not before its end %s", req.From.Format(time.RFC3339), req.To.Format(time.RFC3339))
	}
	// The clips: records starting in [From, To).
	var seqs []uint64
	var total int64
	head := recs.Head()
	for seq := uint64(0); head.Valid && seq <= head.Seq; seq++ {
		si, ok := recs.Info(seq)
		if !ok {
			break
		}
		if si.Start.Before(req.From) || !si.Start.Before(req.To) {
			continue
		}
		seqs = append(seqs, seq)
		total += int64(si.Size)
		if len(seqs) > MaxClips || total > MaxBundleBytes/2 {
			return nil, fmt.Errorf("%w: more than %d clips or %d MiB of video; narrow the range", ErrTooLarge, MaxClips, MaxBundleBytes/2>>20)
		}
	}
	if len(seqs) == 0 {
		return nil, fmt.Errorf("%w: camera %s, epoch %d, %s stream, %s to %s", ErrNoClips, req.Camera.Hex(), req.Epoch, req.Stream,
			req.From.UTC().Format(time.RFC3339), req.To.UTC().Format(time.RFC3339))
	}
	var gone []uint64
	for _, s := range seqs {
		if si, _ := recs.Info(s); si.Pruned || si.Missing {
			gone = append(gone, s)
		}
	}
	if len(gone) > 0 {
		return nil, &GoneError{Seqs: collect(gone)}
	}

	// The covering checkpoints.
	cps, err := l.Checkpoints(req.Camera, req.Epoch, req.Stream)
	if err != nil {
		return nil, fmt.Errorf("evidence: list checkpoints: %w", err)
	}
	cover := make([]int, len(seqs)) // index into cps
	var pending []uint64
	for i, s := range seqs {
		j := sort.Search(len(cps), func(j int) bool { return cps[j].Msg.LastSeq >= s })
		if j == len(cps) || cps[j].Msg.FirstSeq > s {
			pending = append(pending, s)
			continue
		}
		cover[i] = j
	}
	if len(pending) > 0 {
		e := &PendingError{Seqs: collect(pending), HasCovered: len(cps) > 0}
		if e.HasCovered {
			e.LastSeq = cps[len(cps)-1].Msg.LastSeq
		}
		return nil, e
	}

	// The hub's tree over its records, to the largest checkpoint used.
	tree := checkpoint.NewTree()
	if err := tree.ExtendTo(recs, cps[cover[len(cover)-1]].Msg.TreeSize); err != nil {
		return nil, fmt.Errorf("%w: the checkpoint covers record #%d, which the hub does not have", ErrRecordsDiffer, tree.Size())
	}

	b := &Bundle{LedgerChainID: l.LedgerChainID(), Camera: req.Camera, Epoch: req.Epoch}
	origin := witness.StreamOrigin(b.LedgerChainID, req.Camera, req.Epoch, req.Stream)
	bundled := map[int]uint64{} // cps index → bundle checkpoint index
	for i, s := range seqs {
		j := cover[i]
		ci, ok := bundled[j]
		if !ok {
			c, err := buildCheckpoint(ctx, l, tree, cps[j])
			if err != nil {
				return nil, err
			}
			if req.Timestamps != nil {
				m := &cps[j].Msg
				for _, tok := range req.Timestamps(origin, m.TreeSize, m.Root) {
					if len(c.Timestamps) < MaxTimestamps && len(tok) <= MaxTimestampBytes {
						c.Timestamps = append(c.Timestamps, tok)
					}
				}
			}
			if req.Cosignatures != nil {
				m := &cps[j].Msg
				for _, cs := range req.Cosignatures(origin, m.TreeSize, m.Root) {
					if len(c.Cosignatures) < MaxCosignatures {
						c.Cosignatures = append(c.Cosignatures, Cosignature{Name: cs.Witness.Name, Key: cs.Witness.Public, Time: cs.Time, Signature: cs.Signature[:]})
					}
				}
			}
			ci = uint64(len(b.Checkpoints))
			b.Checkpoints = append(b.Checkpoints, *c)
			bundled[j] = ci
		}
		r, err := recs.Record(s)
		if err != nil {
			return nil, fmt.Errorf("evidence: record #%d: %w", s, err)
		}
		if r.Stream != req.Stream {
			return nil, fmt.Errorf("evidence: record #%d is of the %s stream, the bundle is of the %s stream's chain", s, r.Stream, req.Stream)
		}
		var seg []byte
		if !req.SegmentsLater {
			seg, err = recs.Segment(s)
			if errors.Is(err, store.ErrPruned) || errors.Is(err, store.ErrMissing) {
				return nil, &GoneError{Seqs: []SeqRange{{s, s}}}
			}
			if err != nil {
				return nil, fmt.Errorf("evidence: segment #%d: %w", s, err)
			}
		}
		p, err := tree.InclusionProof(s, cps[j].Msg.TreeSize)
		if err != nil {
			return nil, fmt.Errorf("evidence: inclusion proof of #%d: %w", s, err)
		}
		b.Clips = append(b.Clips, Clip{Checkpoint: ci, LeafIndex: s, Record: r.Marshal(), Proof: checkpoint.EncodeProof(p), Segment: seg})
	}
	if b.History, err = buildHistory(ctx, l, int64(cps[cover[len(cover)-1]].Height)); err != nil {
		return nil, err
	}
	return b, nil
}

// buildHistory gathers the validator set's history from the genesis to
// block last+1 (the last block a bundle whose last checkpoint is in block
// last proves): every change at or below last, as the signed header of the
// block that names the new set and that set. Nil when the set never
// changed: the bundle is then of version 1 or 2, as before changes.
func buildHistory(ctx context.Context, l Ledger, last int64) (*History, error) {
	heights, err := l.ValidatorChanges(ctx, last)
	if err != nil {
		return nil, fmt.Errorf("evidence: the validator set's changes: %w", err)
	}
	if len(heights) == 0 {
		return nil, nil
	}
	if len(heights) > MaxValidatorChanges {
		return nil, fmt.Errorf("%w: the validator set changed %d times before block %d, more than a bundle holds (%d)", ErrTooLarge, len(heights), last, MaxValidatorChanges)
	}
	genesis, err := l.Validators(ctx, 1)
	if err != nil {
		return nil, fmt.Errorf("evidence: the genesis validators: %w", err)
	}
	links := make([]Link, len(heights))
	for i, h := range heights {
		sh, _, err := l.SignedHeader(ctx, h)
		if err != nil {
			return nil, fmt.Errorf("evidence: the validator-set change at block %d: %w", h, err)
		}
		next, err := l.Validators(ctx, h+1)
		if err != nil {
			return nil, fmt.Errorf("evidence: the validators of block %d: %w", h+1, err)
		}
		hb, err := encodeSignedHeader(sh)
		if err != nil {
			return nil, fmt.Errorf("evidence: the validator-set change at block %d: %w", h, err)
		}
		links[i] = Link{Header: hb, Validators: validatorsOf(next)}
	}
	return historyOf(genesis, links), nil
}

// buildCheckpoint gathers the ledger's proof of one checkpoint.
func buildCheckpoint(ctx context.Context, l Ledger, tree *checkpoint.Tree, ck LedgerCheckpoint) (*Checkpoint, error) {
	m := &ck.Msg
	root, err := tree.RootAt(m.TreeSize)
	if err != nil {
		return nil, err
	}
	if root != m.Root {
		return nil, fmt.Errorf("%w: the checkpoint at height %d commits root %x for %d records, the hub's records give %x",
			ErrRecordsDiffer, ck.Height, m.Root[:], m.TreeSize, root[:])
	}
	fail := func(what string, err error) (*Checkpoint, error) {
		return nil, fmt.Errorf("evidence: the checkpoint at height %d: %s: %w", ck.Height, what, err)
	}

	// The indexer lags the commit a little.
	var lt *LedgerTx
	deadline := time.Now().Add(txIndexWait)
	for {
		lt, err = l.Tx(ctx, ck.TxHash)
		if err == nil || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return fail("transaction lookup", ctx.Err())
		case <-time.After(txIndexPoll):
		}
	}
	if err != nil {
		return fail("transaction lookup", err)
	}
	if !bytes.Equal(txHash(lt.Raw), ck.TxHash[:]) || lt.Height != int64(ck.Height) || !bytes.Equal(lt.Proof.Data, lt.Raw) {
		return fail("transaction lookup", errors.New("the node answered with another transaction or block"))
	}
	h := lt.Height

	// Block H is final once H+1 carries its commit; a block with
	// transactions is always followed by one.
	wctx, cancel := context.WithTimeout(ctx, nextBlockWait)
	err = l.WaitForHeight(wctx, h+1)
	cancel()
	if err != nil {
		return fail("the next block", err)
	}
	sh, canonical, err := l.SignedHeader(ctx, h)
	if err != nil {
		return fail("block H", err)
	}
	if !canonical {
		return fail("block H", errors.New("no canonical commit yet"))
	}
	next, _, err := l.SignedHeader(ctx, h+1)
	if err != nil {
		return fail("block H+1", err)
	}
	vals, err := l.Validators(ctx, h)
	if err != nil {
		return fail("validators of H", err)
	}
	nextVals, err := l.Validators(ctx, h+1)
	if err != nil {
		return fail("validators of H+1", err)
	}
	results, err := l.Results(ctx, h)
	if err != nil {
		return fail("results of H", err)
	}
	if int64(len(results)) != lt.Proof.Proof.Total {
		return fail("results of H", fmt.Errorf("%d results for %d transactions", len(results), lt.Proof.Proof.Total))
	}
	rs, err := resultsOf(results)
	if err != nil {
		return fail("results of H", err)
	}
	hb, err := encodeSignedHeader(sh)
	if err != nil {
		return fail("block H", err)
	}
	nb, err := encodeSignedHeader(next)
	if err != nil {
		return fail("block H+1", err)
	}
	return &Checkpoint{
		Tx: lt.Raw, TxProof: txProofOf(lt.Proof),
		Header: hb, Validators: validatorsOf(vals),
		NextHeader: nb, NextValidators: validatorsOf(nextVals),
		Results: rs,
	}, nil
}
