package media

import (
	"bytes"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
)

// TestSegmentWrittenInPlaceIsMarshal: without parts, a segment's payloads
// are written into its buffer as they arrive and its init section, moof
// and mdat header before them at the close (in the room left, or by one
// copy when the room is short): the file is byte for byte what
// mediacommon's fmp4.Init.Marshal and Part.Marshal write for the same
// tracks and samples, with and without audio, B-frames, and with no room
// left at all.
func TestSegmentWrittenInPlaceIsMarshal(t *testing.T) {
	baus, bpts := bframesAUs(t)
	for _, tc := range []struct {
		name   string
		aus    [][][]byte
		pts    []int64
		audio  bool
		noRoom bool
	}{
		{"sample", sampleAUs(t), nil, false, false},
		{"sample with audio", sampleAUs(t), nil, true, false},
		{"bframes", baus, bpts, false, false},
		{"no room", sampleAUs(t), nil, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var segs []Segment
			s := &Segmenter{Epoch: t0}
			s.OnSegment = func(sg Segment) error {
				segs = append(segs, sg)
				if tc.noRoom {
					s.lastPrefix = 1 // the next segment's room: 257 bytes, short of its init section
				}
				return nil
			}
			if tc.audio {
				s.Audio = &AudioTrack{Codec: AAC, Config: &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelCount: 1, ChannelConfig: 1}}
			}
			if err := s.Initialize(); err != nil {
				t.Fatal(err)
			}
			if tc.noRoom {
				s.lastPrefix = 1
			}
			apts := int64(0)
			for i, au := range tc.aus {
				vpts := int64(i) * sampleFrameTicks
				if tc.pts != nil {
					vpts = tc.pts[i]
				}
				for tc.audio && apts*ClockRate/48000 < vpts+sampleFrameTicks {
					frame := []byte{0x21, 0x10, byte(apts), byte(apts >> 8), byte(i)}
					if err := s.WriteAudio(apts, frame); err != nil {
						t.Fatal(err)
					}
					apts += 1024
				}
				if err := s.WriteAU(vpts, au); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			if len(segs) < 2 {
				t.Fatalf("%d segments", len(segs))
			}
			frames := 0
			for i, seg := range segs {
				if len(seg.Data) != cap(seg.Data) {
					t.Errorf("segment %d: Data has room past its end (%d of %d): an append would write into the Segmenter's buffer", i, len(seg.Data), cap(seg.Data))
				}
				var init fmp4.Init
				if err := init.Unmarshal(bytes.NewReader(seg.Data[:seg.InitLen])); err != nil {
					t.Fatalf("segment %d: init: %v", i, err)
				}
				var parts fmp4.Parts
				if err := parts.Unmarshal(seg.Data[seg.InitLen:]); err != nil || len(parts) != 1 {
					t.Fatalf("segment %d: %d fragments, %v", i, len(parts), err)
				}
				if want := 1 + btoi(tc.audio); len(parts[0].Tracks) != want || len(init.Tracks) != want {
					t.Fatalf("segment %d: %d tracks in the fragment, %d in init, want %d", i, len(parts[0].Tracks), len(init.Tracks), want)
				}
				var ref seekablebuffer.Buffer
				if err := init.Marshal(&ref); err != nil {
					t.Fatal(err)
				}
				if err := parts[0].Marshal(&ref); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(ref.Bytes(), seg.Data) {
					t.Fatalf("segment %d (%d bytes) is not what fmp4 marshals for its tracks (%d bytes)", i, len(seg.Data), len(ref.Bytes()))
				}
				frames += len(parts[0].Tracks[0].Samples)
				parseAV(t, seg)
			}
			if frames != len(tc.aus) {
				t.Fatalf("%d frames in segments, %d fed", frames, len(tc.aus))
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
