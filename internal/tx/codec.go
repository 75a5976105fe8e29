package tx

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"

	"github.com/camchain/camchain/internal/canon"
	"github.com/camchain/camchain/internal/keys"
)

// Version is the envelope version of a transaction signed in the v1
// domain. An envelope's version names the EIP-712 domain its signatures
// are made in (Domain): this code reads and writes versions 1 and 2.
const Version = uint64(DomainV1)

// Decoding errors. The ledger maps each to its own result code.
var (
	ErrEncoding    = errors.New("malformed transaction encoding")
	ErrVersion     = errors.New("unknown transaction version")
	ErrUnknownType = errors.New("unknown transaction type")
)

// Tx is a signed message bound to a chain. Domain is the EIP-712 domain
// its signatures are made in; zero means DomainV1.
type Tx struct {
	Domain     Domain
	EVMChainID uint64
	Msg        Msg
	Sigs       []keys.Signature
}

// envelope is the wire form: a 5-element CBOR array.
type envelope struct {
	_          struct{} `cbor:",toarray"`
	Version    uint64
	EVMChainID uint64
	Type       string
	Msg        cbor.RawMessage
	Sigs       [][]byte
}

var (
	encMode = canon.EncMode()
	decMode = canon.DecMode(4, 16)
)

// Encode returns the canonical wire bytes of t.
func (t *Tx) Encode() ([]byte, error) {
	body, err := encMode.Marshal(t.Msg)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", t.Msg.Type(), err)
	}
	d := t.Domain.orV1()
	if !d.Valid() {
		return nil, fmt.Errorf("%w: EIP-712 domain version %d", ErrVersion, t.Domain)
	}
	env := envelope{Version: uint64(d), EVMChainID: t.EVMChainID, Type: string(t.Msg.Type()), Msg: body}
	for _, s := range t.Sigs {
		env.Sigs = append(env.Sigs, append([]byte(nil), s[:]...))
	}
	return encMode.Marshal(env)
}

// Decode parses wire bytes strictly: the input must be exactly the canonical
// encoding of a known version and type, with the right number of 65-byte
// signatures and fields within their limits. Anything else is refused.
func Decode(b []byte) (*Tx, error) {
	if len(b) > MaxTxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrEncoding, len(b), MaxTxBytes)
	}
	var env envelope
	if err := decMode.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEncoding, err)
	}
	if d := Domain(env.Version); !d.Valid() {
		return nil, fmt.Errorf("%w: %d (this node reads versions %d and %d)", ErrVersion, env.Version, DomainV1, DomainV2)
	}
	m := newMsg(Type(env.Type))
	if m == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownType, truncate(env.Type, 40))
	}
	if err := decMode.Unmarshal(env.Msg, m); err != nil {
		return nil, fmt.Errorf("%w: %s body: %v", ErrEncoding, env.Type, err)
	}
	if want := SignerCount(m.Type()); len(env.Sigs) != want {
		return nil, fmt.Errorf("%w: %s carries %d signatures, want %d", ErrEncoding, env.Type, len(env.Sigs), want)
	}
	t := &Tx{Domain: Domain(env.Version), EVMChainID: env.EVMChainID, Msg: m}
	for i, s := range env.Sigs {
		if len(s) != keys.SignatureSize {
			return nil, fmt.Errorf("%w: signature %d is %d bytes, want %d", ErrEncoding, i, len(s), keys.SignatureSize)
		}
		var sig keys.Signature
		copy(sig[:], s)
		t.Sigs = append(t.Sigs, sig)
	}
	if err := checkStrings(m); err != nil {
		return nil, err
	}
	// Canonical form only: one transaction, one byte string. This refuses
	// non-minimal integers, short or long fixed-size byte strings (which the
	// decoder would pad or cut), and trailing bytes.
	again, err := t.Encode()
	if err != nil || !bytes.Equal(again, b) {
		return nil, fmt.Errorf("%w: not in canonical form", ErrEncoding)
	}
	return t, nil
}

func checkStrings(m Msg) error {
	if v, ok := m.(*ViewingKey); ok {
		return checkViewingKey(v)
	}
	if e, ok := m.(*Encryption); ok && e.On > 1 {
		return fmt.Errorf("%w: encryption policy on = %d, want 0 (off) or 1 (on)", ErrEncoding, e.On)
	}
	if c, ok := m.(*Checkpoint); ok {
		if len(c.Consistency) > MaxConsistencyBytes || len(c.Consistency)%32 != 0 {
			return fmt.Errorf("%w: consistency proof must be whole 32-byte hashes, at most %d bytes", ErrEncoding, MaxConsistencyBytes)
		}
		return nil
	}
	a, ok := m.(*Audit)
	if !ok {
		return nil
	}
	if err := a.Kind.ValidFiled(); err != nil {
		return fmt.Errorf("%w: %w", ErrEncoding, err)
	}
	if len(a.Detail) > MaxDetailBytes || !utf8.ValidString(a.Detail) {
		return fmt.Errorf("%w: audit detail must be valid UTF-8 of at most %d bytes", ErrEncoding, MaxDetailBytes)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
