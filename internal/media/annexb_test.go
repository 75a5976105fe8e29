package media

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

func naluTypes(au [][]byte) []h264.NALUType {
	var ts []h264.NALUType
	for _, n := range au {
		ts = append(ts, h264.NALUType(n[0]&0x1F))
	}
	return ts
}

func TestSplitAccessUnitsSample(t *testing.T) {
	aus := sampleAUs(t)
	if len(aus) != sampleFrames {
		t.Fatalf("%d access units, want %d", len(aus), sampleFrames)
	}
	for i, au := range aus {
		types := naluTypes(au)
		var want []h264.NALUType
		switch {
		case i == 0:
			want = []h264.NALUType{h264.NALUTypeSPS, h264.NALUTypePPS, h264.NALUTypeSEI, h264.NALUTypeIDR}
		case i%sampleGOP == 0:
			want = []h264.NALUType{h264.NALUTypeSPS, h264.NALUTypePPS, h264.NALUTypeIDR}
		default:
			want = []h264.NALUType{h264.NALUTypeNonIDR}
		}
		if !equalTypes(types, want) {
			t.Fatalf("access unit %d: NAL types %v, want %v", i, types, want)
		}
	}
}

func equalTypes(a, b []h264.NALUType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSplitAccessUnitsBFrames(t *testing.T) {
	aus, pts := bframesAUs(t)
	if len(aus) != bframesFrames {
		t.Fatalf("%d access units, want %d", len(aus), bframesFrames)
	}
	// Display order must be a permutation of 0..74 frames.
	seen := make(map[int64]bool)
	reordered := false
	for i, p := range pts {
		if seen[p] || p%sampleFrameTicks != 0 || p < 0 || p >= bframesFrames*sampleFrameTicks {
			t.Fatalf("frame %d: PTS %d repeated or out of range", i, p)
		}
		seen[p] = true
		if i > 0 && p < pts[i-1] {
			reordered = true
		}
	}
	if !reordered {
		t.Fatal("B-frame clip has no reordering")
	}
}

func TestSplitAccessUnits(t *testing.T) {
	const (
		sps   = "\x67\x4d\x40\x1e"
		pps   = "\x68\xee"
		aud   = "\x09\xf0"
		sei   = "\x06\x05"
		idr0  = "\x65\x88\x01"     // IDR slice, first_mb_in_slice = 0
		idr1  = "\x65\x40\x02"     // IDR slice, first_mb_in_slice = 1
		p0    = "\x41\x9a\x03"     // non-IDR slice, first_mb_in_slice = 0
		p1    = "\x41\x40\x04"     // non-IDR slice, first_mb_in_slice = 1
		sc3   = "\x00\x00\x01"     // 3-byte start code
		sc4   = "\x00\x00\x00\x01" // 4-byte start code
		other = "\x0c\xff"         // filler data
	)
	tests := []struct {
		name string
		in   string
		want [][]string
		err  error
	}{
		{"one picture", sc4 + sps + sc4 + pps + sc3 + idr0, [][]string{{sps, pps, idr0}}, nil},
		{"two pictures", sc4 + idr0 + sc3 + p0, [][]string{{idr0}, {p0}}, nil},
		{"slices of one picture", sc4 + idr0 + sc3 + idr1 + sc3 + p0 + sc3 + p1, [][]string{{idr0, idr1}, {p0, p1}}, nil},
		{"parameter sets start a new unit", sc4 + idr0 + sc4 + sps + sc4 + pps + sc4 + idr0, [][]string{{idr0}, {sps, pps, idr0}}, nil},
		{"AUD starts a new unit", sc4 + aud + sc4 + p0 + sc4 + aud + sc4 + sei + sc4 + p0, [][]string{{aud, p0}, {aud, sei, p0}}, nil},
		{"SEI after a picture", sc3 + p0 + sc3 + sei + sc3 + p0, [][]string{{p0}, {sei, p0}}, nil},
		{"filler stays", sc3 + p0 + sc3 + other + sc3 + p0, [][]string{{p0, other}, {p0}}, nil},
		{"leading zeros", "\x00\x00\x00\x00\x00\x01" + p0, [][]string{{p0}}, nil},
		{"trailing zeros trimmed", sc3 + p0 + "\x00\x00\x00" + sc3 + p0 + "\x00", [][]string{{p0}, {p0}}, nil},
		{"empty NAL units dropped", sc3 + sc3 + p0 + sc3 + "\x00" + sc3 + p0, [][]string{{p0}, {p0}}, nil},
		{"dangling start code", sc3 + p0 + sc3, [][]string{{p0}}, nil},

		{"empty", "", nil, ErrNotAnnexB},
		{"no start code", "\x65\x88\x01", nil, ErrNotAnnexB},
		{"garbage first", "\x01\x00\x00\x01" + p0, nil, ErrNotAnnexB},
		{"one zero", "\x00\x01" + p0, nil, ErrNotAnnexB},
		{"only zeros", "\x00\x00\x00\x00", nil, ErrNotAnnexB},
		{"start code only", sc4, nil, ErrNotAnnexB},
		{"empty units only", sc3 + "\x00" + sc3 + "\x00", nil, ErrNotAnnexB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aus, err := SplitAccessUnits([]byte(tt.in))
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			var got [][]string
			for _, au := range aus {
				var s []string
				for _, n := range au {
					s = append(s, string(n))
				}
				got = append(got, s)
			}
			if !equalUnits(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func equalUnits(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.Join(a[i], "|") != strings.Join(b[i], "|") || len(a[i]) != len(b[i]) {
			return false
		}
	}
	return true
}

func TestSplitAccessUnitsTooManyNALUs(t *testing.T) {
	var in []byte
	in = append(in, "\x00\x00\x01\x65\x88"...)
	for range h264.MaxNALUsPerAccessUnit {
		in = append(in, "\x00\x00\x01\x65\x40"...) // further slices of the same picture
	}
	if _, err := SplitAccessUnits(in); err == nil {
		t.Fatal("accepted a picture of more than h264.MaxNALUsPerAccessUnit NAL units")
	}
}

func FuzzSplitAccessUnits(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x01\x67\x4d\x40\x1e\x00\x00\x01\x68\xee\x00\x00\x01\x65\x88\x00\x00\x01\x41\x9a"))
	f.Add([]byte("\x00\x00\x01"))
	aus := sampleAUs(f)
	var head []byte
	for _, au := range aus[:3] {
		b, err := h264.AnnexB(au).Marshal()
		if err != nil {
			f.Fatal(err)
		}
		head = append(head, b...)
	}
	f.Add(head)

	f.Fuzz(func(t *testing.T, in []byte) {
		aus, err := SplitAccessUnits(in)
		if err != nil {
			if len(aus) != 0 {
				t.Fatal("access units returned with an error")
			}
			return
		}
		if len(aus) == 0 {
			t.Fatal("no access units and no error")
		}
		total := 0
		for _, au := range aus {
			if len(au) == 0 || len(au) > h264.MaxNALUsPerAccessUnit {
				t.Fatalf("access unit of %d NAL units", len(au))
			}
			for _, n := range au {
				if len(n) == 0 || n[len(n)-1] == 0 || bytes.Contains(n, startCode) {
					t.Fatalf("bad NAL unit %x", n)
				}
				total += len(n)
			}
		}
		if total > len(in) {
			t.Fatalf("%d NAL unit bytes from %d input bytes", total, len(in))
		}
	})
}
