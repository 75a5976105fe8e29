package export

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/media"
)

// sampleSegment is the built-in sample's first segment: a real
// self-contained fMP4 segment.
func sampleSegment(t testing.TB) []byte {
	var seg []byte
	stop := errors.New("one")
	src := media.SampleSource{Clock: func() time.Time { return time.Unix(0, 0) }}
	src.Run(context.Background(), func(s media.Segment) error { seg = s.Data; return stop })
	if seg == nil {
		t.Fatal("the sample source gave no segment")
	}
	return seg
}

// FuzzSplitInit: the box reading an export does on untrusted video never
// panics or reads past its input, and a split puts the bytes back whole.
// Seeds: testdata/fuzz/FuzzSplitInit (a real segment's head, truncated and
// oversized boxes) and a whole sample segment.
func FuzzSplitInit(f *testing.F) {
	f.Add(sampleSegment(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		in, frag, ok := SplitInit(b)
		if !ok {
			return
		}
		if !bytes.Equal(append(bytes.Clone(in), frag...), b) {
			t.Fatal("init ‖ fragment is not the segment")
		}
		baseTime(frag) // must not panic
	})
}

// TestSampleSegmentSplits: the sample's segment splits at its moov and its
// fragment's decode time is read.
func TestSampleSegmentSplits(t *testing.T) {
	seg := sampleSegment(t)
	in, frag, ok := SplitInit(seg)
	if !ok || len(in) == 0 || len(frag) == 0 {
		t.Fatalf("split: ok %v, init %d bytes, fragment %d", ok, len(in), len(frag))
	}
	if _, err := baseTime(frag); err != nil {
		t.Fatal(err)
	}
	if _, err := baseTime(in); err == nil {
		t.Error("a decode time read from an init section")
	}
	for _, bad := range [][]byte{nil, seg[:7], seg[:len(in)-1], append([]byte{0, 0, 0, 7}, seg[4:]...), append([]byte{0xff, 0xff, 0xff, 0xff}, seg[4:]...)} {
		if _, _, ok := SplitInit(bad); ok {
			t.Errorf("split %d bytes starting %x", len(bad), bad[:min(8, len(bad))])
		}
	}
}
