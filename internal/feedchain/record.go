package feedchain

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/keys"
)

// Domain-separation labels. Each digest camchain signs or hashes in the
// feed chain starts with one, followed by a zero byte.
const (
	LabelRecord = "camchain/v1/segment"
	LabelAck    = "camchain/v1/ack"
)

// Record layout versions (SPEC §6.1). Version 1 is the original layout;
// version 2 adds the stream and the wall-clock source, and allows a comma
// in the codec (an RFC 6381 list: video, then audio). Stores written with
// version 1 records stay valid: a record is hashed and verified in the
// layout it was signed in.
const (
	Version1 = 1
	Version2 = 2
	// Version is the layout new records are written in.
	Version = Version2
)

// Stream says which of a camera's streams a segment is from (record v2).
type Stream uint8

// Streams.
const (
	StreamMain Stream = 0 // the camera's main (high-resolution) stream; all of v1
	StreamSub  Stream = 1 // its sub stream (low resolution, for grids and phones)
)

// Streams lists the known streams, main first.
func Streams() []Stream { return []Stream{StreamMain, StreamSub} }

// ParseStream reads a stream's name ("main", "sub"), as String writes it.
func ParseStream(name string) (Stream, error) {
	for _, s := range Streams() {
		if name == s.String() {
			return s, nil
		}
	}
	return 0, fmt.Errorf("unknown stream %q: want main or sub", name)
}

func (s Stream) String() string {
	switch s {
	case StreamMain:
		return "main"
	case StreamSub:
		return "sub"
	}
	return fmt.Sprintf("stream-%d", uint8(s))
}

// ClockSource says where a record's start time comes from (record v2).
type ClockSource uint8

// Clock sources.
const (
	// ClockUnknown: a version 1 record, which does not say.
	ClockUnknown ClockSource = 0
	// ClockArrival: the recording machine's clock when the frames arrived.
	ClockArrival ClockSource = 1
	// ClockRTCP: the camera's own clock, from its RTCP sender reports.
	ClockRTCP ClockSource = 2
	// ClockArrivalSynced: the recording machine's clock when the frames
	// arrived, which its kernel said an NTP client kept in step when the
	// record was made (internal/clocksync).
	ClockArrivalSynced ClockSource = 3
)

func (c ClockSource) String() string {
	switch c {
	case ClockUnknown:
		return "unknown"
	case ClockArrival:
		return "arrival"
	case ClockRTCP:
		return "rtcp"
	case ClockArrivalSynced:
		return "arrival-ntp"
	}
	return fmt.Sprintf("clock-%d", uint8(c))
}

// Limits.
const (
	MaxCodecLen = 64
	bodyFixed   = 1 + 20 + 8 + 8 + 32 + 32 + 8 + 8 + 8 + 1 // v1: everything but the codec bytes
	bodyFixedV2 = bodyFixed + 2                            // v2: plus stream and clock
	// MaxRecordSize is the largest encoded record: body plus signature.
	MaxRecordSize = bodyFixedV2 + MaxCodecLen + keys.SignatureSize
	// MaxSegmentBytes caps one segment file, everywhere: the segmenter
	// cuts below it, the link carries at most it, an evidence bundle holds
	// at most it per clip. 2 s at 100 Mbit/s is 25 MB; 60 s at 4 Mbit/s
	// is 30 MB.
	MaxSegmentBytes = 32 << 20
)

// Hash is a SHA-256 digest: of a segment, a record, a Merkle tree, a
// transaction. It is camchain's one 32-byte hash type; in JSON it is 0x and
// 64 lowercase hex digits.
type Hash [32]byte

// MarshalText renders the hash as 0x-prefixed lowercase hex.
func (h Hash) MarshalText() ([]byte, error) { return []byte("0x" + hex.EncodeToString(h[:])), nil }

// UnmarshalText reads what MarshalText writes: 0x and 64 hex digits.
func (h *Hash) UnmarshalText(b []byte) error {
	s, ok := strings.CutPrefix(string(b), "0x")
	if !ok || len(s) != 2*len(h) {
		return fmt.Errorf("hash %q: want 0x and %d hex digits", b, 2*len(h))
	}
	_, err := hex.Decode(h[:], []byte(s))
	return err
}

