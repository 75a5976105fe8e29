package export

import (
	"encoding/binary"
	"errors"
)

// SplitInit splits a self-contained segment after its leading ftyp and
// moov boxes: the init section and the fragment. ok is false when the
// segment does not start with both.
func SplitInit(seg []byte) (init, frag []byte, ok bool) {
	off := 0
	for _, want := range []string{"ftyp", "moov"} {
		size, typ, ok := box(seg[off:])
		if !ok || typ != want {
			return nil, nil, false
		}
		off += size
	}
	return seg[:off], seg[off:], true
}

// box reads the header of the box at the start of b: its whole size and
// type. It refuses a size below the header, past b, or a 64-bit or
// to-the-end size (segments never use them).
func box(b []byte) (size int, typ string, ok bool) {
	if len(b) < 8 {
		return 0, "", false
	}
	n := binary.BigEndian.Uint32(b)
	if n < 8 || uint64(n) > uint64(len(b)) {
		return 0, "", false
	}
	return int(n), string(b[4:8]), true
}

var errNoBaseTime = errors.New("no moof/traf/tfdt in the fragment")

// baseTime returns the decode time (tfdt) of the first track fragment of
// the fragment's first moof: where the fragment sits on the media
// timeline.
func baseTime(frag []byte) (uint64, error) {
	moof, err := child(frag, "moof")
	if err != nil {
		return 0, err
	}
	traf, err := child(moof, "traf")
	if err != nil {
		return 0, err
	}
	tfdt, err := child(traf, "tfdt")
	if err != nil {
		return 0, err
	}
	if len(tfdt) < 4 {
		return 0, errNoBaseTime
	}
	switch v, body := tfdt[0], tfdt[4:]; {
	case v == 0 && len(body) >= 4:
		return uint64(binary.BigEndian.Uint32(body)), nil
	case v == 1 && len(body) >= 8:
		return binary.BigEndian.Uint64(body), nil
	}
	return 0, errNoBaseTime
}

// child returns the payload of the first box of type typ among the boxes
// that fill b.
func child(b []byte, typ string) ([]byte, error) {
	for len(b) > 0 {
		size, t, ok := box(b)
		if !ok {
			return nil, errNoBaseTime
		}
		if t == typ {
			return b[8:size], nil
		}
		b = b[size:]
	}
	return nil, errNoBaseTime
}
