package ledger

import (
	"fmt"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// RetentionRecord is one change of a camera's retention policy for the
// hub's copy (docs/SPEC.md §3.1, §14.2), kept as a history per epoch so a
// verifier can ask what the policy allowed at any moment.
type RetentionRecord struct {
	_      struct{} `cbor:",toarray"`
	Days   uint64
	Height uint64
	Time   uint64 // block time: the policy applies from then
	TxHash feedchain.Hash
	Index  uint64 // 0-based position among this epoch's changes
}

// MaxRetentionChanges bounds one query's answer; a camera's history of
// changes is listed in pages of at most this many.
const MaxRetentionChanges = 1000

var (
	prefixRetention      = []byte("ret/")  // ret/<camera>/<epoch>/<index> → RetentionRecord
	prefixRetentionCount = []byte("retn/") // retn/<camera>/<epoch> → u64be number of changes
)

func retentionKey(c keys.Address, epoch, index uint64) []byte {
	return cat(prefixRetention, c[:], be64(epoch), be64(index))
}
func retentionCountKey(c keys.Address, epoch uint64) []byte {
	return cat(prefixRetentionCount, c[:], be64(epoch))
}

// execRetention applies an owner's Retention to d (the owner, the epoch
// and the camera were checked by execOwnerAction) and returns the audit
// detail.
func execRetention(j *txn, d *Device, m *tx.Retention, blk blockCtx) (string, *Refusal, error) {
	if m.Days < tx.MinRetentionDays || m.Days > tx.MaxRetentionDays {
		return "", refuse(CodeInvalid, "retention of %d days is outside %d..%d", m.Days, tx.MinRetentionDays, tx.MaxRetentionDays), nil
	}
	b, err := j.get(retentionCountKey(d.Camera, d.Epoch))
	if err != nil {
		return "", nil, err
	}
	var n uint64
	if b != nil {
		n = be64u(b)
	}
	j.set(retentionKey(d.Camera, d.Epoch, n), encodeValue(&RetentionRecord{Days: m.Days, Height: blk.height, Time: blk.time, TxHash: blk.txHash, Index: n}))
	j.set(retentionCountKey(d.Camera, d.Epoch), be64(n+1))
	return fmt.Sprintf("hub keeps recordings %d days (epoch %d)", m.Days, d.Epoch), nil, nil
}

// Retention returns the camera's retention changes in epoch, oldest first,
// from index from, at most limit (capped at MaxRetentionChanges). None: the
// hub's --retention default applies.
func (a *App) Retention(c keys.Address, epoch, from uint64, limit int) ([]RetentionRecord, error) {
	limit = min(max(limit, 1), MaxRetentionChanges)
	a.mu.RLock()
	defer a.mu.RUnlock()
	var out []RetentionRecord
	prefix := cat(prefixRetention, c[:], be64(epoch))
	err := a.st.scanFrom(prefix, cat(prefix, be64(from)), func(_, v []byte) (bool, error) {
		var r RetentionRecord
		if err := decodeValue(v, &r); err != nil {
			return false, err
		}
		out = append(out, r)
		return len(out) < limit, nil
	})
	return out, err
}

// RetentionNow returns the camera's retention policy in force in epoch: the
// last change, or nil when the owner never set one.
func (a *App) RetentionNow(c keys.Address, epoch uint64) (*RetentionRecord, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var out *RetentionRecord
	err := a.st.scan(cat(prefixRetention, c[:], be64(epoch)), true, func(_, v []byte) (bool, error) {
		var r RetentionRecord
		if err := decodeValue(v, &r); err != nil {
			return false, err
		}
		out = &r
		return false, nil
	})
	return out, err
}

// LastCheckpoint returns the camera's latest committed checkpoint in
// epoch, or nil when it has none.
func (a *App) LastCheckpoint(c keys.Address, epoch uint64) (*CheckpointRecord, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var out *CheckpointRecord
	err := a.st.scan(cat(prefixCkpt, c[:], be64(epoch)), true, func(_, v []byte) (bool, error) {
		var r CheckpointRecord
		if err := decodeValue(v, &r); err != nil {
			return false, err
		}
		out = &r
		return false, nil
	})
	return out, err
}
