package media

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"

	"github.com/camchain/camchain/internal/feedchain"
)

// h265AUs splits an H.265 Annex-B clip into access units (a new one at a
// parameter set or prefix SEI after a picture, or at a slice with
// first_slice_segment_in_pic_flag) and gives them PTS from their picture
// order: within each IRAP period, in display order.
func h265AUs(t testing.TB, path string) ([][][]byte, []int64, []bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var aus [][][]byte
	var cur [][]byte
	seenVCL := false
	for _, n := range bytes.Split(b, []byte{0, 0, 1}) { // the Annex-B start code
		n = bytes.TrimRight(n, "\x00")
		if len(n) < 3 {
			continue
		}
		typ := h265.NALUType((n[0] >> 1) & 0x3F)
		vcl := typ < 32
		if (vcl && seenVCL && n[2]&0x80 != 0) || (!vcl && seenVCL && (typ == h265.NALUType_VPS_NUT || typ == h265.NALUType_SPS_NUT ||
			typ == h265.NALUType_PPS_NUT || typ == h265.NALUType_PREFIX_SEI_NUT || typ == h265.NALUType_AUD_NUT)) {
			aus = append(aus, cur)
			cur, seenVCL = nil, false
		}
		cur = append(cur, n)
		seenVCL = seenVCL || vcl
	}
	aus = append(aus, cur)
	// PTS from each picture's order count: the clips have an IRAP every
	// 25 frames, and POC counts display order from the IRAP.
	pts := make([]int64, len(aus))
	irap := make([]bool, len(aus))
	var sps h265.SPS
	var pps h265.PPS
	gop := -1
	for i, au := range aus {
		for _, n := range au {
			switch h265.NALUType((n[0] >> 1) & 0x3F) {
			case h265.NALUType_SPS_NUT:
				if err := sps.Unmarshal(n); err != nil {
					t.Fatal(err)
				}
			case h265.NALUType_PPS_NUT:
				if err := pps.Unmarshal(n); err != nil {
					t.Fatal(err)
				}
			}
		}
		if h265.IsRandomAccess(au) {
			irap[i] = true
			gop++
		}
		poc := slicePOC(t, au, &sps, &pps)
		pts[i] = int64(gop*25+poc) * ClockRate / 25
	}
	return aus, pts, irap
}

// slicePOC reads slice_pic_order_cnt_lsb of the picture's first slice (0
// for IDR), enough for clips whose IRAP period is below MaxPicOrderCntLsb.
func slicePOC(t testing.TB, au [][]byte, sps *h265.SPS, pps *h265.PPS) int {
	for _, n := range au {
		typ := h265.NALUType((n[0] >> 1) & 0x3F)
		if typ >= 32 {
			continue
		}
		if typ == h265.NALUType_IDR_W_RADL || typ == h265.NALUType_IDR_N_LP {
			return 0
		}
		rbsp := h264.EmulationPreventionRemove(n[2:])
		pos := 1 // first_slice_segment_in_pic_flag
		if typ >= 16 && typ <= 23 {
			pos++ // no_output_of_prior_pics_flag
		}
		readUE(t, rbsp, &pos) // slice_pic_parameter_set_id
		pos += int(pps.NumExtraSliceHeaderBits)
		readUE(t, rbsp, &pos) // slice_type
		if pps.OutputFlagPresentFlag {
			pos++
		}
		if sps.SeparateColourPlaneFlag {
			pos += 2
		}
		bitsN := int(sps.Log2MaxPicOrderCntLsbMinus4) + 4
		v := 0
		for range bitsN {
			v = v<<1 | int(rbsp[pos/8]>>(7-pos%8)&1)
			pos++
		}
		return v
	}
	t.Fatal("no slice")
	return 0
}

func readUE(t testing.TB, b []byte, pos *int) {
	z := 0
	for b[*pos/8]>>(7-*pos%8)&1 == 0 {
		z++
		*pos++
	}
	*pos += z + 1
}

