package e2ee

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// ContentKey is one of a camera's content keys (docs/SPEC.md §17.2): 32
// random bytes, numbered by Serial within the camera's epoch. The camera
// draws a new one at least every checkpoint period and whenever its
// recipients change (a revoke above all), and wraps each to the viewing
// keys of its recipients (Envelope). It never prints.
type ContentKey struct {
	Camera keys.Address
	Epoch  uint64
	Serial uint64
	key    [KeySize]byte
}

// NewContentKey draws a content key from crypto/rand.
func NewContentKey(camera keys.Address, epoch, serial uint64) (*ContentKey, error) {
	k := &ContentKey{Camera: camera, Epoch: epoch, Serial: serial}
	if _, err := rand.Read(k.key[:]); err != nil {
		return nil, fmt.Errorf("draw a content key: %w", err)
	}
	return k, nil
}

// String never reveals the key.
func (k *ContentKey) String() string {
	return fmt.Sprintf("content-key:%s:%d:%d:redacted", k.Camera.Hex(), k.Epoch, k.Serial)
}

// GoString never reveals the key, even under %#v.
func (k *ContentKey) GoString() string { return k.String() }

// SegmentKey is the key of one segment (and of its parts): derived from
// its period's content key, so that revealing it (evidence --reveal)
// reveals nothing about any other segment.
type SegmentKey struct {
	Camera keys.Address
	Epoch  uint64
	Stream feedchain.Stream
	Seq    uint64
	Serial uint64
	key    [KeySize]byte
}

// String never reveals the key.
func (k *SegmentKey) String() string {
	return fmt.Sprintf("segment-key:%s:%d:%d:%d:redacted", k.Camera.Hex(), k.Epoch, k.Stream, k.Seq)
}

// GoString never reveals the key, even under %#v.
func (k *SegmentKey) GoString() string { return k.String() }

// Bytes returns the key itself: for selective disclosure only.
func (k *SegmentKey) Bytes() []byte { return append([]byte(nil), k.key[:]...) }

// NewSegmentKey loads a disclosed segment key for the segment it names.
func NewSegmentKey(camera keys.Address, epoch uint64, stream feedchain.Stream, seq, serial uint64, key []byte) (*SegmentKey, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("a segment key is %d bytes, not %d", KeySize, len(key))
	}
	k := &SegmentKey{Camera: camera, Epoch: epoch, Stream: stream, Seq: seq, Serial: serial}
	copy(k.key[:], key)
	return k, nil
}

// Segment derives the key of segment seq of stream (segmentKey in
// primitives.go).
func (k *ContentKey) Segment(stream feedchain.Stream, seq uint64) (*SegmentKey, error) {
	sk := &SegmentKey{Camera: k.Camera, Epoch: k.Epoch, Stream: stream, Seq: seq, Serial: k.Serial}
	b, err := segmentKey(k.key[:], k.Camera, k.Epoch, stream, seq, k.Serial)
	if err != nil {
		return nil, err
	}
	copy(sk.key[:], b)
	clear(b)
	return sk, nil
}

// Errors of opening sealed data.
var (
	ErrNotSealed = errors.New("not a camchain sealed segment")
	ErrOpen      = errors.New("sealed segment does not open under this key (wrong key, or altered)")
)

// SealedHeader is what precedes a sealed segment's ciphertext, in the
// clear and authenticated (the AES-GCM additional data). Index is 0 for a
// whole segment, i+1 for its part i (docs/SPEC.md §7.3).
type SealedHeader struct {
	Stream feedchain.Stream
	Camera keys.Address
	Epoch  uint64
	Seq    uint64
	Serial uint64
	Index  uint32
}

func (h *SealedHeader) encode() []byte {
	b := make([]byte, 0, SealedHeaderSize)
	b = append(b, sealedMagic...)
	b = append(b, SealedVersion, byte(h.Stream))
	b = append(b, h.Camera[:]...)
	b = binary.BigEndian.AppendUint64(b, h.Epoch)
	b = binary.BigEndian.AppendUint64(b, h.Seq)
	b = binary.BigEndian.AppendUint64(b, h.Serial)
	return binary.BigEndian.AppendUint32(b, h.Index)
}

// ParseSealedHeader reads the header of sealed data. It checks the magic,
// the version and the stream, and that a ciphertext with its tag follows.
func ParseSealedHeader(b []byte) (*SealedHeader, error) {
	if len(b) < SealedOverhead || string(b[:4]) != sealedMagic {
		return nil, ErrNotSealed
	}
	if b[4] != SealedVersion {
		return nil, fmt.Errorf("%w: version %d", ErrNotSealed, b[4])
	}
	h := &SealedHeader{Stream: feedchain.Stream(b[5])}
	if h.Stream > feedchain.StreamSub {
		return nil, fmt.Errorf("%w: stream %d", ErrNotSealed, b[5])
	}
	copy(h.Camera[:], b[6:26])
	h.Epoch = binary.BigEndian.Uint64(b[26:34])
	h.Seq = binary.BigEndian.Uint64(b[34:42])
	h.Serial = binary.BigEndian.Uint64(b[42:50])
	h.Index = binary.BigEndian.Uint32(b[50:54])
	return h, nil
}

// IsSealed reports whether b starts like sealed data.
func IsSealed(b []byte) bool { return len(b) >= 5 && string(b[:4]) == sealedMagic }

// Seal encrypts a whole segment (index 0) or its part i (index i+1) under
// k: header ‖ AES-256-GCM(k, nonce(index), plaintext, aad = header).
// Each (segment key, index) is used once, so no nonce repeats.
func (k *SegmentKey) Seal(index uint32, plaintext []byte) ([]byte, error) {
	h := SealedHeader{Stream: k.Stream, Camera: k.Camera, Epoch: k.Epoch, Seq: k.Seq, Serial: k.Serial, Index: index}
	hdr := h.encode()
	return sealGCM(k.key[:], index, hdr, plaintext)
}

