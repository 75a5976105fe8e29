package link

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Segment frames are by far the largest, so they are written and read
// without the generic CBOR path: the bytes on the wire are exactly what
// Write(TypeSegment, &Segment{…}) produces (canonical CBOR
// [bstr record, bstr data]), but the segment is neither copied into an
// intermediate buffer on the camera nor re-encoded for the canonical check
// on the hub.

// bstrHeader appends the canonical (shortest) CBOR byte-string header.
func bstrHeader(b []byte, n int) []byte {
	switch {
	case n < 24:
		return append(b, 0x40|byte(n))
	case n < 1<<8:
		return append(b, 0x58, byte(n))
	case n < 1<<16:
		return binary.BigEndian.AppendUint16(append(b, 0x59), uint16(n))
	default:
		return binary.BigEndian.AppendUint32(append(b, 0x5a), uint32(n))
	}
}

// WriteSegment sends one Segment frame.
func (c *Conn) WriteSegment(record, data []byte) error { return c.writePair(TypeSegment, record, data) }

// WritePart sends one Part frame: CBOR [bstr statement, bstr data], the
// Segment frame's layout (SPEC §7.3).
func (c *Conn) WritePart(statement, data []byte) error { return c.writePair(TypePart, statement, data) }

// DecodePart parses a Part frame body strictly, returning slices of body.
func DecodePart(body []byte) (statement, data []byte, err error) { return DecodeSegment(body) }

func (c *Conn) writePair(typ byte, record, data []byte) error {
	if len(data) > MaxSegmentBytes {
		return fmt.Errorf("%w: segment of %d bytes over the %d limit", ErrProtocol, len(data), MaxSegmentBytes)
	}
	hdr := make([]byte, 5, 32)
	hdr = append(hdr, 0x82) // array(2)
	hdr = bstrHeader(hdr, len(record))
	mid := bstrHeader(nil, len(data))
	n := len(hdr) - 4 + len(record) + len(mid) + len(data) // type byte onwards
	binary.BigEndian.PutUint32(hdr[:4], uint32(n))
	hdr[4] = typ
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for _, p := range [][]byte{hdr, record, mid, data} {
		if _, err := c.w.Write(p); err != nil {
			return err
		}
	}
	return c.w.Flush()
}

// readBstr parses one canonical CBOR byte string at the start of b and
// returns its content (a slice of b, not a copy) and the rest.
func readBstr(b []byte) (content, rest []byte, err error) {
	if len(b) == 0 || b[0]&0xe0 != 0x40 {
		return nil, nil, fmt.Errorf("%w: want a byte string", ErrProtocol)
	}
	info := b[0] & 0x1f
	var n uint64
	var hl int
	switch {
	case info < 24:
		n, hl = uint64(info), 1
	case info == 24 && len(b) >= 2:
		n, hl = uint64(b[1]), 2
		if n < 24 {
			return nil, nil, fmt.Errorf("%w: not in canonical form", ErrProtocol)
		}
	case info == 25 && len(b) >= 3:
		n, hl = uint64(binary.BigEndian.Uint16(b[1:])), 3
		if n < 1<<8 {
			return nil, nil, fmt.Errorf("%w: not in canonical form", ErrProtocol)
		}
	case info == 26 && len(b) >= 5:
		n, hl = uint64(binary.BigEndian.Uint32(b[1:])), 5
		if n < 1<<16 {
			return nil, nil, fmt.Errorf("%w: not in canonical form", ErrProtocol)
		}
	default:
		return nil, nil, fmt.Errorf("%w: bad byte string header", ErrProtocol)
	}
	if uint64(len(b)-hl) < n {
		return nil, nil, fmt.Errorf("%w: %v", ErrProtocol, io.ErrUnexpectedEOF)
	}
	return b[hl : hl+int(n)], b[hl+int(n):], nil
}

// DecodeSegment parses a Segment frame body strictly (canonical encoding,
// no trailing bytes), returning slices of body.
func DecodeSegment(body []byte) (record, data []byte, err error) {
	if len(body) == 0 || body[0] != 0x82 {
		return nil, nil, fmt.Errorf("%w: a segment is a 2-element array", ErrProtocol)
	}
	record, rest, err := readBstr(body[1:])
	if err != nil {
		return nil, nil, err
	}
	data, rest, err = readBstr(rest)
	if err != nil {
		return nil, nil, err
	}
	if len(rest) != 0 {
		return nil, nil, fmt.Errorf("%w: %d trailing bytes", ErrProtocol, len(rest))
	}
	if len(data) > MaxSegmentBytes {
		return nil, nil, fmt.Errorf("%w: segment of %d bytes over the %d limit", ErrProtocol, len(data), MaxSegmentBytes)
	}
	return record, data, nil
}
