package tx

import (
	"fmt"

	"github.com/camchain/camchain/internal/keys"
)

// TypeEncryption is the owner's end-to-end encryption policy for a camera
// (docs/SPEC.md §2.2, §3.1, §17.4).
const TypeEncryption Type = "Encryption"

// Encryption turns end-to-end encryption of the camera's video on (On = 1)
// or off (On = 0) for this epoch, signed by the camera's owner. Without one
// it is off. The camera takes the transaction itself, forwarded by its hub,
// and checks the owner's signature (VerifyEncryption): the hub can withhold
// a change but cannot make one.
type Encryption struct {
	_      struct{} `cbor:",toarray"`
	Camera keys.Address
	Epoch  uint64
	On     uint64 // 1 on, 0 off; nothing else
	Nonce  uint64
	Expiry uint64
}

func (*Encryption) Type() Type                 { return TypeEncryption }
func (m *Encryption) Replay() (uint64, uint64) { return m.Nonce, m.Expiry }

func (m *Encryption) fields() []field {
	return []field{addr("camera", m.Camera), u64("epoch", m.Epoch), u64("on", m.On),
		u64("nonce", m.Nonce), u64("expiry", m.Expiry)}
}

// EncryptionPolicy is an owner-signed Encryption a camera accepted.
type EncryptionPolicy struct {
	On     bool
	Expiry uint64 // of the transaction: of two policies the later-expiring holds
}

// VerifyEncryption checks raw, an Encryption transaction as a hub forwards
// it to the camera: it must decode strictly, be for the ledger evmChainID,
// name camera and epoch (Decode refused an On other than 0 or 1), and be signed by owner. Whether it
// is the owner's latest is for the caller to order (by expiry).
func VerifyEncryption(raw []byte, camera, owner keys.Address, epoch, evmChainID uint64) (*EncryptionPolicy, error) {
	t, err := Decode(raw)
	if err != nil {
		return nil, err
	}
	m, ok := t.Msg.(*Encryption)
	if !ok {
		return nil, fmt.Errorf("%w: a %s, not an Encryption", ErrEncoding, t.Msg.Type())
	}
	if t.EVMChainID != evmChainID {
		return nil, fmt.Errorf("encryption policy for chain %d, not %d", t.EVMChainID, evmChainID)
	}
	if m.Camera != camera || m.Epoch != epoch {
		return nil, fmt.Errorf("encryption policy of camera %s epoch %d, not %s epoch %d", m.Camera.Hex(), m.Epoch, camera.Hex(), epoch)
	}
	who, err := t.Signers()
	if err != nil {
		return nil, err
	}
	if owner == (keys.Address{}) || who[0] != owner {
		return nil, fmt.Errorf("%w: encryption policy signed by %s, not the owner %s", keys.ErrBadSignature, who[0].Hex(), owner.Hex())
	}
	return &EncryptionPolicy{On: m.On == 1, Expiry: m.Expiry}, nil
}
