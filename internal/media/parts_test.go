package media

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
)

// partsOf runs aus through a Segmenter with parts and returns the segments
// and, for each, the parts emitted for it.
func partsOf(t *testing.T, aus [][][]byte, pts []int64, partDur time.Duration) ([]Segment, [][]Part) {
	t.Helper()
	var segs []Segment
	var parts [][]Part
	var cur, held []Part
	s := &Segmenter{Epoch: t0, Parts: partDur,
		OnPart: func(p Part) {
			// A part's Data is a window on the segment's buffer: it must
			// keep its bytes while later parts are written (held, the
			// slices as given, are compared with the copies below).
			held = append(held, p)
			p.Data = bytes.Clone(p.Data)
			cur = append(cur, p)
		},
		OnSegment: func(sg Segment) error {
			if len(cur) == 0 || !cur[len(cur)-1].Last {
				t.Fatalf("segment %d closed without its last part", len(segs))
			}
			for j, h := range held {
				if !bytes.Equal(h.Data, cur[j].Data) {
					t.Fatalf("segment %d part %d: its Data changed after OnPart", len(segs), j)
				}
			}
			held = nil
			segs, parts, cur = append(segs, sg), append(parts, cur), nil
			return nil
		}}
	if err := s.Initialize(); err != nil {
		t.Fatal(err)
	}
	for i, au := range aus {
		p := int64(i) * sampleFrameTicks
		if pts != nil {
			p = pts[i]
		}
		if err := s.WriteAU(p, au); err != nil {
			t.Fatalf("WriteAU %d: %v", i, err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	return segs, parts
}

// TestSegmenterParts: with parts, every segment's parts concatenate to its
// file byte for byte, each part holds about the part duration of frames,
// part 0 carries the init section, and the segment still decodes.
func TestSegmenterParts(t *testing.T) {
	for _, tc := range []struct {
		name string
		aus  [][][]byte
		pts  []int64
	}{
		{"sample", sampleAUs(t), nil},
		{"bframes", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			aus, pts := tc.aus, tc.pts
			if aus == nil {
				aus, pts = bframesAUs(t)
			}
			segs, parts := partsOf(t, aus, pts, 200*time.Millisecond)
			if len(segs) == 0 {
				t.Fatal("no segment")
			}
			frames := 0
			dir := t.TempDir()
			var whole []byte
			for i, seg := range segs {
				var joined []byte
				n := 0
				for j, p := range parts[i] {
					if p.Index != j || p.Offset != len(joined) || p.Last != (j == len(parts[i])-1) {
						t.Fatalf("segment %d part %d: index %d offset %d last %v (joined %d bytes)", i, j, p.Index, p.Offset, p.Last, len(joined))
					}
					if (j == 0) != (p.InitLen > 0) || j == 0 && p.InitLen != seg.InitLen {
						t.Fatalf("segment %d part %d: InitLen %d, segment's %d", i, j, p.InitLen, seg.InitLen)
					}
					var fr fmp4.Parts
					if err := fr.Unmarshal(p.Data[p.InitLen:]); err != nil || len(fr) != 1 {
						t.Fatalf("segment %d part %d: %d fragments, %v", i, j, len(fr), err)
					}
					if got := len(fr[0].Tracks[0].Samples); got != p.Frames || fr[0].Tracks[0].BaseTime != p.BaseTime {
						t.Fatalf("segment %d part %d: %d samples at %d, part says %d at %d", i, j, got, fr[0].Tracks[0].BaseTime, p.Frames, p.BaseTime)
					}
					// 200 ms at 25 fps: 5 frames, judged by decode time (B-frames
					// make the first DTS steps uneven); the last part of a
					// segment may hold fewer.
					if p.Frames > 6 || p.Frames < 5 && !p.Last {
						t.Errorf("segment %d part %d: %d frames, want 5 or 6", i, j, p.Frames)
					}
					joined = append(joined, p.Data...)
					n += p.Frames
				}
				if !bytes.Equal(joined, seg.Data) {
					t.Fatalf("segment %d: its %d parts (%d bytes) are not its file (%d bytes)", i, len(parts[i]), len(joined), len(seg.Data))
				}
				if n != seg.Frames {
					t.Fatalf("segment %d: parts hold %d frames, segment %d", i, n, seg.Frames)
				}
				frames += n
				if i == 0 {
					whole = append(whole, seg.Data...)
				} else {
					whole = append(whole, seg.Data[seg.InitLen:]...)
				}
			}
			if frames != len(aus) {
				t.Fatalf("%d frames in parts, %d fed", frames, len(aus))
			}
			// ffmpeg decodes the segments, joined, with every frame and no error.
			f := filepath.Join(dir, "all.mp4")
			if err := os.WriteFile(f, whole, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
				"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", f).CombinedOutput()
			if err != nil {
				t.Fatalf("ffprobe: %v: %s", err, out)
			}
			if got := string(bytes.TrimSpace(out)); got != itoa(len(aus)) {
				t.Fatalf("ffprobe decoded %q frames, want %d", got, len(aus))
			}
		})
	}
}

func itoa(n int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}

// TestSegmenterPartsNeedOnPart: parts without a receiver are a
// configuration error.
func TestSegmenterPartsNeedOnPart(t *testing.T) {
	s := &Segmenter{Parts: time.Second, OnSegment: func(Segment) error { return nil }}
	if err := s.Initialize(); err == nil {
		t.Fatal("Parts without OnPart accepted")
	}
}
