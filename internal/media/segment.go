package media

import (
	"fmt"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
)

// Segment is one self-contained fMP4 file: an init section (ftyp, moov)
// followed by one fragment (moof, mdat) holding a single H.264 track with
// ID 1 and timescale ClockRate. Its first sample is a keyframe (IDR), so it
// decodes on its own: a browser can play it with <video src> or append it to
// a MediaSource buffer.
type Segment struct {
	// Data is the whole file.
	Data []byte
	// InitLen is the length of the init section at the start of Data; the
	// fragment is Data[InitLen:]. An HLS playlist can address both as byte
	// ranges of one file.
	InitLen int
	// Start is the wall-clock time of the first frame: the segmenter's
	// epoch plus the PTS of the segment's keyframe.
	Start time.Time
	// Duration is the PTS span the segment covers: from its keyframe to the
	// keyframe that starts the next segment. Consecutive segments of an
	// unbroken stream therefore tile: next.Start == Start.Add(Duration). A
	// segment emitted early (Flush, discontinuity, caps) ends one frame
	// duration after its last frame.
	Duration time.Duration
	// Frames is the number of samples (coded pictures).
	Frames int
	// Codec is the RFC 6381 codecs parameter, e.g. "avc1.4d401e".
	Codec string
	// Width and Height are the picture size from the SPS, after cropping.
	Width, Height int
}

// params is what a segment's init section is made from: one SPS/PPS pair and
// everything derived from it.
type params struct {
	sps, pps   []byte
	init       []byte // marshalled fmp4.Init
	codec      string
	width      int
	height     int
	frameTicks int64 // nominal frame duration from the SPS timing info; 0 if absent
}

func newParams(sps, pps []byte) (*params, error) {
	if len(sps) < 4 || len(pps) == 0 {
		return nil, fmt.Errorf("%w: SPS of %d bytes, PPS of %d", ErrInvalidAccessUnit, len(sps), len(pps))
	}
	var info h264.SPS
	if err := info.Unmarshal(sps); err != nil {
		return nil, fmt.Errorf("%w: SPS: %v", ErrInvalidAccessUnit, err)
	}
	init := fmp4.Init{Tracks: []*fmp4.InitTrack{{
		ID:        1,
		TimeScale: ClockRate,
		Codec:     &fmp4.CodecH264{SPS: sps, PPS: pps},
	}}}
	var buf seekablebuffer.Buffer
	if err := init.Marshal(&buf); err != nil {
		return nil, fmt.Errorf("%w: init section: %v", ErrInvalidAccessUnit, err)
	}
	p := &params{
		sps:    sps,
		pps:    pps,
		init:   buf.Bytes(),
		codec:  fmt.Sprintf("avc1.%02x%02x%02x", sps[1], sps[2], sps[3]), // profile_idc, constraint flags, level_idc
		width:  info.Width(),
		height: info.Height(),
	}
	if fps := info.FPS(); fps >= 1 && fps <= 1000 {
		p.frameTicks = int64(ClockRate/fps + 0.5)
	}
	return p, nil
}

// sample is one buffered access unit.
type sample struct {
	pts, dts int64
	key      bool
	payload  []byte // AVCC: NAL units with 4-byte length prefixes
}

// pending is the segment being collected.
type pending struct {
	params  *params
	keyPTS  int64
	samples []sample
	size    int // sum of payload lengths
}

// marshal builds the segment. nextDTS is the DTS of the frame after the last
// sample and endPTS the PTS where the segment ends.
func (p *pending) marshal(seq uint32, baseTime uint64, nextDTS, endPTS int64, epoch time.Time) (Segment, error) {
	samples := make([]*fmp4.Sample, len(p.samples))
	for i, s := range p.samples {
		next := nextDTS
		if i+1 < len(p.samples) {
			next = p.samples[i+1].dts
		}
		samples[i] = &fmp4.Sample{
			Duration:        clampU32(next - s.dts),
			PTSOffset:       clampI32(s.pts - s.dts),
			IsNonSyncSample: !s.key,
			Payload:         s.payload,
		}
	}
	part := fmp4.Part{
		SequenceNumber: seq,
		Tracks: []*fmp4.PartTrack{{
			ID:       1,
			BaseTime: baseTime,
			Samples:  samples,
		}},
	}
	var buf seekablebuffer.Buffer
	buf.Grow(len(p.params.init) + p.size + 64 + 16*len(samples))
	buf.Write(p.params.init) //nolint:errcheck // cannot fail
	if err := part.Marshal(&buf); err != nil {
		return Segment{}, fmt.Errorf("media: marshal fragment: %w", err)
	}
	return Segment{
		Data:     buf.Bytes(),
		InitLen:  len(p.params.init),
		Start:    epoch.Add(ticksToDuration(p.keyPTS)),
		Duration: ticksToDuration(endPTS - p.keyPTS),
		Frames:   len(p.samples),
		Codec:    p.params.codec,
		Width:    p.params.width,
		Height:   p.params.height,
	}, nil
}

// ticksToDuration converts 90 kHz ticks without overflowing for any int64.
func ticksToDuration(t int64) time.Duration {
	return time.Duration(t/ClockRate)*time.Second + time.Duration(t%ClockRate)*time.Second/ClockRate
}

// durationToTicks converts a duration to 90 kHz ticks, rounding down.
func durationToTicks(d time.Duration) int64 {
	return int64(d/time.Second)*ClockRate + int64(d%time.Second)*ClockRate/int64(time.Second)
}

func clampU32(v int64) uint32 {
	switch {
	case v < 0:
		return 0
	case v > 1<<32-1:
		return 1<<32 - 1
	}
	return uint32(v)
}

func clampI32(v int64) int32 {
	switch {
	case v < -1<<31:
		return -1 << 31
	case v > 1<<31-1:
		return 1<<31 - 1
	}
	return int32(v)
}
