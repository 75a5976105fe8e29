package tx

import (
	"fmt"

	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/keys"
)

// TypeViewingKey registers an account's public viewing key, the key the
// cameras it owns or may watch encrypt to (docs/SPEC.md §2.2, §3.1, §17.1).
const TypeViewingKey Type = "ViewingKey"

// ViewingKey, signed by Account, says that PublicKey is Account's public
// viewing key for the HPKE KEM KEM (only e2ee.KEMID, X-Wing, exists).
// Cameras take a viewer's key from this signed statement itself, so a hub
// cannot substitute its own (it cannot sign for the account).
type ViewingKey struct {
	_         struct{} `cbor:",toarray"`
	Account   keys.Address
	KEM       uint64 // e2ee.KEMID
	PublicKey []byte // e2ee.PublicKeySize bytes, a valid X-Wing encapsulation key
	Nonce     uint64
	Expiry    uint64
}

func (*ViewingKey) Type() Type                 { return TypeViewingKey }
func (m *ViewingKey) Replay() (uint64, uint64) { return m.Nonce, m.Expiry }

func (m *ViewingKey) fields() []field {
	return []field{addr("account", m.Account), u64("kem", m.KEM), bts("publicKey", m.PublicKey),
		u64("nonce", m.Nonce), u64("expiry", m.Expiry)}
}

// Key returns the registered key, parsed (Decode has checked it).
func (m *ViewingKey) Key() (*e2ee.PublicKey, error) { return e2ee.ParsePublicKey(m.PublicKey) }

// checkViewingKey is the decoder's check: the KEM is X-Wing and the key
// one of its encapsulation keys. Anything else is not a ViewingKey at all.
func checkViewingKey(m *ViewingKey) error {
	if m.KEM != e2ee.KEMID {
		return fmt.Errorf("%w: viewing key KEM %#x, want X-Wing (%#x)", ErrEncoding, m.KEM, e2ee.KEMID)
	}
	if _, err := e2ee.ParsePublicKey(m.PublicKey); err != nil {
		return fmt.Errorf("%w: %w", ErrEncoding, err)
	}
	return nil
}

// VerifyViewingKey checks raw, a ViewingKey transaction as a hub hands it
// on, and returns the key it registers: it must decode strictly, be for
// the ledger evmChainID and be signed by account itself. The hub cannot
// make one (it cannot sign for the account); whether it is the account's
// latest registration is the ledger's to say.
func VerifyViewingKey(raw []byte, account keys.Address, evmChainID uint64) (*e2ee.PublicKey, error) {
	t, err := Decode(raw)
	if err != nil {
		return nil, err
	}
	m, ok := t.Msg.(*ViewingKey)
	if !ok {
		return nil, fmt.Errorf("%w: a %s, not a ViewingKey", ErrEncoding, t.Msg.Type())
	}
	if t.EVMChainID != evmChainID {
		return nil, fmt.Errorf("viewing key registered on chain %d, not %d", t.EVMChainID, evmChainID)
	}
	who, err := t.Signers()
	if err != nil {
		return nil, err
	}
	if m.Account != account || who[0] != account {
		return nil, fmt.Errorf("%w: a viewing key of %s signed by %s, not %s's own", keys.ErrBadSignature, m.Account.Hex(), who[0].Hex(), account.Hex())
	}
	return m.Key()
}
