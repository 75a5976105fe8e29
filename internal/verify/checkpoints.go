package verify

import (
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"

	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/tx"
)

// ckpt is what Verify works out about one checkpoint.
type ckpt struct {
	in    Checkpoint
	msg   *tx.Checkpoint // nil unless it decoded as a Checkpoint
	ref   *CheckpointRef
	res   CheckpointResult
	valid bool // camera-signed, well formed, extends its predecessor
}

func (c *ckpt) fail(format string, a ...any) {
	c.res.Status, c.res.Detail = Failed, fmt.Sprintf(format, a...)
}

// checkCheckpoints checks each checkpoint on its own and against its
// predecessor: the bytes are the listed transaction, a strict Checkpoint
// for this camera and epoch, signed by the camera, with sane fields,
// starting where the previous one ended and proved consistent with it.
func checkCheckpoints(in Input) []*ckpt {
	sorted := slices.Clone(in.Checkpoints)
	slices.SortStableFunc(sorted, func(a, b Checkpoint) int { return cmp.Compare(a.Index, b.Index) })
	cps := make([]*ckpt, len(sorted))
	for k, c := range sorted {
		cp := &ckpt{in: c, ref: &CheckpointRef{Index: c.Index, Height: c.Height, Time: c.Time, TxHash: c.TxHash}}
		cp.res = CheckpointResult{Index: c.Index, Height: c.Height, Time: c.Time, TxHash: c.TxHash, Status: Verified}
		cps[k] = cp
		var prev *ckpt
		if k > 0 {
			prev = cps[k-1]
		}
		checkCheckpoint(in, cp, k, prev)
	}
	return cps
}

func checkCheckpoint(in Input, cp *ckpt, k int, prev *ckpt) {
	c := cp.in
	if sha256.Sum256(c.Tx) != c.TxHash {
		cp.fail("its transaction bytes do not hash to the tx hash the ledger lists")
		return
	}
	t, err := tx.Decode(c.Tx)
	if err != nil {
		cp.fail("its transaction does not decode: %v", err)
		return
	}
	m, ok := t.Msg.(*tx.Checkpoint)
	if !ok {
		cp.fail("its transaction is a %s, not a Checkpoint", t.Msg.Type())
		return
	}
	cp.msg = m
	cp.res.FirstSeq, cp.res.LastSeq, cp.res.TreeSize, cp.res.Root = m.FirstSeq, m.LastSeq, m.TreeSize, m.Root
	signers, err := t.Signers()
	switch {
	case err != nil:
		cp.fail("its signature does not recover: %v", err)
		return
	case signers[0] != in.Camera:
		cp.fail("not signed by the camera (signed by %s): not a checkpoint the camera made", signers[0].Hex())
		return
	case in.EVMChainID != 0 && t.EVMChainID != in.EVMChainID:
		cp.fail("signed for ledger chain id %d, not %d", t.EVMChainID, in.EVMChainID)
		return
	case m.Camera != in.Camera || m.Epoch != in.Epoch:
		cp.fail("it is for camera %s epoch %d, not camera %s epoch %d", m.Camera.Hex(), m.Epoch, in.Camera.Hex(), in.Epoch)
		return
	case m.Stream != in.Stream:
		cp.fail("it checkpoints the %s stream's chain (a %s), not the %s stream's", m.Stream, m.Type(), in.Stream)
		return
	}
	if err := checkpoint.VerifyFields(m); err != nil {
		cp.fail("malformed: %v", err)
		return
	}
	if c.Index != uint64(k) {
		cp.fail("the ledger lists it as checkpoint #%d where #%d belongs: a checkpoint is missing from the list", c.Index, k)
		return
	}
	// The succession rule (checkpoint.VerifySuccession): the hub lists the
	// whole epoch, so each checkpoint is checked right after the one before.
	before := checkpoint.First()
	if prev != nil {
		if !prev.valid {
			cp.fail("its predecessor #%d is not valid, so it cannot be linked to the history before it", prev.in.Index)
			return
		}
		before = checkpoint.After(checkpoint.PrevOf(prev.msg))
	}
	_, err = checkpoint.VerifySuccession(before, m)
	var se *checkpoint.SuccessionError
	switch {
	case err == nil:
		cp.valid = true
	case prev == nil:
		cp.fail("%v", err)
	case errors.As(err, &se) && se.Rule == checkpoint.RuleConsistency:
		cp.fail("does not extend checkpoint #%d (history rewritten): %v", prev.in.Index, err)
	default:
		cp.fail("does not follow checkpoint #%d: %v", prev.in.Index, err)
	}
}

// covering returns the checkpoint whose range holds seq, or nil.
func covering(cps []*ckpt, seq uint64) *ckpt {
	for _, c := range cps {
		if c.msg != nil && c.msg.FirstSeq <= seq && seq <= c.msg.LastSeq {
			return c
		}
	}
	return nil
}

// beyond returns the valid checkpoint that covers seq when the records
// on hand end before seq, or nil.
func beyond(cps []*ckpt, seq uint64) *ckpt {
	for _, c := range cps {
		if c.valid && c.msg.FirstSeq <= seq && seq <= c.msg.LastSeq {
			return c
		}
	}
	return nil
}
