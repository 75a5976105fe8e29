package viewchain

import (
	"encoding/binary"
	"fmt"

	"github.com/camchain/camchain/internal/feedchain"
)

// Frame types: the first byte of every binary playback message (SPEC §15.3).
const (
	FrameSegment byte = 1 // u16be recordLen ‖ record ‖ link ‖ segment bytes
	FrameEnd     byte = 2 // link (KindEnd)
	// FramePart: a part of the open segment (a session that asked for
	// parts): statement (feedchain.PartSize) ‖ link (KindPart) ‖ part bytes.
	FramePart byte = 3
	// FrameTail: the record closing a segment whose parts came first:
	// u16be recordLen ‖ record ‖ link (KindSegment) ‖ the segment's bytes
	// after the parts (often none).
	FrameTail byte = 4
)

// MaxFrame bounds one binary playback message: a segment with its record
// and link. Readers set it as their read limit, so nothing larger is ever
// allocated.
const MaxFrame = 1 + 2 + feedchain.MaxRecordSize + Size + feedchain.MaxSegmentBytes

// Frame is one decoded binary playback message; its slices point into the
// message.
type Frame struct {
	Type   byte
	Record []byte // FrameSegment and FrameTail: the record; FramePart: the part statement
	Link   []byte
	Data   []byte // the segment's bytes, the part's, or a tail's rest
}

// AppendSegment appends a FrameSegment message to dst.
func AppendSegment(dst, record, link, data []byte) []byte {
	dst = append(dst, FrameSegment)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(record)))
	dst = append(dst, record...)
	dst = append(dst, link...)
	return append(dst, data...)
}

// AppendPart appends a FramePart message to dst.
func AppendPart(dst, statement, link, data []byte) []byte {
	dst = append(dst, FramePart)
	dst = append(dst, statement...)
	dst = append(dst, link...)
	return append(dst, data...)
}

// AppendTail appends a FrameTail message to dst: rest is the segment's
// bytes after the parts delivered.
func AppendTail(dst, record, link, rest []byte) []byte {
	dst = AppendSegment(dst, record, link, rest)
	dst[0] = FrameTail
	return dst
}

// AppendEnd appends a FrameEnd message to dst.
func AppendEnd(dst, link []byte) []byte { return append(append(dst, FrameEnd), link...) }

// DecodeFrame splits a binary playback message, checking its bounds
// before it looks at anything else. It does not verify (Verifier does).
func DecodeFrame(b []byte) (Frame, error) {
	if len(b) == 0 || len(b) > MaxFrame {
		return Frame{}, fmt.Errorf("%w: frame of %d bytes (1..%d)", ErrMalformed, len(b), MaxFrame)
	}
	switch b[0] {
	case FrameSegment, FrameTail:
		if len(b) < 3 {
			return Frame{}, fmt.Errorf("%w: segment frame of %d bytes", ErrMalformed, len(b))
		}
		n := int(binary.BigEndian.Uint16(b[1:3]))
		if n > feedchain.MaxRecordSize || len(b) < 3+n+Size {
			return Frame{}, fmt.Errorf("%w: segment frame: record of %d bytes in a frame of %d", ErrMalformed, n, len(b))
		}
		rec := b[3 : 3+n]
		return Frame{Type: b[0], Record: rec, Link: b[3+n : 3+n+Size], Data: b[3+n+Size:]}, nil
	case FramePart:
		if len(b) < 1+feedchain.PartSize+Size {
			return Frame{}, fmt.Errorf("%w: part frame of %d bytes", ErrMalformed, len(b))
		}
		st := b[1 : 1+feedchain.PartSize]
		return Frame{Type: FramePart, Record: st, Link: b[1+feedchain.PartSize : 1+feedchain.PartSize+Size], Data: b[1+feedchain.PartSize+Size:]}, nil
	case FrameEnd:
		if len(b) != 1+Size {
			return Frame{}, fmt.Errorf("%w: end frame of %d bytes, want %d", ErrMalformed, len(b), 1+Size)
		}
		return Frame{Type: FrameEnd, Link: b[1:]}, nil
	}
	return Frame{}, fmt.Errorf("%w: unknown frame type %d", ErrMalformed, b[0])
}
