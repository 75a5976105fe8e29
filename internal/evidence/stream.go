package evidence

import (
	"errors"
	"fmt"
	"io"

	"github.com/camchain/camchain/internal/feedchain"
)

// WriteTo writes the bundle's canonical encoding (exactly Encode's bytes)
// to w, one item at a time, fetching the segment of each clip that has
// none (a bundle Build made with Request.SegmentsLater) from segment just
// before writing it and dropping it after. So a hub serving a bundle holds
// one segment at a time, not the whole bundle twice. It refuses a bundle
// that Encode would refuse before writing anything; a segment that cannot
// be read stops it midway, with an error.
func (b *Bundle) WriteTo(w io.Writer, segment func(seq uint64) ([]byte, error)) (int64, error) {
	return b.writeTo(&countWriter{w: w}, segment)
}

// EncodedLen is the number of bytes WriteTo writes, without reading a
// segment: the size of each clip's segment that the bundle does not hold
// is its record's (which the segment must have to verify). A hub sends it
// as the response's Content-Length, so a client allocates the bundle once.
// If a segment WriteTo then reads is not its record's size, the two
// differ (and that bundle would not verify).
func (b *Bundle) EncodedLen() (int64, error) {
	return b.writeTo(&countWriter{}, nil)
}

// writeTo is WriteTo on cw; a countWriter without a writer only counts,
// and then segment is not called.
func (b *Bundle) writeTo(cw *countWriter, segment func(seq uint64) ([]byte, error)) (int64, error) {
	if err := b.check(); err != nil {
		return 0, err
	}
	if len(b.Reveals) > 0 {
		return 0, errors.New("evidence: WriteTo writes what a hub serves, which reveals no key; Encode a bundle with reveals")
	}
	// A CBOR array's canonical encoding is its head followed by its items'
	// canonical encodings, so the bundle can be written item by item.
	head := appendHead(nil, majorArray, items(b.version()))
	v2 := b.version() != VersionV1 // checkpoints of 9 items
	fields := []any{Label, b.version(), b.LedgerChainID, b.Camera[:], b.Epoch}
	if b.History != nil {
		fields = append(fields, b.History)
	}
	for _, v := range fields {
		enc, err := encMode.Marshal(v)
		if err != nil {
			return cw.n, fmt.Errorf("evidence: encode: %w", err)
		}
		head = append(head, enc...)
	}
	head = appendHead(head, majorArray, uint64(len(b.Checkpoints)))
	if _, err := cw.Write(head); err != nil {
		return cw.n, err
	}
	for i := range b.Checkpoints {
		var v any = &b.Checkpoints[i]
		if v2 {
			v = b.Checkpoints[i].v2()
		}
		if err := cw.marshal(v); err != nil {
			return cw.n, err
		}
	}
	if _, err := cw.Write(appendHead(nil, majorArray, uint64(len(b.Clips)))); err != nil {
		return cw.n, err
	}
	for i := range b.Clips {
		c := b.Clips[i] // a copy: the bundle keeps no segment it did not have
		if c.Segment == nil && cw.w == nil {
			r, err := feedchain.Parse(c.Record)
			if err != nil {
				return cw.n, fmt.Errorf("%w: the record of clip #%d: %w", ErrMalformed, c.LeafIndex, err)
			}
			if r.Size > MaxSegmentBytes {
				return cw.n, fmt.Errorf("%w: segment #%d is %d bytes, over the %d-byte limit", ErrMalformed, c.LeafIndex, r.Size, MaxSegmentBytes)
			}
			if err := cw.clip(&c, int(r.Size)); err != nil {
				return cw.n, err
			}
			continue
		}
		if c.Segment == nil {
			seg, err := segment(c.LeafIndex)
			if err != nil {
				return cw.n, fmt.Errorf("evidence: segment #%d: %w", c.LeafIndex, err)
			}
			if len(seg) > MaxSegmentBytes {
				return cw.n, fmt.Errorf("%w: segment #%d is %d bytes, over the %d-byte limit", ErrMalformed, c.LeafIndex, len(seg), MaxSegmentBytes)
			}
			c.Segment = seg
		}
		if err := cw.clip(&c, len(c.Segment)); err != nil {
			return cw.n, err
		}
	}
	if cw.n > MaxBundleBytes {
		return cw.n, fmt.Errorf("%w: %d bytes, over the %d-byte limit", ErrMalformed, cw.n, MaxBundleBytes)
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.w == nil {
		c.n += int64(len(p))
		return len(p), nil
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// clip writes a clip's canonical encoding without copying its segment
// into an encoder's buffer: the segment is the last item of the clip's
// array, so the clip with an empty segment is encoded, its final 0x40
// (an empty byte string) replaced by the head of a size-byte segment, and
// the segment written as it is — or, counting only (EncodedLen, cl holding
// no segment), counted as size bytes. TestWriteToIsEncode holds it to
// Encode's bytes.
func (c *countWriter) clip(cl *Clip, size int) error {
	seg := cl.Segment
	head := *cl
	head.Segment = []byte{}
	enc, err := encMode.Marshal(&head)
	if err != nil {
		return fmt.Errorf("evidence: encode: %w", err)
	}
	if len(enc) == 0 || enc[len(enc)-1] != 0x40 {
		return fmt.Errorf("evidence: encode: a clip does not end with its segment")
	}
	enc = appendHead(enc[:len(enc)-1], majorBytes, uint64(size))
	if _, err := c.Write(enc); err != nil {
		return err
	}
	if seg == nil {
		c.n += int64(size)
		return nil
	}
	_, err = c.Write(seg)
	return err
}

func (c *countWriter) marshal(v any) error {
	enc, err := encMode.Marshal(v)
	if err != nil {
		return fmt.Errorf("evidence: encode: %w", err)
	}
	_, err = c.Write(enc)
	return err
}
