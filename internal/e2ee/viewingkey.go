package e2ee

import (
	"bytes"
	"crypto/hpke"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/camchain/camchain/internal/keys"
)

// Errors of the viewing key's derivation and parsing.
var (
	// ErrNondeterministic: the wallet signed the viewing-key message twice
	// and gave two different signatures. Its signatures are not RFC 6979
	// deterministic, so it would give another viewing key every time.
	ErrNondeterministic = errors.New("this wallet does not sign deterministically (it gave two different signatures of the same viewing-key message), " +
		"so it cannot make a camchain viewing key: the key would differ every time and your video would be unreadable; " +
		"use a wallet that signs by RFC 6979 (camchain's own, ethers, MetaMask, Ledger, Trezor)")
	// ErrWrongSigner: the signature is not the account's signature of its
	// viewing-key message.
	ErrWrongSigner = errors.New("not the account's signature of its viewing-key message")
	// ErrPublicKey: bytes that are not an X-Wing encapsulation key.
	ErrPublicKey = errors.New("not an X-Wing (MLKEM768-X25519) public viewing key")
)

// KeyID names a public viewing key: SHA-256(labelKeyID ‖ public key).
type KeyID [32]byte

// String is the ID as 0x hex.
func (id KeyID) String() string { return "0x" + hex.EncodeToString(id[:]) }

// Message is what the wallet of account signs (EIP-191 personal_sign) to
// make its viewing key (docs/SPEC.md §17.1). It is fixed for the account:
// every wallet that holds the account's key signs the same bytes.
func Message(account keys.Address) []byte {
	return []byte(MessageTitle + "\n\n" +
		"Signing this makes your camchain viewing key, which decrypts the video\n" +
		"of the cameras you own or may watch. Sign it only in camchain: whoever\n" +
		"has this signature can watch that video.\n\n" +
		"Account: " + account.Hex() + "\n" +
		"Version: " + strconv.Itoa(MessageVersion))
}

// PublicKey is a public viewing key: an X-Wing encapsulation key, checked.
type PublicKey struct {
	b  [PublicKeySize]byte
	pk hpke.PublicKey
}

// ParsePublicKey checks b is an X-Wing public key (exactly PublicKeySize
// bytes, the ML-KEM-768 half well-formed) and returns it.
func ParsePublicKey(b []byte) (*PublicKey, error) {
	if len(b) != PublicKeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrPublicKey, len(b), PublicKeySize)
	}
	pk, err := parsePublic(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPublicKey, err)
	}
	p := &PublicKey{pk: pk}
	copy(p.b[:], b)
	return p, nil
}

// Bytes returns a copy of the key's 1216 bytes.
func (p *PublicKey) Bytes() []byte { return append([]byte(nil), p.b[:]...) }

// ID returns the key's identifier.
func (p *PublicKey) ID() KeyID { return keyID(p.b[:]) }

// Equal compares two public keys in constant time.
func (p *PublicKey) Equal(q *PublicKey) bool {
	if p == nil || q == nil {
		return p == q
	}
	return subtle.ConstantTimeCompare(p.b[:], q.b[:]) == 1
}

// String prints the key by its ID: viewkey:0x….
func (p *PublicKey) String() string { return "viewkey:" + p.ID().String() }

// PrivateKey is a user's viewing key: the X-Wing seed, derived from the
// account's wallet. It never prints.
type PrivateKey struct {
	account keys.Address
	seed    [SeedSize]byte
	sk      hpke.PrivateKey
	pub     *PublicKey
}

// Account is the address whose wallet the key was derived from.
func (k *PrivateKey) Account() keys.Address { return k.account }

// Public returns the public half.
func (k *PrivateKey) Public() *PublicKey { return k.pub }

// String never reveals the key.
func (k *PrivateKey) String() string {
	return "viewing-key:" + k.account.Hex() + ":" + k.pub.ID().String() + ":redacted"
}

// GoString never reveals the key, even under %#v.
func (k *PrivateKey) GoString() string { return k.String() }

// Derive makes the viewing key of s's account: s signs Message twice, the
// two signatures must be identical (RFC 6979 signing; ErrNondeterministic
// otherwise), and FromSignature turns the signature into the key.
func Derive(s keys.Signer) (*PrivateKey, error) {
	msg := Message(s.Address())
	a, err := keys.SignText(s, msg)
	if err != nil {
		return nil, fmt.Errorf("sign the viewing-key message: %w", err)
	}
	b, err := keys.SignText(s, msg)
	if err != nil {
		return nil, fmt.Errorf("sign the viewing-key message: %w", err)
	}
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return nil, ErrNondeterministic
	}
	return FromSignature(s.Address(), a)
}

// FromSignature makes the viewing key of account from its wallet's
// personal_sign signature of Message(account), as a browser wallet returns
// it. The signature is first made canonical (v 0/1 read as 27/28, a high s
// replaced by its low twin), so every encoding of the one signature gives
// the one key; it must then recover to account (ErrWrongSigner). The seed
// is HKDF-SHA256(salt labelSeed, secret r ‖ s, info account) (primitives.go).
func FromSignature(account keys.Address, sig keys.Signature) (*PrivateKey, error) {
	canon, ikm := canonicalSignature(sig)
	if err := keys.VerifyText(account, Message(account), canon); err != nil {
		return nil, fmt.Errorf("%w (%s)", ErrWrongSigner, account.Hex())
	}
	seed, err := seedFromIKM(ikm[:], account)
	clear(ikm[:])
	if err != nil {
		return nil, err
	}
	return fromSeed(account, seed)
}

func fromSeed(account keys.Address, seed [SeedSize]byte) (*PrivateKey, error) {
	sk, err := privateFromSeed(seed[:])
	if err != nil {
		return nil, fmt.Errorf("load the viewing key: %w", err)
	}
	pub, err := ParsePublicKey(sk.PublicKey().Bytes())
	if err != nil {
		return nil, err
	}
	return &PrivateKey{account: account, seed: seed, sk: sk, pub: pub}, nil
}

// canonicalSignature returns sig in the one form SPEC §1 accepts (v ∈ {27,
// 28}, low s) and its r ‖ s. A v it cannot read is left for the
// verification to refuse.
func canonicalSignature(sig keys.Signature) (keys.Signature, [signatureIKMSize]byte) {
	out := sig
	if out[64] == 0 || out[64] == 1 {
		out[64] += 27
	}
	rs := lowS(sig)
	if subtle.ConstantTimeCompare(rs[32:], sig[32:64]) != 1 && (out[64] == 27 || out[64] == 28) {
		out[64] ^= 27 ^ 28 // s ↦ n − s flips the recovery id
	}
	copy(out[32:64], rs[32:])
	return out, rs
}

// IsViewingKeyMessage reports whether msg is, or looks like, a viewing-key
// message: one whose first line is MessageTitle. camchain's sign-message
// refuses to sign one, so no command of camchain's gives the signature
// that is the viewing key away.
func IsViewingKeyMessage(msg []byte) bool {
	return bytes.HasPrefix(msg, []byte(MessageTitle+"\n")) || bytes.Equal(msg, []byte(MessageTitle))
}
