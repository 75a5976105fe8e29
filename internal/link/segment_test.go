package link

import (
	"bytes"
	"testing"
)

// The fast path writes and reads exactly the generic canonical encoding.
func TestSegmentFastPathMatchesGeneric(t *testing.T) {
	for _, n := range []int{0, 1, 23, 24, 255, 256, 65535, 65536, 1 << 20} {
		rec := bytes.Repeat([]byte{7}, 200)
		data := bytes.Repeat([]byte{9}, n)
		var fast, slow bytes.Buffer
		if err := NewConn(&rwWriter{&fast}).WriteSegment(rec, data); err != nil {
			t.Fatal(err)
		}
		if err := NewConn(&rwWriter{&slow}).Write(TypeSegment, &Segment{Record: rec, Data: data}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fast.Bytes(), slow.Bytes()) {
			t.Fatalf("n=%d: fast path encodes differently", n)
		}
		r, d, err := DecodeSegment(fast.Bytes()[5:])
		if err != nil || !bytes.Equal(r, rec) || !bytes.Equal(d, data) {
			t.Fatalf("n=%d: decode: %v", n, err)
		}
		var generic Segment
		if err := Decode(fast.Bytes()[5:], &generic); err != nil {
			t.Fatalf("n=%d: generic decoder refuses the fast encoding: %v", n, err)
		}
	}
}

func TestDecodeSegmentRefuses(t *testing.T) {
	for name, body := range map[string][]byte{
		"empty":            {},
		"map":              {0xa2},
		"3 elements":       {0x83, 0x40, 0x40, 0x40},
		"text":             {0x82, 0x60, 0x40},
		"non-minimal len":  {0x82, 0x58, 0x01, 0x00, 0x40},
		"trailing":         {0x82, 0x40, 0x40, 0x00},
		"short":            {0x82, 0x45, 1, 2},
		"indefinite bytes": {0x82, 0x5f, 0xff, 0x40},
	} {
		if _, _, err := DecodeSegment(body); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

type rwWriter struct{ w *bytes.Buffer }

func (r *rwWriter) Read(p []byte) (int, error)  { return 0, nil }
func (r *rwWriter) Write(p []byte) (int, error) { return r.w.Write(p) }
