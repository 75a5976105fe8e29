package e2ee

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/camchain/camchain/internal/canon"
	"github.com/camchain/camchain/internal/keys"
)

// Envelope is a content key wrapped to its recipients' viewing keys and
// signed by the camera (docs/SPEC.md §17.2). The hub stores and forwards
// envelopes; it cannot open one, and cannot make one the camera did not
// sign.
//
// Wire form, canonical CBOR:
//
//	[version, camera, epoch, serial, recipients, signature]
//	recipients = [[account, keyID, wrapped], …]   accounts ascending, 1 to MaxRecipients
//	wrapped    = HPKE X-Wing/HKDF-SHA256/AES-256-GCM single-shot Seal of the 32-byte key
//	signature  = the camera's over SHA-256(labelEnvelope ‖ CBOR([version, camera, epoch, serial, recipients]))
type Envelope struct {
	_          struct{} `cbor:",toarray"`
	Version    uint64
	Camera     keys.Address
	Epoch      uint64
	Serial     uint64
	Recipients []Wrapped
	Signature  []byte
}

// Wrapped is one recipient's copy of the content key.
type Wrapped struct {
	_       struct{} `cbor:",toarray"`
	Account keys.Address
	KeyID   KeyID
	Sealed  []byte // enc (1120) ‖ ciphertext (48)
}

type envelopeBody struct {
	_          struct{} `cbor:",toarray"`
	Version    uint64
	Camera     keys.Address
	Epoch      uint64
	Serial     uint64
	Recipients []Wrapped
}

// Recipient is an account and the viewing key a content key is wrapped to.
type Recipient struct {
	Account keys.Address
	Key     *PublicKey
}

// Errors of envelopes.
var (
	ErrEnvelope     = errors.New("malformed key envelope")
	ErrNotRecipient = errors.New("this viewing key is not a recipient of the key envelope")
)

var (
	envEnc = canon.EncMode()
	envDec = canon.DecMode(4, MaxRecipients+1)
)

func (e *Envelope) digest() ([32]byte, error) {
	body, err := envEnc.Marshal(envelopeBody{Version: e.Version, Camera: e.Camera, Epoch: e.Epoch, Serial: e.Serial, Recipients: e.Recipients})
	if err != nil {
		return [32]byte{}, err
	}
	h := sha256.New()
	h.Write([]byte(labelEnvelope))
	h.Write(body)
	var d [32]byte
	h.Sum(d[:0])
	return d, nil
}

func wrapInfo(camera keys.Address, epoch, serial uint64, account keys.Address) []byte {
	b := append([]byte(labelContentKeyInfo), camera[:]...)
	b = binary.BigEndian.AppendUint64(b, epoch)
	b = binary.BigEndian.AppendUint64(b, serial)
	return append(b, account[:]...)
}

// Wrap wraps ck to each recipient and signs the envelope with the camera's
// key s (which must be ck's camera).
func (ck *ContentKey) Wrap(recipients []Recipient, s keys.Signer) (*Envelope, error) {
	if s.Address() != ck.Camera {
		return nil, fmt.Errorf("envelope of camera %s signed by %s", ck.Camera.Hex(), s.Address().Hex())
	}
	if len(recipients) == 0 || len(recipients) > MaxRecipients {
		return nil, fmt.Errorf("%w: %d recipients (1 to %d)", ErrEnvelope, len(recipients), MaxRecipients)
	}
	rs := append([]Recipient(nil), recipients...)
	sort.Slice(rs, func(i, j int) bool { return bytes.Compare(rs[i].Account[:], rs[j].Account[:]) < 0 })
	e := &Envelope{Version: EnvelopeVersion, Camera: ck.Camera, Epoch: ck.Epoch, Serial: ck.Serial}
	for i, r := range rs {
		if i > 0 && rs[i-1].Account == r.Account {
			return nil, fmt.Errorf("%w: recipient %s twice", ErrEnvelope, r.Account.Hex())
		}
		w, err := wrapKey(r.Key.pk, wrapInfo(ck.Camera, ck.Epoch, ck.Serial, r.Account), ck.key[:])
		if err != nil {
			return nil, fmt.Errorf("wrap the content key to %s: %w", r.Account.Hex(), err)
		}
		e.Recipients = append(e.Recipients, Wrapped{Account: r.Account, KeyID: r.Key.ID(), Sealed: w})
	}
	d, err := e.digest()
	if err != nil {
		return nil, err
	}
	sig, err := s.SignDigest(d)
	if err != nil {
		return nil, err
	}
	e.Signature = sig[:]
	return e, nil
}

