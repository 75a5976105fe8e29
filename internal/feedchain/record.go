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

// Version is the record layout version.
const Version = 1

// Limits.
const (
	MaxCodecLen = 64
	bodyFixed   = 1 + 20 + 8 + 8 + 32 + 32 + 8 + 8 + 8 + 1 // everything but the codec bytes
	// MaxRecordSize is the largest encoded record: body plus signature.
	MaxRecordSize = bodyFixed + MaxCodecLen + keys.SignatureSize
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
	Camera   keys.Address
	Epoch    uint64
	Seq      uint64 // 0 for the first record of an epoch
	Prev     Hash   // Hash() of record Seq-1; zero for Seq 0
	Segment  Hash   // SHA-256 of the segment file's bytes
	Start    int64  // Unix nanoseconds of the first frame
	Duration time.Duration
	Size     uint64 // segment file size in bytes
	Codec    string // RFC 6381 codec string, e.g. "avc1.4d401e"
	Sig      keys.Signature
}

// Errors returned by Parse.
var (
	ErrMalformed = errors.New("malformed record")
	ErrVersion   = errors.New("unknown record version")
)

// Body returns the signed part of the record in the layout of SPEC §6.1:
//
//	version u8 ‖ camera [20] ‖ epoch u64 ‖ seq u64 ‖ prev [32] ‖
//	segment [32] ‖ start i64 ‖ duration i64 ‖ size u64 ‖ codecLen u8 ‖ codec
//
// with integers big-endian.
func (r *Record) Body() []byte {
	b := make([]byte, 0, bodyFixed+len(r.Codec))
	b = append(b, Version)
	b = append(b, r.Camera[:]...)
	b = binary.BigEndian.AppendUint64(b, r.Epoch)
	b = binary.BigEndian.AppendUint64(b, r.Seq)
	b = append(b, r.Prev[:]...)
	b = append(b, r.Segment[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Start))
	b = binary.BigEndian.AppendUint64(b, uint64(r.Duration))
	b = binary.BigEndian.AppendUint64(b, r.Size)
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
	if len(r.Codec) == 0 || len(r.Codec) > MaxCodecLen {
		return fmt.Errorf("%w: codec must be 1..%d bytes", ErrMalformed, MaxCodecLen)
	}
	for i := 0; i < len(r.Codec); i++ {
		c := r.Codec[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return fmt.Errorf("%w: codec %q has a character outside [A-Za-z0-9._-]", ErrMalformed, r.Codec)
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
	if len(b) < bodyFixed+1+keys.SignatureSize {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrMalformed, len(b))
	}
	if len(b) > MaxRecordSize {
		return nil, fmt.Errorf("%w: %d bytes is over the %d-byte limit", ErrMalformed, len(b), MaxRecordSize)
	}
	if b[0] != Version {
		return nil, fmt.Errorf("%w: %d", ErrVersion, b[0])
	}
	r := &Record{}
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
