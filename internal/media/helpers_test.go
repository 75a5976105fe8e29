package media

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/bits"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
)

// Facts about the committed clips that the tests rely on (see doc.go).
const (
	sampleFrames     = 200
	sampleGOP        = 50
	sampleFrameTicks = ClockRate / 25
	sampleCodec      = "avc1.4d401e"
	bframesFrames    = 75
	bframesGOP       = 25
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func fixedClock() time.Time { return t0 }

func sampleAUs(t testing.TB) [][][]byte {
	t.Helper()
	aus, ticks, err := loadSample()
	if err != nil {
		t.Fatal(err)
	}
	if ticks != sampleFrameTicks {
		t.Fatalf("sample frame duration = %d ticks, want %d", ticks, sampleFrameTicks)
	}
	return aus
}

// bframesAUs returns the B-frame clip's access units and their PTS, computed
// from each picture's order count the way a player would: within a closed
// GOP, display index = POC / 2.
func bframesAUs(t testing.TB) ([][][]byte, []int64) {
	t.Helper()
	stream, err := os.ReadFile("testdata/bframes.h264")
	if err != nil {
		t.Fatal(err)
	}
	aus, err := SplitAccessUnits(stream)
	if err != nil {
		t.Fatal(err)
	}
	var sps h264.SPS
	pts := make([]int64, len(aus))
	gopStart := 0
	for i, au := range aus {
		for _, nalu := range au {
			switch h264.NALUType(nalu[0] & 0x1F) {
			case h264.NALUTypeSPS:
				if err := sps.Unmarshal(nalu); err != nil {
					t.Fatal(err)
				}
			case h264.NALUTypeIDR:
				gopStart = i
				pts[i] = int64(gopStart) * sampleFrameTicks
			case h264.NALUTypeNonIDR:
				pts[i] = int64(gopStart+int(pictureOrderCount(t, nalu, &sps)/2)) * sampleFrameTicks
			}
		}
	}
	return aus, pts
}

// pictureOrderCount reads pic_order_cnt_lsb from a non-IDR slice header
// (H.264 7.3.3, pic_order_cnt_type 0, frame pictures).
func pictureOrderCount(t testing.TB, nalu []byte, sps *h264.SPS) uint64 {
	t.Helper()
	buf := h264.EmulationPreventionRemove(nalu[1:min(len(nalu), 32)])
	pos := 0
	for range 3 { // first_mb_in_slice, slice_type, pic_parameter_set_id
		if _, err := bits.ReadGolombUnsigned(buf, &pos); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bits.ReadBits(buf, &pos, int(sps.Log2MaxFrameNumMinus4+4)); err != nil { // frame_num
		t.Fatal(err)
	}
	poc, err := bits.ReadBits(buf, &pos, int(sps.Log2MaxPicOrderCntLsbMinus4+4))
	if err != nil {
		t.Fatal(err)
	}
	return poc
}

// collect returns an OnSegment that appends to *segs.
func collect(segs *[]Segment) func(Segment) error {
	return func(s Segment) error {
		*segs = append(*segs, s)
		return nil
	}
}

// parsed is a segment read back with mediacommon's fMP4 reader.
type parsed struct {
	init  fmp4.Init
	track *fmp4.PartTrack
	seq   uint32
}

// parseSegment reads seg back and checks the invariants every segment must
// meet: one H.264 track with ID 1 and timescale 90 kHz whose SPS/PPS match
// seg's codec and size, exactly one fragment with one track run of
// seg.Frames samples, and a first sample that is a sync sample.
func parseSegment(t testing.TB, seg Segment) parsed {
	t.Helper()
	if seg.InitLen <= 0 || seg.InitLen >= len(seg.Data) {
		t.Fatalf("InitLen %d of %d bytes", seg.InitLen, len(seg.Data))
	}
	var p parsed
	if err := p.init.Unmarshal(bytes.NewReader(seg.Data[:seg.InitLen])); err != nil {
		t.Fatalf("init section: %v", err)
	}
	if len(p.init.Tracks) != 1 {
		t.Fatalf("init has %d tracks, want 1", len(p.init.Tracks))
	}
	it := p.init.Tracks[0]
	if it.ID != 1 || it.TimeScale != ClockRate {
		t.Fatalf("init track ID %d timescale %d, want 1 and %d", it.ID, it.TimeScale, ClockRate)
	}
	codec, ok := it.Codec.(*fmp4.CodecH264)
	if !ok {
		t.Fatalf("init codec is %T, want H.264", it.Codec)
	}
	if len(codec.SPS) < 4 || len(codec.PPS) == 0 {
		t.Fatalf("init SPS %x PPS %x", codec.SPS, codec.PPS)
	}
	var sps h264.SPS
	if err := sps.Unmarshal(codec.SPS); err != nil {
		t.Fatalf("init SPS: %v", err)
	}
	if got := "avc1." + hex3(codec.SPS[1:4]); got != seg.Codec {
		t.Errorf("Codec %q, init SPS says %q", seg.Codec, got)
	}
	if sps.Width() != seg.Width || sps.Height() != seg.Height {
		t.Errorf("size %dx%d, init SPS says %dx%d", seg.Width, seg.Height, sps.Width(), sps.Height())
	}

	var parts fmp4.Parts
	if err := parts.Unmarshal(seg.Data[seg.InitLen:]); err != nil {
		t.Fatalf("fragment: %v", err)
	}
	if len(parts) != 1 || len(parts[0].Tracks) != 1 {
		t.Fatalf("got %d fragments, want 1 with 1 track", len(parts))
	}
	p.seq = parts[0].SequenceNumber
	p.track = parts[0].Tracks[0]
	if p.track.ID != 1 {
		t.Fatalf("fragment track ID %d, want 1", p.track.ID)
	}
	if len(p.track.Samples) != seg.Frames || seg.Frames == 0 {
		t.Fatalf("fragment has %d samples, Frames = %d", len(p.track.Samples), seg.Frames)
	}
	if p.track.Samples[0].IsNonSyncSample {
		t.Fatal("first sample is not a sync sample")
	}
	for i, s := range p.track.Samples {
		au, err := s.GetH264()
		if err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
		if h264.IsRandomAccess(au) == s.IsNonSyncSample {
			t.Fatalf("sample %d: sync flag %v disagrees with its NAL units", i, !s.IsNonSyncSample)
		}
		for _, nalu := range au {
			switch h264.NALUType(nalu[0] & 0x1F) {
			case h264.NALUTypeSPS, h264.NALUTypePPS, h264.NALUTypeAccessUnitDelimiter:
				t.Fatalf("sample %d holds a NAL unit of type %d", i, nalu[0]&0x1F)
			}
		}
	}
	return p
}

func hex3(b []byte) string {
	const digits = "0123456789abcdef"
	var s []byte
	for _, c := range b {
		s = append(s, digits[c>>4], digits[c&15])
	}
	return string(s)
}

// sumDurations is the total of the sample durations in ticks.
func sumDurations(tr *fmp4.PartTrack) int64 {
	var n int64
	for _, s := range tr.Samples {
		n += int64(s.Duration)
	}
	return n
}
