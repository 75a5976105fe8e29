package feedchain

import (
	"errors"
	"fmt"

	"github.com/camchain/camchain/internal/keys"
)

// ErrBadSignature: the record is not signed by its camera.
var ErrBadSignature = errors.New("record not signed by its camera")

// LinkError says how a record fails to follow its predecessor.
type LinkError struct {
	Seq      uint64 // the offending record's sequence number
	Field    string // "camera", "epoch", "seq", "prev" or "stream"
	Expected string
	Got      string
}

func (e *LinkError) Error() string {
	return fmt.Sprintf("record %d does not follow the chain: %s is %s, expected %s", e.Seq, e.Field, e.Got, e.Expected)
}

// SegmentError says a segment's bytes do not match its record.
type SegmentError struct {
	Seq      uint64
	Field    string // "size" or "sha256"
	Expected string
	Got      string
}

func (e *SegmentError) Error() string {
	return fmt.Sprintf("segment %d does not match its record: %s is %s, record says %s", e.Seq, e.Field, e.Got, e.Expected)
}

// Verify checks that the record is well formed and signed by its camera.
func Verify(r *Record) error {
	if err := r.check(); err != nil {
		return err
	}
	got, err := keys.Recover(r.Hash(), r.Sig)
	if err != nil {
		return fmt.Errorf("record %d: %w: %v", r.Seq, ErrBadSignature, err)
	}
	if got != r.Camera {
		return fmt.Errorf("record %d: %w: signed by %s, camera is %s", r.Seq, ErrBadSignature, got.Hex(), r.Camera.Hex())
	}
	return nil
}

// Head is the tip of a chain as one side knows it: the last record's
// sequence number and hash. The zero Head (Valid false) is an empty chain.
type Head struct {
	Valid bool
	Seq   uint64
	Hash  Hash
}

// String renders the head for messages.
func (h Head) String() string {
	if !h.Valid {
		return "empty chain"
	}
	return fmt.Sprintf("#%d %s", h.Seq, h.Hash.Short())
}

// Next is the sequence number of the record that follows h: head.Seq+1,
// 0 after an empty chain.
func (h Head) Next() uint64 {
	if !h.Valid {
		return 0
	}
	return h.Seq + 1
}

// HeadOf returns the head a chain has after r.
func HeadOf(r *Record) Head { return Head{Valid: true, Seq: r.Seq, Hash: r.Hash()} }

// VerifyNext checks that r is the next record after head for the given
// camera and epoch: sequence head.Seq+1 (0 after an empty chain) and Prev
// equal to head's hash. It does not check the signature.
func VerifyNext(camera keys.Address, epoch uint64, head Head, r *Record) error {
	if r.Camera != camera {
		return &LinkError{Seq: r.Seq, Field: "camera", Expected: camera.Hex(), Got: r.Camera.Hex()}
	}
	if r.Epoch != epoch {
		return &LinkError{Seq: r.Seq, Field: "epoch", Expected: fmt.Sprint(epoch), Got: fmt.Sprint(r.Epoch)}
	}
	var wantSeq uint64
	var wantPrev Hash
	if head.Valid {
		wantSeq, wantPrev = head.Seq+1, head.Hash
	}
	if r.Seq != wantSeq {
		return &LinkError{Seq: r.Seq, Field: "seq", Expected: fmt.Sprint(wantSeq), Got: fmt.Sprint(r.Seq)}
	}
	if r.Prev != wantPrev {
		return &LinkError{Seq: r.Seq, Field: "prev", Expected: wantPrev.Short(), Got: r.Prev.Short()}
	}
	return nil
}

// VerifyStream checks that r belongs to the chain of stream: each of a
// camera's streams is its own chain (SPEC §6.5), so a record of one stream
// never extends another's.
func VerifyStream(stream Stream, r *Record) error {
	if r.Stream != stream {
		return &LinkError{Seq: r.Seq, Field: "stream", Expected: stream.String(), Got: r.Stream.String()}
	}
	return nil
}

// VerifySegment checks a segment's bytes against its record.
func VerifySegment(r *Record, data []byte) error {
	if uint64(len(data)) != r.Size {
		return sizeError(r, len(data))
	}
	return VerifySegmentHash(r, len(data), SegmentHash(data))
}

// VerifySegmentHash is VerifySegment for a segment of size bytes whose
// SHA-256 (SegmentHash) the caller computed.
func VerifySegmentHash(r *Record, size int, h Hash) error {
	if uint64(size) != r.Size {
		return sizeError(r, size)
	}
	if h != r.Segment {
		return &SegmentError{Seq: r.Seq, Field: "sha256", Expected: fmt.Sprintf("%x", r.Segment), Got: fmt.Sprintf("%x", h)}
	}
	return nil
}

func sizeError(r *Record, size int) error {
	return &SegmentError{Seq: r.Seq, Field: "size", Expected: fmt.Sprint(r.Size), Got: fmt.Sprint(size)}
}

// Ack is a hub's acknowledgement that it stored record Seq and that its
// chain's head is then Head. The hub signs AckDigest.
type Ack struct {
	Camera keys.Address
	Epoch  uint64
	Seq    uint64
	Head   Hash
	Sig    keys.Signature
}

// AckDigest is SHA-256(LabelAck ‖ 0x00 ‖ camera ‖ u64be(epoch) ‖ u64be(seq) ‖ head).
func AckDigest(camera keys.Address, epoch, seq uint64, head Hash) Hash {
	b := make([]byte, 0, len(LabelAck)+1+20+8+8+32)
	b = append(b, LabelAck...)
	b = append(b, 0)
	b = append(b, camera[:]...)
	b = appendU64(b, epoch)
	b = appendU64(b, seq)
	b = append(b, head[:]...)
	return sha256sum(b)
}

// SignAck returns the hub's signed acknowledgement.
func SignAck(hub keys.Signer, camera keys.Address, epoch, seq uint64, head Hash) (Ack, error) {
	s, err := hub.SignDigest(AckDigest(camera, epoch, seq, head))
	if err != nil {
		return Ack{}, err
	}
	return Ack{Camera: camera, Epoch: epoch, Seq: seq, Head: head, Sig: s}, nil
}

// AckError says an acknowledgement does not match the camera's own chain.
type AckError struct {
	Seq    uint64
	Reason string
}

func (e *AckError) Error() string {
	return fmt.Sprintf("acknowledgement of record %d rejected: %s", e.Seq, e.Reason)
}

// VerifyAck checks an acknowledgement against the record the camera sent:
// same camera, epoch and seq, the hub's head equal to the record's hash,
// signed by hub.
func VerifyAck(hub keys.Address, sent *Record, a Ack) error {
	switch {
	case a.Camera != sent.Camera || a.Epoch != sent.Epoch:
		return &AckError{Seq: sent.Seq, Reason: "for another camera or epoch"}
	case a.Seq != sent.Seq:
		return &AckError{Seq: sent.Seq, Reason: fmt.Sprintf("acknowledges record %d", a.Seq)}
	case a.Head != sent.Hash():
		return &AckError{Seq: sent.Seq, Reason: fmt.Sprintf("hub head %s differs from camera head %s: chains diverged", a.Head.Short(), sent.Hash().Short())}
	}
	got, err := keys.Recover(AckDigest(a.Camera, a.Epoch, a.Seq, a.Head), a.Sig)
	if err != nil || got != hub {
		return &AckError{Seq: sent.Seq, Reason: "not signed by the paired hub " + hub.Hex()}
	}
	return nil
}
