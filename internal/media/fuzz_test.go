package media

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// The FuzzSegmenter input format, chosen so that the fuzzer can build
// plausible streams as well as garbage:
//
//	byte 0        target: (b%8+1) × 250 ms
//	then records  int16 PTS step in units of 45 ticks (½ ms), big-endian
//	              uint8 NAL unit count, mod 8
//	              per NAL unit: uint16 length, big-endian, then the bytes
//
// A record cut short ends the input.
const fuzzPTSUnit = 45

func decodeFuzz(data []byte) (target time.Duration, pts []int64, aus [][][]byte) {
	if len(data) == 0 {
		return DefaultTarget, nil, nil
	}
	target = time.Duration(data[0]%8+1) * 250 * time.Millisecond
	data = data[1:]
	var p int64
	for len(data) >= 3 {
		p += int64(int16(binary.BigEndian.Uint16(data))) * fuzzPTSUnit
		n := int(data[2] % 8)
		data = data[3:]
		au := [][]byte{}
		for range n {
			if len(data) < 2 {
				return target, pts, aus
			}
			l := int(binary.BigEndian.Uint16(data))
			data = data[2:]
			if len(data) < l {
				return target, pts, aus
			}
			au = append(au, data[:l:l])
			data = data[l:]
		}
		pts = append(pts, p)
		aus = append(aus, au)
	}
	return target, pts, aus
}

// encodeFuzz is the inverse of decodeFuzz, for building seeds from real
// clips. PTS steps must be multiples of fuzzPTSUnit.
func encodeFuzz(target time.Duration, pts []int64, aus [][][]byte) ([]byte, error) {
	out := []byte{byte(target/(250*time.Millisecond) - 1)}
	var prev int64
	for i, au := range aus {
		step := (pts[i] - prev) / fuzzPTSUnit
		if (pts[i]-prev)%fuzzPTSUnit != 0 || step != int64(int16(step)) || len(au) > 7 {
			return nil, fmt.Errorf("access unit %d cannot be encoded", i)
		}
		prev = pts[i]
		out = binary.BigEndian.AppendUint16(out, uint16(int16(step)))
		out = append(out, byte(len(au)))
		for _, n := range au {
			if len(n) > 0xffff {
				return nil, fmt.Errorf("access unit %d: NAL unit of %d bytes", i, len(n))
			}
			out = binary.BigEndian.AppendUint16(out, uint16(len(n)))
			out = append(out, n...)
		}
	}
	return out, nil
}

func FuzzSegmenter(f *testing.F) {
	// The seed corpus is testdata/fuzz/FuzzSegmenter; see TestFuzzSeeds.
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		target, pts, aus := decodeFuzz(data)
		var segs []Segment
		s := &Segmenter{Target: target, Epoch: t0, OnSegment: collect(&segs)}
		if err := s.Initialize(); err != nil {
			t.Fatal(err)
		}
		for i, au := range aus {
			err := s.WriteAU(pts[i], au)
			if err != nil && !errors.Is(err, ErrNoParameterSets) && !errors.Is(err, ErrInvalidAccessUnit) &&
				!errors.Is(err, ErrDiscontinuity) && !errors.Is(err, ErrSegmentTooLarge) {
				t.Fatalf("WriteAU %d: unexpected error %v", i, err)
			}
		}
		if err := s.Flush(); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		for i, seg := range segs {
			if seg.Duration < 0 || seg.Duration > MaxSegmentDuration+time.Second {
				t.Fatalf("segment %d: Duration %v", i, seg.Duration)
			}
			parseSegment(t, seg)
		}
	})
}

// fuzzSeeds builds the FuzzSegmenter seed corpus from the committed clips.
func fuzzSeeds(t *testing.T) map[string][]byte {
	aus := sampleAUs(t)
	bf, bfPTS := bframesAUs(t)
	frames := func(n int) []int64 {
		pts := make([]int64, n)
		for i := range pts {
			pts[i] = int64(i) * sampleFrameTicks
		}
		return pts
	}
	sps, pps := aus[0][0], aus[0][1]
	slice := aus[1][0] // a P slice of the sample
	seeds := map[string]struct {
		target time.Duration
		pts    []int64
		aus    [][][]byte
	}{
		// A real stream with reordering: 30 frames of the B-frame clip, a
		// cut at its second keyframe (1 s), and a partial segment at Flush.
		"bframes-gop": {time.Second, bfPTS[:30], bf[:30]},
		// A keyframe with no parameter sets, then one with them.
		"no-params": {250 * time.Millisecond, frames(3), [][][]byte{bf[0][3:], bf[0], bf[1]}},
		// Parameter sets of one clip, slices of another.
		"mismatched-params": {250 * time.Millisecond, frames(3), [][][]byte{{sps, pps, bf[0][3]}, {slice}, {slice}}},
		// Keyframe, then the largest step forward and a step back.
		"jumps": {250 * time.Millisecond, []int64{0, 3600, 3600 + (1<<15-1)*fuzzPTSUnit, 7200}, [][][]byte{bf[0], bf[1], bf[2], bf[3]}},
		// Empty and AUD-only access units around a keyframe.
		"empties": {2 * time.Second, frames(4), [][][]byte{{}, {{}}, {{0x09, 0xf0}}, bf[0]}},
	}
	out := make(map[string][]byte)
	for name, s := range seeds {
		data, err := encodeFuzz(s.target, s.pts, s.aus)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = []byte("go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n")
	}
	return out
}

var writeSeeds = flag.Bool("write-fuzz-seeds", false, "rewrite the FuzzSegmenter seed corpus")

// TestFuzzSeeds checks that testdata/fuzz/FuzzSegmenter holds the seeds
// fuzzSeeds builds from the current clips. After regenerating the clips, run
//
//	go test ./internal/media -run TestFuzzSeeds -write-fuzz-seeds
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzSegmenter")
	for name, want := range fuzzSeeds(t) {
		path := filepath.Join(dir, name)
		if *writeSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s is stale; rerun with -write-fuzz-seeds", path)
		}
	}
}

func TestFuzzCodec(t *testing.T) {
	aus, pts := bframesAUs(t)
	data, err := encodeFuzz(2*time.Second, pts, aus)
	if err != nil {
		t.Fatal(err)
	}
	target, gotPTS, gotAUs := decodeFuzz(data)
	if target != 2*time.Second || len(gotAUs) != len(aus) {
		t.Fatalf("round trip: target %v, %d access units", target, len(gotAUs))
	}
	for i := range aus {
		if gotPTS[i] != pts[i] || len(gotAUs[i]) != len(aus[i]) {
			t.Fatalf("round trip: access unit %d differs", i)
		}
	}
}
