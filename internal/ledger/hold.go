package ledger

import (
	"fmt"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// HoldRecord is one legal hold on a camera epoch's recordings (docs/SPEC.md
// §3.1, §14.4): placed by the owner's LegalHold on the recordings that
// overlap [From, Until) (Unix seconds), kept by the hub until released.
type HoldRecord struct {
	_      struct{} `cbor:",toarray"`
	Number uint64   // 1, 2, … in the order the ledger placed the epoch's holds
	From   uint64
	Until  uint64
	Height uint64 // the block that placed it
	Time   uint64 // its block time
	TxHash feedchain.Hash
	// Released is the block time of its release, 0 while it holds;
	// ReleasedHeight the block.
	Released       uint64
	ReleasedHeight uint64
}

// Active reports whether the hold still holds.
func (r *HoldRecord) Active() bool { return r.Released == 0 }

// Covers reports whether the hold covers a recording that starts at start
// and lasts dur: whether [start, start+dur) overlaps [From, Until).
func (r *HoldRecord) Covers(start time.Time, dur time.Duration) bool {
	from, until := time.Unix(int64(r.From), 0), time.Unix(int64(r.Until), 0)
	return start.Before(until) && (start.Add(dur).After(from) || !start.Before(from))
}

var (
	prefixHold      = []byte("hold/")  // hold/<camera>/<epoch>/<number> → HoldRecord
	prefixHoldCount = []byte("holdn/") // holdn/<camera>/<epoch> → u64be number of holds placed
)

func holdKey(c keys.Address, epoch, number uint64) []byte {
	return cat(prefixHold, c[:], be64(epoch), be64(number))
}
func holdCountKey(c keys.Address, epoch uint64) []byte {
	return cat(prefixHoldCount, c[:], be64(epoch))
}

// execLegalHold applies an owner's LegalHold to d (the owner, the epoch and
// the camera were checked by execOwnerAction) and returns the audit detail.
func execLegalHold(j *txn, d *Device, m *tx.LegalHold, blk blockCtx) (string, *Refusal, error) {
	b, err := j.get(holdCountKey(d.Camera, d.Epoch))
	if err != nil {
		return "", nil, err
	}
	var n uint64
	if b != nil {
		n = be64u(b)
	}
	if m.Release == 0 {
		switch {
		case m.From >= m.Until:
			return "", refuse(CodeInvalid, "a legal hold from %d until %d: from must be before until", m.From, m.Until), nil
		case m.Until > 1<<62:
			return "", refuse(CodeInvalid, "a legal hold until %d: beyond any time", m.Until), nil
		case n >= tx.MaxHolds:
			return "", refuse(CodeConflict, "camera %s already has %d legal holds in epoch %d, the most one epoch may have", d.Camera.Hex(), n, d.Epoch), nil
		}
		n++
		j.set(holdKey(d.Camera, d.Epoch, n), encodeValue(&HoldRecord{Number: n, From: m.From, Until: m.Until, Height: blk.height, Time: blk.time, TxHash: blk.txHash}))
		j.set(holdCountKey(d.Camera, d.Epoch), be64(n))
		return fmt.Sprintf("hold %d placed on recordings from %s until %s (epoch %d)", n, unixUTC(m.From), unixUTC(m.Until), d.Epoch), nil, nil
	}
	if m.From != 0 || m.Until != 0 {
		return "", refuse(CodeInvalid, "a release names only the hold: from and until must be 0"), nil
	}
	if m.Release > n {
		return "", refuse(CodeNotFound, "camera %s has no legal hold %d in epoch %d (%d placed)", d.Camera.Hex(), m.Release, d.Epoch, n), nil
	}
	v, err := j.get(holdKey(d.Camera, d.Epoch, m.Release))
	if err != nil {
		return "", nil, err
	}
	var r HoldRecord
	if err := decodeValue(v, &r); err != nil {
		return "", nil, err
	}
	if !r.Active() {
		return "", refuse(CodeConflict, "legal hold %d of camera %s was already released at height %d", r.Number, d.Camera.Hex(), r.ReleasedHeight), nil
	}
	r.Released, r.ReleasedHeight = max(blk.time, 1), blk.height
	j.set(holdKey(d.Camera, d.Epoch, m.Release), encodeValue(&r))
	return fmt.Sprintf("hold %d released (recordings from %s until %s, epoch %d)", r.Number, unixUTC(r.From), unixUTC(r.Until), d.Epoch), nil, nil
}

// Holds returns every legal hold of the camera's epoch, placed or
// released, in the order placed (at most tx.MaxHolds).
func (a *App) Holds(c keys.Address, epoch uint64) ([]HoldRecord, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var out []HoldRecord
	err := a.st.scan(cat(prefixHold, c[:], be64(epoch)), false, func(_, v []byte) (bool, error) {
		var r HoldRecord
		if err := decodeValue(v, &r); err != nil {
			return false, err
		}
		out = append(out, r)
		return len(out) < tx.MaxHolds, nil
	})
	return out, err
}
