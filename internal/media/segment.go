package media

import (
	"fmt"
	"slices"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"

	"github.com/camchain/camchain/internal/feedchain"
)

// Segment is one self-contained fMP4 file: an init section (ftyp, moov)
// followed by one fragment (moof, mdat), or one per part when the Segmenter
// streams parts, holding the video track (ID 1,
// timescale ClockRate) and, when the stream has audio, the audio track
// (ID 2, timescale its sample rate). Its first video sample is a keyframe
// (IDR), so it decodes on its own: a browser can play it with <video src>
// or append it to a MediaSource buffer.
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
	// Clock says where Start comes from: the camera's RTCP sender reports
	// or this machine's clock at arrival.
	Clock feedchain.ClockSource
	// Duration is the PTS span the segment covers: from its keyframe to the
	// keyframe that starts the next segment. Consecutive segments of an
	// unbroken stream therefore tile: next.Start == Start.Add(Duration). A
	// segment emitted early (Flush, discontinuity, caps) ends one frame
	// duration after its last frame.
	Duration time.Duration
	// BaseTime is the video track's decode time (tfdt, 90 kHz) of the
	// first frame: it increases across segments, reconnects included.
	BaseTime uint64
	// Frames is the number of video samples (coded pictures).
	Frames int
	// AudioFrames is the number of audio samples (0 without audio).
	AudioFrames int
	// Codec is the RFC 6381 codecs parameter of the whole file: the video
	// codec, then the audio codec if any, e.g. "avc1.4d401e" or
	// "hvc1.1.6.L93.B0,mp4a.40.2" (what MediaSource.addSourceBuffer takes).
	Codec string
	// VideoCodec and AudioCodec are its parts ("" without audio).
	VideoCodec, AudioCodec string
	// Width and Height are the picture size from the SPS, after cropping.
	Width, Height int
}

// Part is one fragment of the segment being collected, emitted as soon as
// it is complete (Segmenter.Parts), before the segment closes. A
// segment's parts, in order, are its file: part 0 is the init section and
// the first fragment, the others one fragment (moof, mdat) each, and
// their concatenation is Segment.Data byte for byte.
type Part struct {
	// Index is the part's number in its segment, from 0.
	Index int
	// Offset is where Data starts in the segment's file.
	Offset int
	// Data is the part's bytes; Data[:InitLen] is the init section.
	Data    []byte
	InitLen int // 0 but for part 0
	// Last: the segment closes with this part (OnSegment follows).
	Last bool
	// BaseTime is the video decode time (tfdt, 90 kHz) of the part's
	// first frame, Frames its number of video frames.
	BaseTime uint64
	Frames   int
}

// sample is one buffered access unit.
type sample struct {
	pts, dts int64
	key      bool
	n        int    // its payload's length: NAL units with 4-byte length prefixes
	payload  []byte // the payload, with parts; without, it is in pending.data
}

// pending is the segment being collected.
type pending struct {
	params *videoParams
	keyPTS int64
	start  time.Time
	clock  feedchain.ClockSource
	first  bool // the first segment after a break in the timeline
	// craLeading: the segment began at a CRA and no picture but its
	// leading (RASL) ones has come since.
	craLeading bool
	samples    []sample
	size       int // sum of payload lengths

	// Without parts: the segment's file as it is written. The samples'
	// payloads go in as they arrive, from data[head:] on, in order: the
	// fragment's mdat content, to which the audio is added at the close.
	// The init section, the moof and the mdat box header are then written
	// in the room left before them (or, if it is too small, everything is
	// copied into a new buffer once), so that each payload is written once.
	data []byte
	head int

	// With parts (Segmenter.Parts): the init section, written with the
	// first part; the fragments emitted so far, of samples[:emitted], with
	// audioFrames audio frames; their total length; and the video decode
	// time of the first sample.
	init        []byte
	body        []byte // the segment so far: init, then each part's fragment
	parts       int    // how many fragments body holds
	emitted     int
	audioFrames int
	partBytes   int
	baseTime    uint64
}

// initSection marshals the init section for the segment's tracks.
func initSection(v *videoParams, a *audioParams) ([]byte, error) {
	init := fmp4.Init{Tracks: []*fmp4.InitTrack{{ID: 1, TimeScale: ClockRate, Codec: v.fmp4}}}
	if a != nil {
		init.Tracks = append(init.Tracks, &fmp4.InitTrack{ID: 2, TimeScale: uint32(a.rate), Codec: a.fmp4})
	}
	var buf seekablebuffer.Buffer
	if err := init.Marshal(&buf); err != nil {
		return nil, fmt.Errorf("%w: init section: %v", ErrInvalidAccessUnit, err)
	}
	return buf.Bytes(), nil
}

