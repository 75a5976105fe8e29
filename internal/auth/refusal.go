package auth

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/keys"
)

// LabelRefusal domain-separates the hash of a refusal record
// (docs/SPEC.md §11.7).
const LabelRefusal = "camchain/v1/login-refusal"

// KindRefused is the kind byte of a refusal record: a login or renewal the
// hub refused although its signature (or renewal secret) verified, so the
// address in it is really the one that tried.
const KindRefused RecordKind = 4

// RefusalSize is the fixed length of an encoded refusal record.
const RefusalSize = 1 + 1 + 20 + 16 + 32 + 8 + 32 + 1

// Reason is why a verified login was refused, as a refusal record keeps it.
type Reason uint8

// The reasons. Numbers never change meaning; 255 is any other refusal.
const (
	ReasonWrongDomain  Reason = 1
	ReasonWrongURI     Reason = 2
	ReasonWrongVersion Reason = 3
	ReasonWrongChain   Reason = 4
	ReasonExpired      Reason = 5
	ReasonNotYetValid  Reason = 6
	ReasonIssuedFuture Reason = 7
	ReasonNonceReused  Reason = 8
	ReasonReplayed     Reason = 9
	ReasonClientClone  Reason = 10
	ReasonRevoked      Reason = 11
	ReasonUnknown      Reason = 12
	ReasonAddress      Reason = 13
	ReasonBusy         Reason = 14
	ReasonOther        Reason = 255
)

var reasonErrs = []struct {
	r   Reason
	err error
}{
	{ReasonWrongDomain, signin.ErrWrongDomain}, {ReasonWrongURI, signin.ErrWrongURI}, {ReasonWrongVersion, signin.ErrWrongVersion},
	{ReasonWrongChain, signin.ErrWrongChain}, {ReasonExpired, signin.ErrExpired}, {ReasonNotYetValid, signin.ErrNotYetValid},
	{ReasonIssuedFuture, signin.ErrIssuedFuture}, {ReasonNonceReused, ErrNonceReused}, {ReasonReplayed, ErrReplayed},
	{ReasonClientClone, ErrClientClone}, {ReasonRevoked, ErrClientRevoked}, {ReasonUnknown, ErrUnknownClient},
	{ReasonAddress, ErrClientAddress}, {ReasonBusy, ErrBusy},
}

// ReasonOf maps a refusal to its reason number.
func ReasonOf(err error) Reason {
	for _, e := range reasonErrs {
		if errors.Is(err, e.err) {
			return e.r
		}
	}
	return ReasonOther
}

func (r Reason) String() string {
	for _, e := range reasonErrs {
		if e.r == r {
			return e.err.Error()
		}
	}
	return fmt.Sprintf("refused (reason %d)", uint8(r))
}

// RefusalRecord is a verified login the hub refused. Layout
// (docs/SPEC.md §11.7):
//
//	version u8 (1) ‖ kind u8 (4) ‖ address (20) ‖ client (16)
//	‖ presented head (32) ‖ u64be(time) ‖ message digest (32) ‖ reason u8
//
// The message digest is the EIP-191 digest of the sign-in message (zero
// for a refused renewal).
type RefusalRecord struct {
	Address keys.Address
	Client  signin.ClientID
	Head    signin.Head
	Time    uint64
	Message [32]byte
	Reason  Reason
}

// Encode returns the refusal's fixed binary layout.
func (r *RefusalRecord) Encode() []byte {
	b := make([]byte, 0, RefusalSize)
	b = append(b, RecordVersion, byte(KindRefused))
	b = append(b, r.Address[:]...)
	b = append(b, r.Client[:]...)
	b = append(b, r.Head[:]...)
	b = binary.BigEndian.AppendUint64(b, r.Time)
	b = append(b, r.Message[:]...)
	return append(b, byte(r.Reason))
}

// Hash is SHA-256(LabelRefusal ‖ 0x00 ‖ Encode()).
func (r *RefusalRecord) Hash() signin.Head {
	h := sha256.New()
	h.Write([]byte(LabelRefusal))
	h.Write([]byte{0})
	h.Write(r.Encode())
	var out signin.Head
	h.Sum(out[:0])
	return out
}

// DecodeRefusal parses an encoded refusal record, refusing any other
// length, version or kind.
func DecodeRefusal(b []byte) (*RefusalRecord, error) {
	if len(b) != RefusalSize {
		return nil, fmt.Errorf("%w: refusal record is %d bytes, want %d", signin.ErrMalformed, len(b), RefusalSize)
	}
	if b[0] != RecordVersion || RecordKind(b[1]) != KindRefused {
		return nil, fmt.Errorf("%w: refusal record version %d kind %d", signin.ErrMalformed, b[0], b[1])
	}
	r := &RefusalRecord{}
	p := b[2:]
	p = p[copy(r.Address[:], p):]
	p = p[copy(r.Client[:], p):]
	p = p[copy(r.Head[:], p):]
	r.Time, p = binary.BigEndian.Uint64(p), p[8:]
	p = p[copy(r.Message[:], p):]
	r.Reason = Reason(p[0])
	return r, nil
}

// Entry is one entry of the hub's login log: a login-chain record (kinds
// 1–3, §11.4) or a refusal record (kind 4). Exactly one of Record and
// Refusal is set.
type Entry struct {
	Record  *Record
	Refusal *RefusalRecord
}

// DecodeEntry parses a login-log entry by its kind byte.
func DecodeEntry(b []byte) (*Entry, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: login-log entry of %d bytes", signin.ErrMalformed, len(b))
	}
	if RecordKind(b[1]) == KindRefused {
		r, err := DecodeRefusal(b)
		if err != nil {
			return nil, err
		}
		return &Entry{Refusal: r}, nil
	}
	r, err := DecodeRecord(b)
	if err != nil {
		return nil, err
	}
	return &Entry{Record: r}, nil
}

// Encode returns the entry's bytes.
func (e *Entry) Encode() []byte {
	if e.Refusal != nil {
		return e.Refusal.Encode()
	}
	return e.Record.Encode()
}

// Hash is the entry's identity, and its leaf in a login batch: a record's
// hash (the client's head after it) or a refusal's.
func (e *Entry) Hash() signin.Head {
	if e.Refusal != nil {
		return e.Refusal.Hash()
	}
	return e.Record.Hash()
}

// Kind is the entry's kind.
func (e *Entry) Kind() RecordKind {
	if e.Refusal != nil {
		return KindRefused
	}
	return e.Record.Kind
}

// Address is whom the entry is about.
func (e *Entry) Address() keys.Address {
	if e.Refusal != nil {
		return e.Refusal.Address
	}
	return e.Record.Address
}

// Client is the client the entry is about.
func (e *Entry) Client() signin.ClientID {
	if e.Refusal != nil {
		return e.Refusal.Client
	}
	return e.Record.Client
}

// Time is when the hub wrote the entry (Unix seconds).
func (e *Entry) Time() uint64 {
	if e.Refusal != nil {
		return e.Refusal.Time
	}
	return e.Record.Time
}
