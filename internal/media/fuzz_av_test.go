package media

import (
	"errors"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// FuzzSegmenterAV drives the H.265 path and the audio track with the
// FuzzSegmenter input format: byte 0's bit 3 picks H.265 (else H.264), and
// an access unit whose first NAL unit starts with 0xFA is instead a run of
// AAC frames (each NAL unit one frame) at its PTS. Whatever comes in, the
// Segmenter only returns its documented errors and every segment it emits
// reads back with sample counts that match.
func FuzzSegmenterAV(f *testing.F) {
	aus, pts, _ := h265AUs(f, "testdata/h265-closed.h265")
	seed := append([][][]byte{}, aus[:30]...)
	seedPTS := append([]int64{}, pts[:30]...)
	seed = append(seed, [][]byte{{0xFA, 1, 2, 3}, {0xFA, 4}})
	seedPTS = append(seedPTS, pts[29]+3600)
	if data, err := encodeFuzz(time.Second, seedPTS, seed); err == nil {
		data[0] |= 8
		f.Add(data)
	}
	f.Add([]byte{8})
	f.Fuzz(func(t *testing.T, data []byte) {
		target, pts, aus := decodeFuzz(data)
		codec := H264
		if len(data) > 0 && data[0]&8 != 0 {
			codec = H265
		}
		cfg := &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelCount: 2, ChannelConfig: 2}
		var segs []Segment
		s := &Segmenter{Target: target, Video: codec, Audio: &AudioTrack{Codec: AAC, Config: cfg}, Epoch: t0, OnSegment: collect(&segs)}
		if err := s.Initialize(); err != nil {
			t.Fatal(err)
		}
		for i, au := range aus {
			if len(au) > 0 && len(au[0]) > 0 && au[0][0] == 0xFA {
				for j, frame := range au {
					if err := s.WriteAudio(pts[i]*48000/ClockRate+int64(j)*1024, frame); err != nil && !errors.Is(err, ErrAudio) {
						t.Fatalf("WriteAudio: %v", err)
					}
				}
				continue
			}
			err := s.WriteAU(pts[i], au)
			if err != nil && !errors.Is(err, ErrNoParameterSets) && !errors.Is(err, ErrInvalidAccessUnit) &&
				!errors.Is(err, ErrDiscontinuity) && !errors.Is(err, ErrSegmentTooLarge) {
				t.Fatalf("WriteAU %d: %v", i, err)
			}
		}
		if err := s.Flush(); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		var next uint64
		for i, seg := range segs {
			if seg.Duration < 0 || seg.Duration > MaxSegmentDuration+time.Second {
				t.Fatalf("segment %d: Duration %v", i, seg.Duration)
			}
			if seg.BaseTime < next {
				t.Fatalf("segment %d starts at %d, before the previous one ended (%d)", i, seg.BaseTime, next)
			}
			p := parseAV(t, seg)
			next = seg.BaseTime + uint64(sumDurations(p.part.Tracks[0])) // the timeline never goes back
		}
	})
}