// IsZero reports whether h is all zeros (the Prev of record 0).
func (h Hash) IsZero() bool { return h == Hash{} }

// Short returns the first 8 hex digits, for messages.
func (h Hash) Short() string { return fmt.Sprintf("%x", h[:4]) }

// Record is one segment's entry in the chain.
type Record struct {
	// Version is the layout (Version1 or Version2); zero means Version1,
	// so that records built before version 2 hash as they always did.
	Version  uint8
	Camera   keys.Address
	Epoch    uint64
	Seq      uint64 // 0 for the first record of an epoch
	Prev     Hash   // Hash() of record Seq-1; zero for Seq 0
	Segment  Hash   // SHA-256 of the segment file's bytes
	Start    int64  // Unix nanoseconds of the first frame
	Duration time.Duration
	Size     uint64      // segment file size in bytes
	Codec    string      // RFC 6381 codecs value, e.g. "avc1.4d401e" (v2: or "avc1.4d401e,mp4a.40.2")
	Stream   Stream      // v2 only; StreamMain in v1
	Clock    ClockSource // v2 only; ClockUnknown in v1
	Sig      keys.Signature
}

// Errors returned by Parse.
var (
	ErrMalformed = errors.New("malformed record")
	ErrVersion   = errors.New("unknown record version")
)

// layout is the record's version, with zero read as Version1.
func (r *Record) layout() uint8 {
	if r.Version == 0 {
		return Version1
	}
	return r.Version
}

// Body returns the signed part of the record in the layout of SPEC §6.1:
//
//	v1: version u8 ‖ camera [20] ‖ epoch u64 ‖ seq u64 ‖ prev [32] ‖
//	    segment [32] ‖ start i64 ‖ duration i64 ‖ size u64 ‖ codecLen u8 ‖ codec
//	v2: the same up to size, then stream u8 ‖ clock u8 ‖ codecLen u8 ‖ codec
//
// with integers big-endian.
func (r *Record) Body() []byte {
	v := r.layout()
	b := make([]byte, 0, bodyFixedV2+len(r.Codec))
	b = append(b, v)
	b = append(b, r.Camera[:]...)
	b = binary.BigEndian.AppendUint64(b, r.Epoch)
	b = binary.BigEndian.AppendUint64(b, r.Seq)
	b = append(b, r.Prev[:]...)
	b = append(b, r.Segment[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Start))
	b = binary.BigEndian.AppendUint64(b, uint64(r.Duration))
	b = binary.BigEndian.AppendUint64(b, r.Size)
	if v >= Version2 {
		b = append(b, byte(r.Stream), byte(r.Clock))
	}
	b = append(b, byte(len(r.Codec)))
	b = append(b, r.Codec...)
	return b
}

// Hash is the record's identity: SHA-256(LabelRecord ‖ 0x00 ‖ Body()). It
// excludes the signature (which signs it), so a record's hash does not
// depend on how it was signed. The next record's Prev is this hash, and it
// is the leaf data of the integrity checkpoints' Merkle tree.
func (r *Record) Hash() Hash {
	h := sha256.New()
	h.Write([]byte(LabelRecord))
	h.Write([]byte{0})
	h.Write(r.Body())
	var out Hash
	h.Sum(out[:0])
	return out
}

// Marshal returns Body() ‖ Sig.
func (r *Record) Marshal() []byte { return append(r.Body(), r.Sig[:]...) }

// Sign sets Sig to k's signature of Hash(). k must be the camera's key.
func (r *Record) Sign(k keys.Signer) error {
	if k.Address() != r.Camera {
		return fmt.Errorf("sign record: key %s is not camera %s", k.Address().Hex(), r.Camera.Hex())
	}
	if err := r.check(); err != nil {
		return err
	}
	s, err := k.SignDigest(r.Hash())
	if err != nil {
		return err
	}
	r.Sig = s
	return nil
}