func TestSegmenterH265ClosedGOP(t *testing.T) {
	aus, pts, _ := h265AUs(t, "testdata/h265-closed.h265")
	if len(aus) != 50 {
		t.Fatalf("%d access units", len(aus))
	}
	var segs []Segment
	s := &Segmenter{Video: H265, Target: time.Second, Epoch: t0, OnSegment: collect(&segs)}
	if err := s.Initialize(); err != nil {
		t.Fatal(err)
	}
	for i, au := range aus {
		if err := s.WriteAU(pts[i], au); err != nil {
			t.Fatalf("access unit %d: %v", i, err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(segs) != 2 {
		t.Fatalf("%d segments", len(segs))
	}
	for i, seg := range segs {
		if seg.Frames != 25 || seg.Duration != time.Second || seg.Width != 160 || seg.Height != 96 || seg.Codec != "hvc1.1.6.L30.90" {
			t.Errorf("segment %d: %d frames, %v, %dx%d, %s", i, seg.Frames, seg.Duration, seg.Width, seg.Height, seg.Codec)
		}
		p := parseAV(t, seg)
		if _, ok := p.init.Tracks[0].Codec.(*fmp4.CodecH265); !ok {
			t.Errorf("segment %d: init codec %T", i, p.init.Tracks[0].Codec)
		}
	}
	if !segs[0].Start.Add(segs[0].Duration).Equal(segs[1].Start) {
		t.Error("segments do not tile")
	}
}

// An open-GOP stream: CRA pictures only after the first IDR. Cut at a CRA
// once OpenGOPFactor × Target has passed; a stream joined after its IDR
// starts at a CRA without its leading pictures.
func TestSegmenterH265OpenGOP(t *testing.T) {
	// The clip: IDR at decode index 0, CRAs at 22 (followed by three RASL
	// pictures, which display before it) and 50.
	aus, pts, irap := h265AUs(t, "testdata/h265-open.h265")
	if len(aus) != 75 || !irap[22] || !irap[50] {
		t.Fatalf("%d access units, IRAP at 22 %v, 50 %v", len(aus), irap[22], irap[50])
	}
	for _, tt := range []struct {
		name       string
		from       int
		target     time.Duration
		wantFrames []int
	}{
		// 250 ms target: CRAs cut once 1 s has passed, i.e. at each CRA;
		// the first CRA's 3 RASL pictures are left out (the documented
		// loss), the second has none.
		{"cut at CRAs", 0, 250 * time.Millisecond, []int{22, 25, 25}},
		// Joined at the first CRA, 1 s target: its RASL pictures are left
		// out, and the next CRA, 1 s later, is no cut point (4 × 1 s).
		{"joined late", 22, time.Second, []int{50}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var segs []Segment
			s := &Segmenter{Video: H265, Target: tt.target, Epoch: t0, OnSegment: collect(&segs)}
			if err := s.Initialize(); err != nil {
				t.Fatal(err)
			}
			if tt.from > 0 {
				s.WriteAU(0, aus[0][:3]) // the parameter sets, as an SDP gives them
			}
			for i := tt.from; i < len(aus); i++ {
				if err := s.WriteAU(pts[i], aus[i]); err != nil {
					t.Fatalf("access unit %d: %v", i, err)
				}
			}
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, seg := range segs {
				got = append(got, seg.Frames)
				parseAV(t, seg)
			}
			if len(got) != len(tt.wantFrames) {
				t.Fatalf("frames per segment %v, want %v", got, tt.wantFrames)
			}
			for i := range got {
				if got[i] != tt.wantFrames[i] {
					t.Fatalf("frames per segment %v, want %v", got, tt.wantFrames)
				}
			}
		})
	}
}

// Audio rides along: AAC frames land in the segment that is open, the
// first segment drops audio from before its keyframe, and consecutive
// segments' audio tiles.
func TestSegmenterAudio(t *testing.T) {
	aus := sampleAUs(t)
	var segs []Segment
	cfg := &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelCount: 1, ChannelConfig: 1}
	s := &Segmenter{Epoch: t0, Audio: &AudioTrack{Codec: AAC, Config: cfg}, OnSegment: collect(&segs)}
	if err := s.Initialize(); err != nil {
		t.Fatal(err)
	}
	frame := []byte{0x21, 0x10, 0x05, 0x00, 0xa0, 0x19, 0x33} // any bytes: the segmenter does not decode audio
	apts := int64(-10 * 1024)                                 // audio starts 213 ms before the first keyframe
	for i, au := range aus[:150] {
		vpts := int64(i) * sampleFrameTicks
		for apts*ClockRate/48000 < vpts+sampleFrameTicks {
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
	if len(segs) != 3 {
		t.Fatalf("%d segments", len(segs))
	}
	var next uint64
	for i, seg := range segs {
		if seg.Codec != sampleCodec+",mp4a.40.2" || seg.AudioCodec != "mp4a.40.2" || seg.AudioFrames < 90 || seg.Clock != feedchain.ClockArrival {
			t.Errorf("segment %d: %s, %d audio frames, clock %v", i, seg.Codec, seg.AudioFrames, seg.Clock)
		}
		p := parseAV(t, seg)
		if len(p.part.Tracks) != 2 {
			t.Fatalf("segment %d: %d tracks", i, len(p.part.Tracks))
		}
		a := p.part.Tracks[1]
		if i == 0 && a.BaseTime != 0 {
			t.Errorf("first segment's audio starts at %d, want 0 (the keyframe)", a.BaseTime)
		}
		if i > 0 && a.BaseTime != next {
			t.Errorf("segment %d: audio starts at %d, the previous ended at %d", i, a.BaseTime, next)
		}
		next = a.BaseTime + uint64(len(a.Samples))*1024
	}
}

// avParsed is a segment of any codec, with or without audio, read back.
type avParsed struct {
	init fmp4.Init
	part *fmp4.Part
}

// parseAV reads seg back and checks what every segment must meet: a video
// track 1 at 90 kHz (and an audio track 2 exactly when seg has audio), one
// fragment whose sample counts are seg's, a sync first sample.
func parseAV(t testing.TB, seg Segment) avParsed {
	t.Helper()
	var p avParsed
	if err := p.init.Unmarshal(bytes.NewReader(seg.Data[:seg.InitLen])); err != nil {
		t.Fatalf("init section: %v", err)
	}
	wantTracks := 1
	if seg.AudioFrames > 0 {
		wantTracks = 2
	}
	if len(p.init.Tracks) != wantTracks || p.init.Tracks[0].ID != 1 || p.init.Tracks[0].TimeScale != ClockRate {
		t.Fatalf("init tracks %d (want %d), first %+v", len(p.init.Tracks), wantTracks, p.init.Tracks[0])
	}
	var parts fmp4.Parts
	if err := parts.Unmarshal(seg.Data[seg.InitLen:]); err != nil {
		t.Fatalf("fragment: %v", err)
	}
	if len(parts) != 1 || len(parts[0].Tracks) != wantTracks {
		t.Fatalf("%d fragments", len(parts))
	}
	p.part = parts[0]
	v := p.part.Tracks[0]
	if v.ID != 1 || len(v.Samples) != seg.Frames || v.Samples[0].IsNonSyncSample || v.BaseTime != seg.BaseTime {
		t.Fatalf("video track %d: %d samples for %d frames, base %d for %d", v.ID, len(v.Samples), seg.Frames, v.BaseTime, seg.BaseTime)
	}
	if wantTracks == 2 && (p.part.Tracks[1].ID != 2 || len(p.part.Tracks[1].Samples) != seg.AudioFrames) {
		t.Fatalf("audio track: %d samples for %d", len(p.part.Tracks[1].Samples), seg.AudioFrames)
	}
	return p
}
