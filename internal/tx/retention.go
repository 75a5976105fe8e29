package tx

import "github.com/camchain/camchain/internal/keys"

// TypeRetention is the owner's retention policy for the hub's copy of a
// camera's recordings (docs/SPEC.md §2.2, §3.1, §14.2).
const TypeRetention Type = "Retention"

// Retention sets, signed by the camera's owner, how many days the hub keeps
// the camera's recordings of this epoch. Without one the hub's --retention
// flag applies. Every change is an audit event (retention), and a verifier
// that sees a clip gone from the hub's copy asks this policy whether its
// age allowed it.
type Retention struct {
	_      struct{} `cbor:",toarray"`
	Camera keys.Address
	Epoch  uint64
	Days   uint64 // MinRetentionDays..MaxRetentionDays
	Nonce  uint64
	Expiry uint64
}

// Bounds of Retention.Days.
const (
	MinRetentionDays = 1
	MaxRetentionDays = 3650
)

func (*Retention) Type() Type                 { return TypeRetention }
func (m *Retention) Replay() (uint64, uint64) { return m.Nonce, m.Expiry }

func (m *Retention) fields() []field {
	return []field{addr("camera", m.Camera), u64("epoch", m.Epoch), u64("days", m.Days),
		u64("nonce", m.Nonce), u64("expiry", m.Expiry)}
}
