package ledger

import (
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// EncryptionRecord is one change of a camera's end-to-end encryption
// policy (docs/SPEC.md §3.1, §17.4), kept as a history per epoch like the
// retention policy, with the transaction that made it: the hub forwards
// that transaction itself to the camera, which checks the owner's
// signature.
type EncryptionRecord struct {
	_      struct{} `cbor:",toarray"`
	On     bool
	Height uint64
	Time   uint64 // block time: the policy applies from then
	TxHash feedchain.Hash
	Index  uint64 // 0-based position among this epoch's changes
}

var (
	prefixEncryption      = []byte("enc/")  // enc/<camera>/<epoch>/<index> → EncryptionRecord
	prefixEncryptionCount = []byte("encn/") // encn/<camera>/<epoch> → u64be number of changes
)

func encryptionKey(c keys.Address, epoch, index uint64) []byte {
	return cat(prefixEncryption, c[:], be64(epoch), be64(index))
}
func encryptionCountKey(c keys.Address, epoch uint64) []byte {
	return cat(prefixEncryptionCount, c[:], be64(epoch))
}

// execEncryption applies an owner's Encryption to d (the owner, the epoch
// and the camera were checked by execOwnerAction; Decode refused an On
// other than 0 or 1) and returns the audit detail.
func execEncryption(j *txn, d *Device, m *tx.Encryption, blk blockCtx) (string, *Refusal, error) {
	b, err := j.get(encryptionCountKey(d.Camera, d.Epoch))
	if err != nil {
		return "", nil, err
	}
	var n uint64
	if b != nil {
		n = be64u(b)
	}
	j.set(encryptionKey(d.Camera, d.Epoch, n), encodeValue(&EncryptionRecord{On: m.On == 1, Height: blk.height, Time: blk.time, TxHash: blk.txHash, Index: n}))
	j.set(encryptionCountKey(d.Camera, d.Epoch), be64(n+1))
	if m.On == 1 {
		return "end-to-end encryption on", nil, nil
	}
	return "end-to-end encryption off", nil, nil
}

// Encryption returns the camera's encryption policy changes in epoch,
// oldest first, from index from, at most limit (capped at
// MaxRetentionChanges).
func (a *App) Encryption(c keys.Address, epoch, from uint64, limit int) ([]EncryptionRecord, error) {
	limit = min(max(limit, 1), MaxRetentionChanges)
	a.mu.RLock()
	defer a.mu.RUnlock()
	var out []EncryptionRecord
	prefix := cat(prefixEncryption, c[:], be64(epoch))
	err := a.st.scanFrom(prefix, cat(prefix, be64(from)), func(_, v []byte) (bool, error) {
		var r EncryptionRecord
		if err := decodeValue(v, &r); err != nil {
			return false, err
		}
		out = append(out, r)
		return len(out) < limit, nil
	})
	return out, err
}

// EncryptionNow returns the camera's encryption policy in force in epoch:
// the last change, or nil when the owner never set one (off).
func (a *App) EncryptionNow(c keys.Address, epoch uint64) (*EncryptionRecord, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var out *EncryptionRecord
	err := a.st.scan(cat(prefixEncryption, c[:], be64(epoch)), true, func(_, v []byte) (bool, error) {
		var r EncryptionRecord
		if err := decodeValue(v, &r); err != nil {
			return false, err
		}
		out = &r
		return false, nil
	})
	return out, err
}