// Encode returns the envelope's wire bytes.
func (e *Envelope) Encode() ([]byte, error) { return envEnc.Marshal(e) }

// DecodeEnvelope parses wire bytes strictly (canonical CBOR only, known
// version, 1 to MaxRecipients recipients in ascending account order, each
// wrapped key of its exact size, a 65-byte signature) and checks that the
// signature is camera's.
func DecodeEnvelope(b []byte, camera keys.Address) (*Envelope, error) {
	if len(b) > MaxEnvelopeBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrEnvelope, len(b), MaxEnvelopeBytes)
	}
	var e Envelope
	if err := envDec.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEnvelope, err)
	}
	if again, err := e.Encode(); err != nil || !bytes.Equal(again, b) {
		return nil, fmt.Errorf("%w: not in canonical form", ErrEnvelope)
	}
	switch {
	case e.Version != EnvelopeVersion:
		return nil, fmt.Errorf("%w: version %d", ErrEnvelope, e.Version)
	case len(e.Recipients) == 0 || len(e.Recipients) > MaxRecipients:
		return nil, fmt.Errorf("%w: %d recipients", ErrEnvelope, len(e.Recipients))
	case len(e.Signature) != keys.SignatureSize:
		return nil, fmt.Errorf("%w: signature of %d bytes", ErrEnvelope, len(e.Signature))
	}
	for i, r := range e.Recipients {
		if len(r.Sealed) != wrappedSize {
			return nil, fmt.Errorf("%w: recipient %d's wrapped key is %d bytes, want %d", ErrEnvelope, i, len(r.Sealed), wrappedSize)
		}
		if i > 0 && bytes.Compare(e.Recipients[i-1].Account[:], r.Account[:]) >= 0 {
			return nil, fmt.Errorf("%w: recipients not in ascending order", ErrEnvelope)
		}
	}
	d, err := e.digest()
	if err != nil {
		return nil, err
	}
	var sig keys.Signature
	copy(sig[:], e.Signature)
	signer, err := keys.Recover(d, sig)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEnvelope, err)
	}
	if signer != camera || e.Camera != camera {
		return nil, fmt.Errorf("%w: envelope of %s signed by %s, not by the camera %s", keys.ErrBadSignature, e.Camera.Hex(), signer.Hex(), camera.Hex())
	}
	return &e, nil
}

// Accounts lists the envelope's recipients.
func (e *Envelope) Accounts() []keys.Address {
	out := make([]keys.Address, len(e.Recipients))
	for i, r := range e.Recipients {
		out[i] = r.Account
	}
	return out
}

// Open unwraps the content key of e (decoded and verified by
// DecodeEnvelope) with the viewing key k.
func (k *PrivateKey) Open(e *Envelope) (*ContentKey, error) {
	id := k.pub.ID()
	for _, r := range e.Recipients {
		if r.Account != k.account || r.KeyID != id { // ids are public
			continue
		}
		b, err := unwrapKey(k.sk, wrapInfo(e.Camera, e.Epoch, e.Serial, r.Account), r.Sealed)
		if err != nil || len(b) != KeySize {
			return nil, fmt.Errorf("%w: its wrapped key for %s does not open", ErrEnvelope, r.Account.Hex())
		}
		ck := &ContentKey{Camera: e.Camera, Epoch: e.Epoch, Serial: e.Serial}
		copy(ck.key[:], b)
		clear(b)
		return ck, nil
	}
	return nil, fmt.Errorf("%w (%s, content key %d of camera %s epoch %d)", ErrNotRecipient, k.account.Hex(), e.Serial, e.Camera.Hex(), e.Epoch)
}