// Open decrypts sealed data made by Seal under k; the header must name
// k's segment.
func (k *SegmentKey) Open(sealed []byte) ([]byte, error) {
	h, err := ParseSealedHeader(sealed)
	if err != nil {
		return nil, err
	}
	if h.Camera != k.Camera || h.Epoch != k.Epoch || h.Stream != k.Stream || h.Seq != k.Seq || h.Serial != k.Serial {
		return nil, fmt.Errorf("%w: sealed data of %s epoch %d stream %d seq %d (key %d), not this key's segment", ErrOpen, h.Camera.Hex(), h.Epoch, h.Stream, h.Seq, h.Serial)
	}
	pt, err := openGCM(k.key[:], h.Index, sealed[:SealedHeaderSize], sealed[SealedHeaderSize:])
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// Equal compares two segment keys in constant time.
func (k *SegmentKey) Equal(o *SegmentKey) bool {
	return k.Camera == o.Camera && k.Epoch == o.Epoch && k.Stream == o.Stream && k.Seq == o.Seq && k.Serial == o.Serial &&
		subtle.ConstantTimeCompare(k.key[:], o.key[:]) == 1
}

// OpenSegment decrypts a whole sealed segment under k: either one sealed
// whole (index 0), or — a segment recorded in parts (docs/SPEC.md §17.4) —
// its parts sealed one after the other with indexes 1, 2, …, n, the last
// one the rest of the segment. The format carries no lengths: each part
// ends where the next one's header, which is known in advance (the same
// segment, the next index), begins. Anything else is refused.
func (k *SegmentKey) OpenSegment(sealed []byte) ([]byte, error) {
	h, err := ParseSealedHeader(sealed)
	if err != nil {
		return nil, err
	}
	if h.Index == 0 {
		return k.Open(sealed)
	}
	if h.Index != 1 {
		return nil, fmt.Errorf("%w: a segment whose first part has index %d", ErrOpen, h.Index)
	}
	var out []byte
	for i := uint32(1); len(sealed) > 0; i++ {
		if i > MaxParts {
			return nil, fmt.Errorf("%w: more than %d parts", ErrOpen, MaxParts)
		}
		next := (&SealedHeader{Stream: k.Stream, Camera: k.Camera, Epoch: k.Epoch, Seq: k.Seq, Serial: k.Serial, Index: i + 1}).encode()
		n := len(sealed)
		if j := bytes.Index(sealed[min(SealedOverhead, len(sealed)):], next); j >= 0 {
			n = SealedOverhead + j
		}
		h, err := ParseSealedHeader(sealed[:n])
		if err != nil {
			return nil, err
		}
		if h.Index != i {
			return nil, fmt.Errorf("%w: part %d has index %d", ErrOpen, i-1, h.Index)
		}
		p, err := k.Open(sealed[:n])
		if err != nil {
			return nil, err
		}
		out, sealed = append(out, p...), sealed[n:]
	}
	return out, nil
}

// Layout is how a sealed segment is cut: nil for one chunk sealed whole
// (index 0); else the plaintext lengths of its chunks, sealed with indexes
// 1, 2, … (a segment recorded in parts, docs/SPEC.md §17.4).
type Layout []int

// OpenLayout is OpenSegment that also returns the segment's layout, so
// that SealLayout can seal the plaintext again into the same bytes.
func (k *SegmentKey) OpenLayout(sealed []byte) ([]byte, Layout, error) {
	h, err := ParseSealedHeader(sealed)
	if err != nil {
		return nil, nil, err
	}
	if h.Index == 0 {
		p, err := k.Open(sealed)
		return p, nil, err
	}
	var out []byte
	var l Layout
	for len(sealed) > 0 {
		i := uint32(len(l) + 1)
		next := (&SealedHeader{Stream: k.Stream, Camera: k.Camera, Epoch: k.Epoch, Seq: k.Seq, Serial: k.Serial, Index: i + 1}).encode()
		n := len(sealed)
		if j := bytes.Index(sealed[min(SealedOverhead, len(sealed)):], next); j >= 0 {
			n = SealedOverhead + j
		}
		p, err := k.Open(sealed[:n])
		if err != nil || len(l) >= MaxParts {
			return nil, nil, fmt.Errorf("%w: part %d of the segment", ErrOpen, len(l))
		}
		if hh, _ := ParseSealedHeader(sealed[:n]); hh.Index != i {
			return nil, nil, fmt.Errorf("%w: part %d has index %d", ErrOpen, len(l), hh.Index)
		}
		out, l, sealed = append(out, p...), append(l, len(p)), sealed[n:]
	}
	return out, l, nil
}

// SealLayout seals plain under k cut as l: the inverse of OpenLayout
// (AES-GCM under one key, nonce and header is deterministic).
func (k *SegmentKey) SealLayout(plain []byte, l Layout) ([]byte, error) {
	if l == nil {
		return k.Seal(0, plain)
	}
	var out []byte
	for i, n := range l {
		if n < 0 || n > len(plain) {
			return nil, fmt.Errorf("layout part %d of %d bytes, %d left", i, n, len(plain))
		}
		s, err := k.Seal(uint32(i+1), plain[:n])
		if err != nil {
			return nil, err
		}
		out, plain = append(out, s...), plain[n:]
	}
	if len(plain) > 0 {
		return nil, fmt.Errorf("layout covers %d bytes fewer than the plaintext", len(plain))
	}
	return out, nil
}
