package tx

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// NewNonce draws a random 64-bit nonce from crypto/rand. The ledger refuses
// a (signer, nonce) pair it has already seen while unexpired, so random
// nonces let several devices sign for one address without coordinating.
func NewNonce() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed") // unrecoverable: never sign with a weak nonce
	}
	return binary.BigEndian.Uint64(b[:])
}

// ExpiryIn returns the Unix time d from now, for a message's Expiry field.
func ExpiryIn(d time.Duration) uint64 { return uint64(time.Now().Add(d).Unix()) }

// Sign builds a transaction for chainID from m signed by signers, in the
// order the message type requires (Imprint: owner, then camera), in the
// v1 domain. A signer is any keys.Signer (a key in memory, or one a TPM
// holds).
func Sign[S keys.Signer](evmChainID uint64, m Msg, signers ...S) (*Tx, error) {
	return SignIn(DomainV1, evmChainID, m, signers...)
}

// SignIn is Sign in EIP-712 domain dom.
func SignIn[S keys.Signer](dom Domain, evmChainID uint64, m Msg, signers ...S) (*Tx, error) {
	if want := SignerCount(m.Type()); len(signers) != want {
		return nil, fmt.Errorf("%s needs %d signatures, got %d signers", m.Type(), want, len(signers))
	}
	d, err := DigestIn(dom, evmChainID, m)
	if err != nil {
		return nil, err
	}
	t := &Tx{Domain: dom.orV1(), EVMChainID: evmChainID, Msg: m}
	for _, k := range signers {
		s, err := k.SignDigest(d)
		if err != nil {
			return nil, err
		}
		t.Sigs = append(t.Sigs, s)
	}
	return t, nil
}

// Digest is the EIP-712 digest t's signatures sign, in t's domain.
func (t *Tx) Digest() (feedchain.Hash, error) { return DigestIn(t.Domain, t.EVMChainID, t.Msg) }

// Signers recovers the address behind each signature of t.
func (t *Tx) Signers() ([]keys.Address, error) {
	d, err := t.Digest()
	if err != nil {
		return nil, err
	}
	out := make([]keys.Address, len(t.Sigs))
	for i, s := range t.Sigs {
		a, err := keys.Recover(d, s)
		if err != nil {
			return nil, fmt.Errorf("signature %d: %w", i, err)
		}
		out[i] = a
	}
	return out, nil
}
