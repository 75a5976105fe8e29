package feedchain

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/camchain/camchain/internal/keys"
)

// Parts (SPEC §7.3): for low-latency live view the camera streams the
// segment it is recording as parts — consecutive byte ranges of the
// segment file, in order — before the segment closes. Each part travels
// with a camera-signed statement binding its bytes into the feed chain:
// the record it will belong to (seq, and the prev that record will carry),
// its place in the segment (index, offset) and the statement of the part
// before it. When the segment's record arrives, its size and SHA-256 bind
// the parts' concatenation: a part the record does not cover was not the
// camera's segment.

// LabelPart domain-separates the hash a camera signs for a part.
const LabelPart = "camchain/v1/part"

// PartVersion is the part statement layout version.
const PartVersion = 1

// Part statement sizes.
const (
	PartBodySize = 1 + 20 + 8 + 1 + 8 + 32 + 4 + 32 + 8 + 4 + 32
	// PartSize is a whole encoded statement: body and signature.
	PartSize = PartBodySize + keys.SignatureSize
)

// Part is the camera's statement about one part of a segment.
type Part struct {
	Camera   keys.Address
	Epoch    uint64
	Stream   Stream
	Seq      uint64 // the record the part's segment will have
	Prev     Hash   // that record's prev: Hash() of record Seq-1; zero for Seq 0 (and only then)
	Index    uint32 // the part's number in the segment, from 0
	PrevPart Hash   // PartHash of part Index-1; zero for Index 0 (and only then)
	Offset   uint64 // where the part's bytes start in the segment file; 0 for Index 0 (and only then)
	Size     uint32 // the part's length, 1..MaxSegmentBytes
	Data     Hash   // SHA-256 of the part's bytes
	Sig      keys.Signature
}

// ErrPartMalformed is a part statement Parse refuses.
var ErrPartMalformed = errors.New("malformed part statement")

// Body is the signed part of the statement:
//
//	version u8 ‖ camera [20] ‖ epoch u64 ‖ stream u8 ‖ seq u64 ‖ prev [32] ‖
//	index u32 ‖ prevPart [32] ‖ offset u64 ‖ size u32 ‖ data [32]
//
// integers big-endian.
func (p *Part) Body() []byte {
	b := make([]byte, 0, PartBodySize)
	b = append(b, PartVersion)
	b = append(b, p.Camera[:]...)
	b = binary.BigEndian.AppendUint64(b, p.Epoch)
	b = append(b, byte(p.Stream))
	b = binary.BigEndian.AppendUint64(b, p.Seq)
	b = append(b, p.Prev[:]...)
	b = binary.BigEndian.AppendUint32(b, p.Index)
	b = append(b, p.PrevPart[:]...)
	b = binary.BigEndian.AppendUint64(b, p.Offset)
	b = binary.BigEndian.AppendUint32(b, p.Size)
	return append(b, p.Data[:]...)
}

// Hash = SHA-256(LabelPart ‖ 0x00 ‖ Body()): what the camera signs, the
// next part's PrevPart, and what a viewer-chain link of kind part names.
func (p *Part) Hash() Hash {
	h := sha256.New()
	h.Write([]byte(LabelPart))
	h.Write([]byte{0})
	h.Write(p.Body())
	var out Hash
	h.Sum(out[:0])
	return out
}

// Marshal returns Body() ‖ Sig (PartSize bytes).
func (p *Part) Marshal() []byte { return append(p.Body(), p.Sig[:]...) }

// Sign sets Sig to k's signature of Hash(); k must be the camera's key.
func (p *Part) Sign(k keys.Signer) error {
	if k.Address() != p.Camera {
		return fmt.Errorf("sign part: key %s is not camera %s", k.Address().Hex(), p.Camera.Hex())
	}
	if err := p.check(); err != nil {
		return err
	}
	s, err := k.SignDigest(p.Hash())
	if err != nil {
		return err
	}
	p.Sig = s
	return nil
}

func (p *Part) check() error {
	switch {
	case p.Stream > StreamSub:
		return fmt.Errorf("%w: unknown stream %d", ErrPartMalformed, p.Stream)
	case p.Seq == 0 && !p.Prev.IsZero():
		return fmt.Errorf("%w: a part of record 0 must have a zero prev", ErrPartMalformed)
	case p.Seq > 0 && p.Prev.IsZero():
		return fmt.Errorf("%w: a part of record %d has a zero prev", ErrPartMalformed, p.Seq)
	case p.Index == 0 && (!p.PrevPart.IsZero() || p.Offset != 0):
		return fmt.Errorf("%w: part 0 must have a zero prevPart and offset", ErrPartMalformed)
	case p.Index > 0 && (p.PrevPart.IsZero() || p.Offset == 0):
		return fmt.Errorf("%w: part %d has a zero prevPart or offset", ErrPartMalformed, p.Index)
	case p.Size == 0 || p.Size > MaxSegmentBytes || p.Offset > MaxSegmentBytes-uint64(p.Size):
		return fmt.Errorf("%w: part of %d bytes at offset %d outside a %d-byte segment", ErrPartMalformed, p.Size, p.Offset, MaxSegmentBytes)
	}
	return nil
}

