package tx

import "github.com/camchain/camchain/internal/keys"

// TypeResync is the EIP-712 primary type of a Resync. A Resync is not a
// ledger transaction (Decode refuses it, the ledger never sees it): the
// owner signs it for the camera, which checks it itself (SPEC §7.2). It
// shares the ledger's EIP-712 domain and is set apart from every ledger
// message by its primary type.
const TypeResync Type = "Resync"

// Resync is the owner's word that the camera may re-key its chain secret
// with its hub although the hub cannot prove the current one (the hub was
// restored from a backup). It names the camera, the hub and the epoch, and
// is single-use (nonce) and short-lived (expiry).
type Resync struct {
	_      struct{} `cbor:",toarray"`
	Camera keys.Address
	Hub    keys.Address
	Epoch  uint64
	Nonce  uint64
	Expiry uint64
}

// Type implements Msg.
func (*Resync) Type() Type { return TypeResync }

// Replay implements Msg.
func (m *Resync) Replay() (uint64, uint64) { return m.Nonce, m.Expiry }

func (m *Resync) fields() []field {
	return []field{addr("camera", m.Camera), addr("hub", m.Hub), u64("epoch", m.Epoch), u64("nonce", m.Nonce), u64("expiry", m.Expiry)}
}
