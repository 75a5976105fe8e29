package ledger

import (
	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// Each stream of a camera is its own chain with its own checkpoints (SPEC
// §6.3, §6.5). The main stream's live in the Device record and under
// ckpt/, as they always did; another stream's (a SubCheckpoint) have their
// own succession state and records, keyed by camera, epoch and stream, so
// a new epoch starts them afresh.
var (
	prefixStreamHead = []byte("scph/")  // scph/<camera>/<epoch>/<stream> → StreamCheckpoints
	prefixStreamCkpt = []byte("sckpt/") // sckpt/<camera>/<epoch>/<stream>/<index> → CheckpointRecord
)

// StreamCheckpoints is the succession state of one non-main stream's
// checkpoints in an epoch (the main stream's is in Device).
type StreamCheckpoints struct {
	Checkpoints   uint64 // how many
	LastSeq       uint64 // of the latest
	LastPeriodEnd uint64
	LastRoot      feedchain.Hash
}

func streamHeadKey(c keys.Address, epoch uint64, s feedchain.Stream) []byte {
	return cat(prefixStreamHead, c[:], be64(epoch), []byte{byte(s)})
}

func streamCkptPrefix(c keys.Address, epoch uint64, s feedchain.Stream) []byte {
	return cat(prefixStreamCkpt, c[:], be64(epoch), []byte{byte(s)})
}

// execStreamCheckpoint applies a checkpoint of a non-main stream's chain,
// after execCheckpoint's checks of the signer, the camera and the epoch:
// the same succession rule, against that stream's previous checkpoint.
func execStreamCheckpoint(j *txn, m *tx.Checkpoint, blk blockCtx) (*Refusal, error) {
	key := streamHeadKey(m.Camera, m.Epoch, m.Stream)
	var st StreamCheckpoints
	if b, err := j.get(key); err != nil {
		return nil, err
	} else if b != nil {
		if err := decodeValue(b, &st); err != nil {
			return nil, err
		}
	}
	before, prevTree := checkpoint.First(), uint64(0)
	if st.Checkpoints > 0 {
		before, prevTree = checkpoint.After(checkpoint.Prev{LastSeq: st.LastSeq, PeriodEnd: st.LastPeriodEnd, Root: st.LastRoot}), st.LastSeq+1
	}
	if _, err := checkpoint.VerifySuccession(before, m); err != nil {
		return refuse(CodeInvalid, "%s stream: %v", m.Stream, err), nil
	}
	rec := CheckpointRecord{Msg: *m, Height: blk.height, Time: blk.time, TxHash: blk.txHash, Index: st.Checkpoints, PrevTreeLen: prevTree}
	j.set(cat(streamCkptPrefix(m.Camera, m.Epoch, m.Stream), be64(st.Checkpoints)), encodeValue(&rec))
	st.Checkpoints++
	st.LastSeq, st.LastPeriodEnd, st.LastRoot = m.LastSeq, m.PeriodEnd, m.Root
	j.set(key, encodeValue(&st))
	return nil, nil
}

// StreamCheckpoints returns the checkpoints of the camera's stream in the
// epoch, oldest first, from index from, at most limit: Checkpoints for the
// main stream.
func (a *App) StreamCheckpoints(c keys.Address, epoch uint64, stream feedchain.Stream, from uint64, limit int) ([]CheckpointRecord, error) {
	if stream == feedchain.StreamMain {
		return a.Checkpoints(c, epoch, from, limit)
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	var out []CheckpointRecord
	prefix := streamCkptPrefix(c, epoch, stream)
	err := a.st.scanFrom(prefix, cat(prefix, be64(from)), func(_, v []byte) (bool, error) {
		var r CheckpointRecord
		if err := decodeValue(v, &r); err != nil {
			return false, err
		}
		r.Msg.Stream = stream // the record's type said it; the encoding does not
		out = append(out, r)
		return len(out) < limit, nil
	})
	return out, err
}

// StreamHead returns the succession state of a non-main stream's
// checkpoints in the epoch (zero Checkpoints when it has none).
func (a *App) StreamHead(c keys.Address, epoch uint64, stream feedchain.Stream) (StreamCheckpoints, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var st StreamCheckpoints
	b, err := a.st.committed(streamHeadKey(c, epoch, stream))
	if err != nil || b == nil {
		return st, err
	}
	return st, decodeValue(b, &st)
}