// ParsePart decodes exactly PartSize bytes strictly. It does not check
// the signature (VerifyPart does).
func ParsePart(b []byte) (*Part, error) {
	if len(b) != PartSize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrPartMalformed, len(b), PartSize)
	}
	if b[0] != PartVersion {
		return nil, fmt.Errorf("%w: unknown version %d", ErrPartMalformed, b[0])
	}
	p := &Part{}
	q := b[1:]
	q = q[copy(p.Camera[:], q):]
	p.Epoch, q = binary.BigEndian.Uint64(q), q[8:]
	p.Stream, q = Stream(q[0]), q[1:]
	p.Seq, q = binary.BigEndian.Uint64(q), q[8:]
	q = q[copy(p.Prev[:], q):]
	p.Index, q = binary.BigEndian.Uint32(q), q[4:]
	q = q[copy(p.PrevPart[:], q):]
	p.Offset, q = binary.BigEndian.Uint64(q), q[8:]
	p.Size, q = binary.BigEndian.Uint32(q), q[4:]
	q = q[copy(p.Data[:], q):]
	copy(p.Sig[:], q)
	if err := p.check(); err != nil {
		return nil, err
	}
	return p, nil
}

// End is where the part's bytes end in the segment file.
func (p *Part) End() uint64 { return p.Offset + uint64(p.Size) }

// PartError says how a part fails: which part, which field, expected
// against got.
type PartError struct {
	Seq      uint64
	Index    uint32
	Field    string // "signature", "camera", "epoch", "stream", "seq", "prev", "index", "prevPart", "offset", "size", "sha256"
	Expected string
	Got      string
}

func (e *PartError) Error() string {
	if e.Field == "signature" {
		return fmt.Sprintf("part %d of record %d is not signed by its camera: %s", e.Index, e.Seq, e.Got)
	}
	return fmt.Sprintf("part %d of record %d: %s is %s, expected %s", e.Index, e.Seq, e.Field, e.Got, e.Expected)
}

func partErr(p *Part, field string, want, got any) *PartError {
	return &PartError{Seq: p.Seq, Index: p.Index, Field: field, Expected: fmt.Sprint(want), Got: fmt.Sprint(got)}
}

// VerifyPart checks that the statement is well formed and signed by its
// camera.
func VerifyPart(p *Part) error {
	if err := p.check(); err != nil {
		return err
	}
	got, err := keys.Recover(p.Hash(), p.Sig)
	if err != nil {
		return partErr(p, "signature", p.Camera.Hex(), err)
	}
	if got != p.Camera {
		return partErr(p, "signature", p.Camera.Hex(), "signed by "+got.Hex())
	}
	return nil
}

// VerifyPartNext checks that p follows: with prev nil, that it is part 0
// of the record after head (record 0 of an empty chain) for this camera,
// epoch and stream; with prev, that it is the part after prev in the same
// segment. It does not check signatures (VerifyPart does).
func VerifyPartNext(camera keys.Address, epoch uint64, stream Stream, head Head, prev, p *Part) error {
	switch {
	case p.Camera != camera:
		return partErr(p, "camera", camera.Hex(), p.Camera.Hex())
	case p.Epoch != epoch:
		return partErr(p, "epoch", epoch, p.Epoch)
	case p.Stream != stream:
		return partErr(p, "stream", stream, p.Stream)
	}
	if prev == nil {
		wantSeq, wantPrev := uint64(0), Hash{}
		if head.Valid {
			wantSeq, wantPrev = head.Seq+1, head.Hash
		}
		switch {
		case p.Seq != wantSeq:
			return partErr(p, "seq", wantSeq, p.Seq)
		case p.Prev != wantPrev:
			return partErr(p, "prev", wantPrev.Short(), p.Prev.Short())
		case p.Index != 0:
			return partErr(p, "index", 0, p.Index)
		}
		return nil
	}
	switch {
	case p.Seq != prev.Seq:
		return partErr(p, "seq", prev.Seq, p.Seq)
	case p.Prev != prev.Prev:
		return partErr(p, "prev", prev.Prev.Short(), p.Prev.Short())
	case p.Index != prev.Index+1:
		return partErr(p, "index", prev.Index+1, p.Index)
	case p.PrevPart != prev.Hash():
		return partErr(p, "prevPart", prev.Hash().Short(), p.PrevPart.Short())
	case p.Offset != prev.End():
		return partErr(p, "offset", prev.End(), p.Offset)
	}
	return nil
}

// VerifyPartData checks a part's bytes against its statement.
func VerifyPartData(p *Part, data []byte) error {
	if uint64(len(data)) != uint64(p.Size) {
		return partErr(p, "size", p.Size, len(data))
	}
	if h := sha256sum(data); h != p.Data {
		return partErr(p, "sha256", p.Data.Short(), h.Short())
	}
	return nil
}

// VerifySealed checks that record r closes the segment whose parts ended
// with last: same camera, epoch, stream, seq and prev, and a segment at
// least as long as the parts. (The segment's SHA-256 over the parts'
// bytes and the rest is the caller's: it holds the bytes.)
func VerifySealed(last *Part, r *Record) error {
	switch {
	case r.Camera != last.Camera:
		return partErr(last, "camera", r.Camera.Hex(), last.Camera.Hex())
	case r.Epoch != last.Epoch:
		return partErr(last, "epoch", r.Epoch, last.Epoch)
	case r.Stream != last.Stream:
		return partErr(last, "stream", r.Stream, last.Stream)
	case r.Seq != last.Seq:
		return partErr(last, "seq", r.Seq, last.Seq)
	case r.Prev != last.Prev:
		return partErr(last, "prev", r.Prev.Short(), last.Prev.Short())
	case r.Size < last.End():
		return partErr(last, "size", fmt.Sprintf("within the record's %d bytes", r.Size), fmt.Sprintf("ending at %d", last.End()))
	}
	return nil
}
