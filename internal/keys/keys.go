package keys

import (
	"crypto/ecdsa"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strconv"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// Address is a principal's identity: the last 20 bytes of the Keccak-256 of
// its uncompressed public key. It prints as an EIP-55 checksummed hex string.
type Address = common.Address

// SignatureSize is the length of an Ethereum signature: r (32) ‖ s (32) ‖ v (1).
const SignatureSize = 65

// Signature is r ‖ s ‖ v with v ∈ {27, 28}, the form eth_sign,
// personal_sign and eth_signTypedData_v4 return.
type Signature [SignatureSize]byte

// ErrBadSignature is returned for a signature that is malformed, not
// canonical (high s, bad v) or does not recover to a public key.
var ErrBadSignature = errors.New("bad signature")

// PrivateKey is a secp256k1 signing key. The zero value is not usable.
type PrivateKey struct {
	k    *ecdsa.PrivateKey
	addr Address // derived once: a hash of the public key, asked for at every signature
}

func wrap(k *ecdsa.PrivateKey) *PrivateKey {
	return &PrivateKey{k: k, addr: crypto.PubkeyToAddress(k.PublicKey)}
}

// Generate returns a new key from crypto/rand.
func Generate() (*PrivateKey, error) {
	k, err := crypto.GenerateKey() // reads crypto/rand
	if err != nil {
		return nil, fmt.Errorf("generate secp256k1 key: %w", err)
	}
	return wrap(k), nil
}

// FromECDSA wraps an existing key (from a keystore or a BIP-32 derivation).
func FromECDSA(k *ecdsa.PrivateKey) (*PrivateKey, error) {
	if k == nil || k.D == nil || k.D.Sign() <= 0 || k.D.Cmp(crypto.S256().Params().N) >= 0 {
		return nil, errors.New("invalid secp256k1 private key")
	}
	return wrap(k), nil
}

// FromBytes parses a 32-byte big-endian scalar.
func FromBytes(b []byte) (*PrivateKey, error) {
	k, err := crypto.ToECDSA(b)
	if err != nil {
		return nil, errors.New("invalid secp256k1 private key")
	}
	return wrap(k), nil
}

// ECDSA exposes the key to the keystore encoder. Callers must not log it.
func (p *PrivateKey) ECDSA() *ecdsa.PrivateKey { return p.k }

// Address returns the key's Ethereum address.
func (p *PrivateKey) Address() Address { return p.addr }

// Equal compares two private keys in constant time.
func (p *PrivateKey) Equal(q *PrivateKey) bool {
	if p == nil || q == nil {
		return p == q
	}
	return subtle.ConstantTimeCompare(crypto.FromECDSA(p.k), crypto.FromECDSA(q.k)) == 1
}

// String never reveals the key.
func (p *PrivateKey) String() string { return "privkey:" + p.Address().Hex() + ":redacted" }

// GoString never reveals the key, even under %#v.
func (p *PrivateKey) GoString() string { return p.String() }

// SignDigest signs a 32-byte digest that the caller has already
// domain-separated. Signing is deterministic (RFC 6979), so no nonce is drawn.
func (p *PrivateKey) SignDigest(digest [32]byte) (Signature, error) {
	raw, err := crypto.Sign(digest[:], p.k) // v ∈ {0,1}
	if err != nil {
		return Signature{}, fmt.Errorf("sign: %w", err)
	}
	var sig Signature
	copy(sig[:], raw)
	sig[64] += 27
	return sig, nil
}

// SignText signs msg as EIP-191 personal_sign does:
// keccak256("\x19Ethereum Signed Message:\n" ‖ len(msg) ‖ msg).
func (p *PrivateKey) SignText(msg []byte) (Signature, error) {
	return p.SignDigest(TextDigest(msg))
}

// TextDigest is the EIP-191 version 0x45 ("personal_sign") digest of msg.
func TextDigest(msg []byte) [32]byte {
	var d [32]byte
	// go-ethereum's accounts.TextHash, written out: that package brings
	// core/types (and through it KZG and gnark-crypto) into every binary.
	copy(d[:], crypto.Keccak256([]byte("\x19Ethereum Signed Message:\n"+strconv.Itoa(len(msg))), msg))
	return d
}

// Recover returns the address that made sig over digest. It accepts only
// the one canonical encoding (docs/SPEC.md §1): v ∈ {27, 28} and s in the
// lower half of the curve order. v ∈ {0, 1} is refused: accepting it would
// give every signature a second valid encoding, and so every transaction a
// second hash a relay could submit first.
func Recover(digest [32]byte, sig Signature) (Address, error) {
	if sig[64] != 27 && sig[64] != 28 {
		return Address{}, ErrBadSignature
	}
	v := sig[64] - 27
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:64])
	if !crypto.ValidateSignatureValues(v, r, s, true) {
		return Address{}, ErrBadSignature
	}
	var raw [SignatureSize]byte
	copy(raw[:], sig[:64])
	raw[64] = v
	// The uncompressed key (0x04 ‖ x ‖ y) straight from the recovery: the
	// address is its hash, with no round trip through an ecdsa.PublicKey.
	pub, err := crypto.Ecrecover(digest[:], raw[:])
	if err != nil || len(pub) != 65 || pub[0] != 4 {
		return Address{}, ErrBadSignature
	}
	return common.BytesToAddress(crypto.Keccak256(pub[1:])[12:]), nil
}

// VerifyText reports whether sig is addr's personal_sign signature of msg.
func VerifyText(addr Address, msg []byte, sig Signature) error {
	got, err := Recover(TextDigest(msg), sig)
	if err != nil {
		return err
	}
	if got != addr {
		return fmt.Errorf("%w: signed by %s, not %s", ErrBadSignature, got.Hex(), addr.Hex())
	}
	return nil
}

// ParseSignature decodes a 0x-prefixed 65-byte hex signature.
func ParseSignature(s string) (Signature, error) {
	b, err := hexBytes(s)
	if err != nil || len(b) != SignatureSize {
		return Signature{}, fmt.Errorf("%w: want 0x followed by %d hex bytes", ErrBadSignature, SignatureSize)
	}
	var sig Signature
	copy(sig[:], b)
	return sig, nil
}

// Hex returns the signature as 0x-prefixed lowercase hex.
func (s Signature) Hex() string { return "0x" + common.Bytes2Hex(s[:]) }

// ParseAddress parses a hex address. Mixed-case input must carry a valid
// EIP-55 checksum, so a mistyped address is caught rather than used.
func ParseAddress(s string) (Address, error) {
	if !common.IsHexAddress(s) {
		return Address{}, fmt.Errorf("invalid address %q: want 0x followed by 40 hex digits", s)
	}
	a := common.HexToAddress(s)
	body := s
	if len(body) >= 2 && (body[:2] == "0x" || body[:2] == "0X") {
		body = body[2:]
	}
	if hasUpper(body) && hasLower(body) && a.Hex()[2:] != body {
		return Address{}, fmt.Errorf("invalid address %q: EIP-55 checksum mismatch (mistyped?)", s)
	}
	return a, nil
}

func hasUpper(s string) bool {
	for _, c := range s {
		if c >= 'A' && c <= 'F' {
			return true
		}
	}
	return false
}

func hasLower(s string) bool {
	for _, c := range s {
		if c >= 'a' && c <= 'f' {
			return true
		}
	}
	return false
}

func hexBytes(s string) ([]byte, error) {
	if len(s) < 2 || (s[:2] != "0x" && s[:2] != "0X") {
		return nil, errors.New("missing 0x prefix")
	}
	return hex.DecodeString(s[2:])
}