// marshal builds the segment. nextDTS is the DTS of the frame after the last
// sample and endPTS the PTS where the segment ends; audio, if any, starts at
// decode time audioBase. With parts (Segmenter.Parts), the fragments already
// emitted come first and the rest of the samples form the last one. initOf
// gives the init section for the segment's tracks (ap nil: video only).
// Without parts, prefix is the length of what precedes the payloads (the
// init section, the moof, the mdat header); with parts, 0.
func (p *pending) marshal(seq uint32, baseTime uint64, nextDTS, endPTS int64, ap *audioParams, audio []audioSample, audioBase uint64,
	initOf func(*videoParams, *audioParams) ([]byte, error)) (seg Segment, prefix int, err error) {
	if ap != nil && len(audio) == 0 && p.init == nil {
		ap = nil // an audio track with no samples in this segment: leave it out
	}
	init := p.init
	if init == nil {
		if init, err = initOf(p.params, ap); err != nil {
			return Segment{}, 0, err
		}
	}
	var buf []byte
	if p.data != nil {
		buf, prefix = p.inPlace(init, seq, baseTime, nextDTS, ap, audio, audioBase)
	} else {
		// The last fragment goes after the parts already in body (or
		// after the init section), so the segment is written once.
		buf = p.body
		if buf == nil {
			buf = slices.Clip(init) // fragment grows it once, to its size
		}
		buf = p.fragment(buf, seq, baseTime, p.samples[p.emitted:], nextDTS, ap, audio, audioBase)
	}
	p.body, p.data = nil, nil
	seg = Segment{
		Data:       buf,
		InitLen:    len(init),
		Start:      p.start,
		Clock:      p.clock,
		Duration:   ticksToDuration(endPTS - p.keyPTS),
		BaseTime:   p.baseTime,
		Frames:     len(p.samples),
		Codec:      p.params.codec,
		VideoCodec: p.params.codec,
		Width:      p.params.width,
		Height:     p.params.height,
	}
	if ap != nil {
		seg.AudioFrames = p.audioFrames + len(audio)
		seg.AudioCodec = ap.codec
		seg.Codec += "," + ap.codec
	}
	return seg, prefix, nil
}

// inPlace finishes a segment written in data (without parts): the audio
// payloads after the video's, then the init section, the moof and the
// mdat header right before the payloads, in the room left at data's start
// when it suffices. It returns the file and the offset of its first
// payload byte.
func (p *pending) inPlace(init []byte, seq uint32, baseTime uint64, nextDTS int64, ap *audioParams, audio []audioSample, audioBase uint64) ([]byte, int) {
	buf := p.data
	if ap != nil {
		for _, a := range audio {
			buf = append(buf, a.payload...)
		}
	}
	// The samples' payloads as windows on buf, where they are: only
	// their lengths go into the header.
	at := p.head
	for i := range p.samples {
		p.samples[i].payload = buf[at : at+p.samples[i].n : at+p.samples[i].n]
		at += p.samples[i].n
	}
	tracks := p.tracks(baseTime, p.samples, nextDTS, ap, audio, audioBase)
	prefix := len(init) + fragmentHeaderLen(tracks)
	if prefix > p.head {
		// More frames than the room was made for: one copy.
		out := make([]byte, 0, prefix+len(buf)-p.head)
		out = appendFragmentHeader(append(out, init...), seq, tracks)
		return append(out, buf[p.head:]...), prefix
	}
	start := p.head - prefix
	hdr := appendFragmentHeader(append(buf[start:start], init...), seq, tracks)
	if len(hdr) != prefix {
		panic("media: fragment header length") // fragmentHeaderLen and appendFragmentHeader disagree
	}
	return buf[start:len(buf):len(buf)], prefix
}

// fragment appends to dst one fragment (moof, mdat) of samples, the video
// track starting at decode time baseTime; nextDTS is the DTS of the frame
// after the last sample (its duration). The fragment is the returned
// slice's bytes past len(dst).
func (p *pending) fragment(dst []byte, seq uint32, baseTime uint64, samples []sample, nextDTS int64, ap *audioParams, audio []audioSample, audioBase uint64) []byte {
	tracks := p.tracks(baseTime, samples, nextDTS, ap, audio, audioBase)
	_, size := fragmentSizes(tracks)
	return appendFragment(slices.Grow(dst, size+fragmentSlack(len(samples), len(audio))), seq, tracks)
}

// tracks describes a fragment of samples (their payloads set) and audio.
func (p *pending) tracks(baseTime uint64, samples []sample, nextDTS int64, ap *audioParams, audio []audioSample, audioBase uint64) []fragmentTrack {
	vs := make([]*fmp4.Sample, len(samples))
	for i, s := range samples {
		next := nextDTS
		if i+1 < len(samples) {
			next = samples[i+1].dts
		}
		vs[i] = &fmp4.Sample{
			Duration:        clampU32(next - s.dts),
			PTSOffset:       clampI32(s.pts - s.dts),
			IsNonSyncSample: !s.key,
			Payload:         s.payload,
		}
	}
	tracks := []fragmentTrack{{id: 1, base: baseTime, samples: vs}}
	if ap != nil && len(audio) > 0 {
		as := make([]*fmp4.Sample, len(audio))
		for i, a := range audio {
			d := ap.nominal(a.payload)
			if i+1 < len(audio) {
				// The RTP timestamps, where they are plausible, so that
				// audio stays in step with video across packet loss.
				if gap := audio[i+1].pts - a.pts; gap > 0 && gap <= 4*d {
					d = gap
				}
			}
			as[i] = &fmp4.Sample{Duration: clampU32(d), Payload: a.payload}
		}
		tracks = append(tracks, fragmentTrack{id: 2, base: audioBase, samples: as})
	}
	return tracks
}

// fragmentSlack bounds a fragment's boxes (moof, trafs, truns, mdat
// header) beyond its payload, so that its buffer is sized once.
func fragmentSlack(video, audio int) int { return 256 + 16*video + 16*audio }

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
