package auth

import (
	"github.com/camchain/camchain/internal/auth/signin"

	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/camchain/camchain/internal/keys"
)

// Domain-separation labels of the login chain (docs/SPEC.md §11.4).
const (
	LabelRecord  = "camchain/v1/login-record"
	LabelRenewal = "camchain/v1/login-renewal"
)

func decodeFixed(s string, dst []byte) error {
	if len(s) != 2*len(dst) {
		return fmt.Errorf("want %d hex digits", 2*len(dst))
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil || hex.EncodeToString(dst) != s {
		return fmt.Errorf("want %d lower-case hex digits", 2*len(dst))
	}
	return nil
}

// RecordKind says what a login record records.
type RecordKind uint8

const (
	KindEnroll RecordKind = 1 // a new client's first login (with the wallet)
	KindLogin  RecordKind = 2 // a login with the wallet by an enrolled client
	KindRenew  RecordKind = 3 // a renewal (no wallet: the renewal secret)
	// KindRefused (4) is a refusal record (refusal.go), not a link of a chain.
)

func (k RecordKind) String() string {
	switch k {
	case KindEnroll:
		return "enroll"
	case KindLogin:
		return "login"
	case KindRenew:
		return "renew"
	case KindRefused:
		return "refused"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// RecordVersion is the only login-record version.
const RecordVersion = 1

// RecordSize is the fixed length of an encoded login record.
const RecordSize = 1 + 1 + 20 + 16 + 32 + 8 + 32 + 32

// Record is one link of a client's login chain. Layout (docs/SPEC.md §11.4):
//
//	version u8 (1) ‖ kind u8 ‖ address (20) ‖ client (16) ‖ prev head (32)
//	‖ u64be(time) ‖ message digest (32) ‖ renewal commitment (32)
//
// The message digest is the EIP-191 digest of the sign-in message (zero
// for a renewal); the renewal commitment is RenewalCommitment of the
// renewal secret handed out with this record.
type Record struct {
	Kind    RecordKind
	Address keys.Address
	Client  signin.ClientID
	Prev    signin.Head
	Time    uint64
	Message [32]byte
	Renewal [32]byte
}

// Encode returns the record's fixed binary layout.
func (r *Record) Encode() []byte {
	b := make([]byte, 0, RecordSize)
	b = append(b, RecordVersion, byte(r.Kind))
	b = append(b, r.Address[:]...)
	b = append(b, r.Client[:]...)
	b = append(b, r.Prev[:]...)
	b = binary.BigEndian.AppendUint64(b, r.Time)
	b = append(b, r.Message[:]...)
	return append(b, r.Renewal[:]...)
}

// DecodeRecord parses an encoded record, refusing any other length,
// version or kind.
func DecodeRecord(b []byte) (*Record, error) {
	if len(b) != RecordSize {
		return nil, fmt.Errorf("%w: login record is %d bytes, want %d", signin.ErrMalformed, len(b), RecordSize)
	}
	if b[0] != RecordVersion {
		return nil, fmt.Errorf("%w: login record version %d", signin.ErrMalformed, b[0])
	}
	r := &Record{Kind: RecordKind(b[1])}
	if r.Kind < KindEnroll || r.Kind > KindRenew {
		return nil, fmt.Errorf("%w: login record kind %d", signin.ErrMalformed, b[1])
	}
	p := b[2:]
	p = p[copy(r.Address[:], p):]
	p = p[copy(r.Client[:], p):]
	p = p[copy(r.Prev[:], p):]
	r.Time, p = binary.BigEndian.Uint64(p), p[8:]
	p = p[copy(r.Message[:], p):]
	copy(r.Renewal[:], p)
	return r, nil
}

// Hash is the record's identity and the client's next head:
// SHA-256(LabelRecord ‖ 0x00 ‖ Encode()).
func (r *Record) Hash() signin.Head {
	h := sha256.New()
	h.Write([]byte(LabelRecord))
	h.Write([]byte{0})
	h.Write(r.Encode())
	var out signin.Head
	h.Sum(out[:0])
	return out
}

// Renewal is the secret a client presents, with its head, to renew its
// access token without the wallet. It is single use: each renewal hands
// out the next one.
type Renewal [32]byte

func (r Renewal) String() string { return hex.EncodeToString(r[:]) }

// GoString keeps a renewal out of %#v output.
func (r Renewal) GoString() string { return "auth.Renewal(redacted)" }

// ParseRenewal decodes 64 lower-case hex digits.
func ParseRenewal(s string) (Renewal, error) {
	var r Renewal
	if err := decodeFixed(s, r[:]); err != nil {
		return r, fmt.Errorf("%w: renewal: %v", signin.ErrMalformed, err)
	}
	return r, nil
}

func newRenewal() (Renewal, error) {
	var r Renewal
	if _, err := rand.Read(r[:]); err != nil {
		return r, fmt.Errorf("renewal: %w", err)
	}
	return r, nil
}

// RenewalCommitment is SHA-256(LabelRenewal ‖ 0x00 ‖ secret): what the
// record and the hub keep instead of the secret.
func RenewalCommitment(r Renewal) [32]byte {
	h := sha256.New()
	h.Write([]byte(LabelRenewal))
	h.Write([]byte{0})
	h.Write(r[:])
	var out [32]byte
	h.Sum(out[:0])
	return out
}
