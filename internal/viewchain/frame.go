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
)

// MaxFrame bounds one binary playback message: a segment with its record
// and link. Readers set it as their read limit, so nothing larger is ever
// allocated.
const MaxFrame = 1 + 2 + feedchain.MaxRecordSize + Size + feedchain.MaxSegmentBytes

// Frame is one decoded binary playback message; its slices point into the
// message.
type Frame struct {
	Type   byte
	Record []byte // FrameSegment only
	Link   []byte
	Data   []byte // FrameSegment only
}

// AppendSegment appends a FrameSegment message to dst.
func AppendSegment(dst, record, link, data []byte) []byte {
	dst = append(dst, FrameSegment)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(record)))
	dst = append(dst, record...)
	dst = append(dst, link...)
	return append(dst, data...)
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
	case FrameSegment:
		if len(b) < 3 {
			return Frame{}, fmt.Errorf("%w: segment frame of %d bytes", ErrMalformed, len(b))
		}
		n := int(binary.BigEndian.Uint16(b[1:3]))
		if n > feedchain.MaxRecordSize || len(b) < 3+n+Size {
			return Frame{}, fmt.Errorf("%w: segment frame: record of %d bytes in a frame of %d", ErrMalformed, n, len(b))
		}
		rec := b[3 : 3+n]
		return Frame{Type: FrameSegment, Record: rec, Link: b[3+n : 3+n+Size], Data: b[3+n+Size:]}, nil
	case FrameEnd:
		if len(b) != 1+Size {
			return Frame{}, fmt.Errorf("%w: end frame of %d bytes, want %d", ErrMalformed, len(b), 1+Size)
		}
		return Frame{Type: FrameEnd, Link: b[1:]}, nil
	}
	return Frame{}, fmt.Errorf("%w: unknown frame type %d", ErrMalformed, b[0])
}
