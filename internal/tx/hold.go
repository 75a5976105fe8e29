package tx

import "github.com/camchain/camchain/internal/keys"

// TypeLegalHold is the owner's legal hold on a time range of a camera's
// recordings (docs/SPEC.md §2.2, §3.1, §14.4).
const TypeLegalHold Type = "LegalHold"

// LegalHold, signed by the camera's owner, either places a hold (Release
// 0) on the recordings of the camera's epoch that overlap [From, Until)
// (Unix seconds) — the hub's retention and its emergency deletion keep
// them, whatever their age, until the hold is released — or releases the
// hold numbered Release (holds of an epoch are numbered from 1 in the
// order the ledger placed them; From and Until are then 0). Every hold and
// release is an audit event (legal-hold).
type LegalHold struct {
	_       struct{} `cbor:",toarray"`
	Camera  keys.Address
	Epoch   uint64
	From    uint64
	Until   uint64
	Release uint64
	Nonce   uint64
	Expiry  uint64
}

// MaxHolds caps the holds (placed, released or not) of one camera epoch.
const MaxHolds = 1000

func (*LegalHold) Type() Type                 { return TypeLegalHold }
func (m *LegalHold) Replay() (uint64, uint64) { return m.Nonce, m.Expiry }

func (m *LegalHold) fields() []field {
	return []field{addr("camera", m.Camera), u64("epoch", m.Epoch), u64("from", m.From), u64("until", m.Until),
		u64("release", m.Release), u64("nonce", m.Nonce), u64("expiry", m.Expiry)}
}
