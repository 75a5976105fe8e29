package viewchain

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// LabelLink domain-separates the hash a hub signs for a Link.
const LabelLink = "camchain/v1/view-link"

// Version is the Link layout version.
const Version = 1

// Kind says what a Link closes over.
type Kind uint8

// Kinds.
const (
	// KindSegment: the hub forwarded the segment whose record hash is Record.
	KindSegment Kind = 1
	// KindEnd: the hub forwarded nothing more in this session (the end of
	// a recorded range); Record is zero.
	KindEnd Kind = 2
	// KindPart: the hub forwarded the part of an open segment whose
	// statement's PartHash (SPEC §7.3) is Record.
	KindPart Kind = 3
)

func (k Kind) String() string {
	switch k {
	case KindSegment:
		return "segment"
	case KindEnd:
		return "end"
	case KindPart:
		return "part"
	}
	return fmt.Sprintf("kind-%d", uint8(k))
}

// SessionID names one playback session; the hub draws it from crypto/rand.
type SessionID [16]byte

// Nonce is the viewer's challenge for a session, echoed in every Link, so
// that a session recorded earlier cannot be replayed to it. Zero when the
// viewer gave none (it then cannot tell a replayed session).
type Nonce [16]byte

// NewSessionID draws a session id from crypto/rand.
func NewSessionID() (SessionID, error) {
	var s SessionID
	_, err := rand.Read(s[:])
	return s, err
}

// NewNonce draws a viewer nonce from crypto/rand.
func NewNonce() (Nonce, error) {
	var n Nonce
	_, err := rand.Read(n[:])
	return n, err
}

func (s SessionID) String() string { return hex.EncodeToString(s[:]) }
func (n Nonce) String() string     { return hex.EncodeToString(n[:]) }

// ParseNonce reads 32 hex digits (what Nonce.String writes).
func ParseNonce(s string) (Nonce, error) {
	var n Nonce
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(n) {
		return n, fmt.Errorf("nonce %q: want %d hex digits", s, 2*len(n))
	}
	copy(n[:], b)
	return n, nil
}

// Sizes (SPEC §15.1).
const (
	BodySize = 1 + 1 + 20 + 16 + 16 + 20 + 8 + 8 + 32 + 32
	// Size is a whole encoded Link: body and the hub's signature.
	Size = BodySize + keys.SignatureSize
)

// Link is one element of a session's chain.
type Link struct {
	Kind    Kind
	Hub     keys.Address
	Session SessionID
	Nonce   Nonce
	Camera  keys.Address
	Epoch   uint64
	Index   uint64         // 0 for the session's first link
	Prev    feedchain.Hash // Hash() of link Index-1; zero for Index 0 (and only then)
	Record  feedchain.Hash // the forwarded record's hash (§6.2); zero for KindEnd
	Sig     keys.Signature // the hub's signature of Hash()
}

// ErrMalformed is an encoding Parse refuses.
var ErrMalformed = errors.New("malformed viewer-chain link")

// Body is the signed part:
//
//	version u8 ‖ kind u8 ‖ hub [20] ‖ session [16] ‖ nonce [16] ‖ camera [20] ‖
//	epoch u64 ‖ index u64 ‖ prev [32] ‖ record [32]
//
// integers big-endian.
func (l *Link) Body() []byte {
	b := make([]byte, 0, BodySize)
	b = append(b, Version, byte(l.Kind))
	b = append(b, l.Hub[:]...)
	b = append(b, l.Session[:]...)
	b = append(b, l.Nonce[:]...)
	b = append(b, l.Camera[:]...)
	b = binary.BigEndian.AppendUint64(b, l.Epoch)
	b = binary.BigEndian.AppendUint64(b, l.Index)
	b = append(b, l.Prev[:]...)
	b = append(b, l.Record[:]...)
	return b
}

// Hash = SHA-256(LabelLink ‖ 0x00 ‖ Body()): what the hub signs and the
// next link's Prev.
func (l *Link) Hash() feedchain.Hash {
	h := sha256.New()
	h.Write([]byte(LabelLink))
	h.Write([]byte{0})
	h.Write(l.Body())
	var out feedchain.Hash
	h.Sum(out[:0])
	return out
}