func (r *Record) check() error {
	v := r.layout()
	switch {
	case v != Version1 && v != Version2:
		return fmt.Errorf("%w: %d", ErrVersion, v)
	case v == Version1 && (r.Stream != StreamMain || r.Clock != ClockUnknown):
		return fmt.Errorf("%w: a version 1 record has no stream or clock source", ErrMalformed)
	case v == Version2 && r.Stream > StreamSub:
		return fmt.Errorf("%w: unknown stream %d", ErrMalformed, r.Stream)
	case v == Version2 && (r.Clock < ClockArrival || r.Clock > ClockArrivalSynced):
		return fmt.Errorf("%w: unknown clock source %d", ErrMalformed, r.Clock)
	}
	if len(r.Codec) == 0 || len(r.Codec) > MaxCodecLen {
		return fmt.Errorf("%w: codec must be 1..%d bytes", ErrMalformed, MaxCodecLen)
	}
	for i := 0; i < len(r.Codec); i++ {
		c := r.Codec[i]
		if c == ',' && v >= Version2 && i > 0 && i < len(r.Codec)-1 && r.Codec[i-1] != ',' {
			continue // a list: "avc1.4d401e,mp4a.40.2"
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return fmt.Errorf("%w: codec %q has a character outside [A-Za-z0-9._-] (and, from version 2, separating commas)", ErrMalformed, r.Codec)
		}
	}
	if r.Duration < 0 {
		return fmt.Errorf("%w: negative duration", ErrMalformed)
	}
	if r.Seq == 0 && !r.Prev.IsZero() {
		return fmt.Errorf("%w: record 0 must have a zero prev hash", ErrMalformed)
	}
	if r.Seq > 0 && r.Prev.IsZero() {
		return fmt.Errorf("%w: record %d has a zero prev hash", ErrMalformed, r.Seq)
	}
	return nil
}

// Parse decodes Marshal's output strictly: exact length, known version,
// valid codec string. It does not check the signature (see Verify).
func Parse(b []byte) (*Record, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrMalformed)
	}
	fixed := bodyFixed
	switch b[0] {
	case Version1:
	case Version2:
		fixed = bodyFixedV2
	default:
		return nil, fmt.Errorf("%w: %d", ErrVersion, b[0])
	}
	if len(b) < fixed+1+keys.SignatureSize {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrMalformed, len(b))
	}
	if len(b) > MaxRecordSize {
		return nil, fmt.Errorf("%w: %d bytes is over the %d-byte limit", ErrMalformed, len(b), MaxRecordSize)
	}
	r := &Record{Version: b[0]}
	p := b[1:]
	copy(r.Camera[:], p[:20])
	p = p[20:]
	r.Epoch, p = binary.BigEndian.Uint64(p), p[8:]
	r.Seq, p = binary.BigEndian.Uint64(p), p[8:]
	copy(r.Prev[:], p[:32])
	p = p[32:]
	copy(r.Segment[:], p[:32])
	p = p[32:]
	r.Start, p = int64(binary.BigEndian.Uint64(p)), p[8:]
	r.Duration, p = time.Duration(binary.BigEndian.Uint64(p)), p[8:]
	r.Size, p = binary.BigEndian.Uint64(p), p[8:]
	if r.Version == Version2 {
		r.Stream, r.Clock, p = Stream(p[0]), ClockSource(p[1]), p[2:]
	}
	n := int(p[0])
	p = p[1:]
	if len(p) != n+keys.SignatureSize {
		return nil, fmt.Errorf("%w: codec length %d does not match the record size", ErrMalformed, n)
	}
	r.Codec = string(p[:n])
	copy(r.Sig[:], p[n:])
	if err := r.check(); err != nil {
		return nil, err
	}
	return r, nil
}

// StartTime returns Start as a time.Time.
func (r *Record) StartTime() time.Time { return time.Unix(0, r.Start).UTC() }

// SegmentHash is the Segment field for a segment's bytes.
func SegmentHash(data []byte) Hash { return sha256.Sum256(data) }