// Marshal returns Body() ‖ Sig (Size bytes).
func (l *Link) Marshal() []byte { return append(l.Body(), l.Sig[:]...) }

func (l *Link) check() error {
	switch {
	case l.Kind != KindSegment && l.Kind != KindEnd && l.Kind != KindPart:
		return fmt.Errorf("%w: unknown kind %d", ErrMalformed, l.Kind)
	case l.Index == 0 && !l.Prev.IsZero():
		return fmt.Errorf("%w: link 0 must have a zero prev", ErrMalformed)
	case l.Index > 0 && l.Prev.IsZero():
		return fmt.Errorf("%w: link %d has a zero prev", ErrMalformed, l.Index)
	case l.Kind != KindEnd && l.Record.IsZero():
		return fmt.Errorf("%w: %s link %d has a zero record hash", ErrMalformed, l.Kind, l.Index)
	case l.Kind == KindEnd && !l.Record.IsZero():
		return fmt.Errorf("%w: end link %d names a record", ErrMalformed, l.Index)
	}
	return nil
}

// Parse decodes exactly Size bytes strictly. It does not check the
// signature (Verifier does).
func Parse(b []byte) (*Link, error) {
	if len(b) != Size {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrMalformed, len(b), Size)
	}
	if b[0] != Version {
		return nil, fmt.Errorf("%w: unknown version %d", ErrMalformed, b[0])
	}
	l := &Link{Kind: Kind(b[1])}
	p := b[2:]
	p = p[copy(l.Hub[:], p):]
	p = p[copy(l.Session[:], p):]
	p = p[copy(l.Nonce[:], p):]
	p = p[copy(l.Camera[:], p):]
	l.Epoch, p = binary.BigEndian.Uint64(p), p[8:]
	l.Index, p = binary.BigEndian.Uint64(p), p[8:]
	p = p[copy(l.Prev[:], p):]
	p = p[copy(l.Record[:], p):]
	copy(l.Sig[:], p)
	if err := l.check(); err != nil {
		return nil, err
	}
	return l, nil
}

// Signer is the hub's side of one session: it makes the session's links
// in order. Not safe for concurrent use.
type Signer struct {
	key    keys.Signer
	next   uint64
	prev   feedchain.Hash
	base   Link
	closed bool
}

// NewSigner starts a session for camera (in epoch) with the viewer's nonce
// and a fresh session id.
func NewSigner(hub keys.Signer, camera keys.Address, epoch uint64, nonce Nonce) (*Signer, error) {
	id, err := NewSessionID()
	if err != nil {
		return nil, err
	}
	return &Signer{key: hub, base: Link{Hub: hub.Address(), Session: id, Nonce: nonce, Camera: camera, Epoch: epoch}}, nil
}

// Session is the session's id.
func (s *Signer) Session() SessionID { return s.base.Session }

// Segment returns the signed link for the next forwarded record.
func (s *Signer) Segment(record feedchain.Hash) (*Link, error) {
	return s.link(KindSegment, record)
}

// Part returns the signed link for the next forwarded part, named by its
// statement's PartHash.
func (s *Signer) Part(part feedchain.Hash) (*Link, error) {
	return s.link(KindPart, part)
}

// End returns the session's signed last link; the Signer makes no more.
func (s *Signer) End() (*Link, error) {
	l, err := s.link(KindEnd, feedchain.Hash{})
	s.closed = true
	return l, err
}

func (s *Signer) link(k Kind, record feedchain.Hash) (*Link, error) {
	if s.closed {
		return nil, errors.New("viewchain: session already ended")
	}
	l := s.base
	l.Kind, l.Index, l.Prev, l.Record = k, s.next, s.prev, record
	if err := l.check(); err != nil {
		return nil, err
	}
	h := l.Hash()
	sig, err := s.key.SignDigest(h)
	if err != nil {
		return nil, err
	}
	l.Sig = sig
	s.next, s.prev = s.next+1, h
	return &l, nil
}
