package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"

	"github.com/camchain/camchain/internal/feedchain"
)

// Errors WriteAU returns. Each means the access unit was dropped: the segment
// being collected was emitted early, ending before the dropped unit, and the
// next keyframe starts a new one (frames in between depend on what was
// dropped and are skipped). Log them and go on feeding the stream.
var (
	// ErrNotInitialized is returned by a Segmenter used before Initialize.
	ErrNotInitialized = errors.New("media: segmenter not initialized")
	// ErrNoParameterSets: a keyframe arrived before any SPS and PPS (and,
	// for H.265, VPS). Supply out-of-band parameter sets (an RTSP SDP's
	// sprop-parameter-sets) by writing them as an access unit of their own
	// before the first one.
	ErrNoParameterSets = errors.New("media: keyframe before its parameter sets")
	// ErrInvalidAccessUnit: an SPS that does not parse, or an access unit
	// whose DTS cannot be derived (the DTS extractor rejected it).
	ErrInvalidAccessUnit = errors.New("media: invalid access unit")
	// ErrDiscontinuity: a frame whose PTS is before the current segment's
	// keyframe or more than MaxSegmentDuration after it. (A keyframe with
	// such a PTS is not dropped: it starts a new segment.)
	ErrDiscontinuity = errors.New("media: timestamp discontinuity")
	// ErrSegmentTooLarge: a frame would take the segment past
	// MaxSegmentBytes or MaxSegmentFrames.
	ErrSegmentTooLarge = errors.New("media: segment too large")
)

// maxAudioBeforeKey bounds the audio kept while waiting for the first
// keyframe: about 2 to 4 s.
const maxAudioBeforeKey = 200

// Timeline is where a stream's media time and wall clock stand after the
// last segment: what a Segmenter for the next connection to the same
// camera continues from (Segmenter.Resume), so that timestamps increase
// monotonically across reconnects and a gap in the wall clock is a gap in
// media time too.
type Timeline struct {
	Next    uint64    // fMP4 decode time (90 kHz) at which the last segment ended
	WallEnd time.Time // wall-clock end of the last segment; zero before any
	Seq     uint32    // fMP4 fragment sequence number of the last segment
}

// OpenGOPFactor: in an H.265 stream that sends no IDR pictures (an open-GOP
// encoder, which sends an IDR only at its start), a CRA picture ends a
// segment once the segment has lasted OpenGOPFactor × Target, and starts
// the first segment of a stream joined after its IDR. The CRA's leading
// (RASL) pictures reference the GOP before it, so a segment starting at a
// CRA could not decode them on its own: they are left out (a few frames,
// typically the B-frames of one mini-GOP, at each such cut). Streams with
// IDR pictures lose nothing and are cut only on IDR.
const OpenGOPFactor = 4

// Segmenter cuts a stream of video access units (H.264 or H.265), with an
// optional AAC or Opus audio track, into self-contained fMP4 segments (see
// Segment) that each start with a keyframe and last at least Target, as far
// as the stream's keyframes allow.
//
// Feed it video access units in decode order with WriteAU (or WriteVideo)
// and audio frames with WriteAudio; it calls OnSegment from inside those and
// Flush whenever a segment is finished. A segment is finished when the first
// keyframe at least Target after its own keyframe arrives (so with a 2 s GOP
// and a 2 s target every segment is one GOP), or early when the parameter
// sets change, on a discontinuity, at a cap in limits.go, and at Flush.
//
// Keyframes are IDR pictures, judged by PTS (never DTS, which B-frames
// offset). For H.265 a CRA picture is a keyframe only as OpenGOPFactor
// describes. Access units before the first keyframe are dropped: a segment
// must decode on its own. Parameter sets and access unit delimiters are
// removed from the samples; the segment's init section carries the ones in
// force at its keyframe.
//
// Timestamps in the fragment (tfdt) count 90 kHz ticks of decode time (audio
// in its sample rate) from the start of Resume's timeline; after Flush or an
// early cut the next segment starts at the previous one's end plus the wall
// clock's gap, so they never go back.
//
// A Segmenter is not safe for concurrent use.
type Segmenter struct {
	// Target is the minimum segment duration; zero means DefaultTarget.
	Target time.Duration
	// Video is the video codec; the zero value is H264.
	Video VideoCodec
	// Audio, if set, is the audio track that WriteAudio feeds.
	Audio *AudioTrack
	// Epoch is the wall-clock time of PTS 0; segment Start times are Epoch
	// plus the keyframe's PTS. If zero, it is set at the first access unit
	// (after Initialize or Flush) to Clock() minus that unit's PTS, unless
	// WriteVideo is given the camera's clock (RTCP).
	Epoch time.Time
	// Clock reads the wall clock; nil means time.Now.
	Clock func() time.Time
	// Resume is the timeline to continue (a previous Segmenter's
	// Timeline()); zero starts at 0.
	Resume Timeline
	// OnSegment receives each finished segment. Required. An error it
	// returns is returned by the call that finished the segment; the
	// segment is not offered again.
	OnSegment func(Segment) error
	// Parts, if above zero, is the target duration of a part: the
	// segment's frames are emitted to OnPart as fragments of about this
	// length (judged by decode time) as they arrive, each once the frame
	// after it has come, and the segment's file is their concatenation
	// (an init section, then one fragment per part). With parts, an audio
	// track given in Audio is declared in every segment's init section,
	// whether or not audio arrives. Zero: one fragment per segment, no
	// parts.
	Parts time.Duration
	// OnPart receives each part; it must not keep Data past the next
	// call into the Segmenter and must not fail the segment (a part is a
	// preview; the segment follows). Required with Parts.
	OnPart func(Part)
	// OnFrame, if set, hears the decode time (tfdt, 90 kHz) of each video
	// frame as a segment takes it.
	OnFrame func(decodeTime uint64)

	target     int64 // Target in ticks
	partTicks  int64 // Parts in ticks
	lastSize   int   // the last segment's length: the next one's buffer size
	lastPrefix int   // the last segment's bytes before its payloads (without parts)
	initParams *videoParams
	initCache  [2][]byte // init sections for initParams: video only, with audio
	maxTicks   int64     // MaxSegmentDuration in ticks
	audio      *audioParams
	epoch      time.Time
	epochSet   bool
	clock      feedchain.ClockSource
	vps        []byte // latest parameter sets seen (copies)
	sps, pps   []byte
	params     *videoParams
	extractor  dtsExtractor
	origin     int64 // DTS that maps to tfdt 0
	originSet  bool
	timeline   Timeline
	accepted   uint64 // pictures taken into segments, ever
	cur        *pending
	audioBuf   []audioSample
	frame      [][]byte // scratch: the access unit without parameter sets
	withParams [][]byte // scratch: parameter sets, frame, for the DTS extractor
}

// Initialize checks the configuration and readies the Segmenter.
func (s *Segmenter) Initialize() error {
	if s.OnSegment == nil {
		return errors.New("media: Segmenter.OnSegment is nil")
	}
	if s.Target == 0 {
		s.Target = DefaultTarget
	}
	if s.Target < 0 || s.Target > MaxSegmentDuration {
		return fmt.Errorf("media: Segmenter.Target %v outside (0, %v]", s.Target, MaxSegmentDuration)
	}
	if s.Video != H264 && s.Video != H265 {
		return fmt.Errorf("media: unknown video codec %v", s.Video)
	}
	if s.Audio != nil {
		p, err := s.Audio.params()
		if err != nil {
			return err
		}
		s.audio = p
	}
	if s.Clock == nil {
		s.Clock = time.Now
	}
	s.target = durationToTicks(s.Target)
	if s.Parts < 0 || s.Parts > 0 && s.OnPart == nil {
		return fmt.Errorf("media: Segmenter.Parts %v needs an OnPart", s.Parts)
	}
	s.partTicks = durationToTicks(s.Parts)
	s.maxTicks = durationToTicks(MaxSegmentDuration)
	s.timeline = s.Resume
	s.reset()
	return nil
}

// Accepted counts the pictures taken into segments so far: a source whose
// camera sends packets but no usable video sees it stand still.
func (s *Segmenter) Accepted() uint64 { return s.accepted }

// Timeline returns where the stream stands after the last segment emitted.
func (s *Segmenter) Timeline() Timeline { return s.timeline }

// reset forgets the stream: timestamps, parameter sets and buffered frames.
func (s *Segmenter) reset() {
	s.epoch, s.epochSet = s.Epoch, !s.Epoch.IsZero()
	s.clock = feedchain.ClockArrival
	s.vps, s.sps, s.pps, s.params = nil, nil, nil, nil
	s.extractor = s.Video.newExtractor()
	s.originSet = false
	s.cur = nil
	s.audioBuf = s.audioBuf[:0]
}

// WriteAU is WriteVideo without the camera's clock.
func (s *Segmenter) WriteAU(pts int64, au [][]byte) error { return s.WriteVideo(pts, time.Time{}, au) }

// WriteVideo adds one video access unit: its NAL units without start codes,
// its PTS in 90 kHz ticks (what gortsplib's Client.PacketPTS returns), and,
// when the camera's RTCP sender reports give it, the wall-clock time of that
// PTS (Client.PacketNTP); zero if not. Units must come in decode order.
// WriteVideo copies what it keeps; the caller may reuse au.
//
// The first wall-clock time given anchors the stream's epoch: segments from
// the next keyframe on take their Start from the camera's clock and say so
// (feedchain.ClockRTCP); before that they take it from this machine's clock
// at arrival (feedchain.ClockArrival).
//
// Units with no coded picture add no frame, but their parameter sets are
// remembered. A returned error means this unit was dropped (see the Err
// variables) or OnSegment failed; the Segmenter stays usable either way.
func (s *Segmenter) WriteVideo(pts int64, ntp time.Time, au [][]byte) error {
	if s.extractor == nil {
		return ErrNotInitialized
	}
	s.frame = s.frame[:0]
	hasPicture, idr, cra, rasl := false, false, false, false
	for _, nalu := range au {
		if len(nalu) == 0 {
			continue
		}
		if err := s.Video.checkHeader(nalu); err != nil {
			return s.drop(err)
		}
		switch s.Video.classify(nalu) {
		case nalVPS:
			if !bytes.Equal(nalu, s.vps) {
				s.vps = slices.Clone(nalu)
			}
		case nalSPS:
			if !bytes.Equal(nalu, s.sps) {
				if err := s.checkSPS(nalu); err != nil {
					return s.drop(err)
				}
				s.sps = slices.Clone(nalu)
			}
		case nalPPS:
			if !bytes.Equal(nalu, s.pps) {
				s.pps = slices.Clone(nalu)
			}
		case nalDrop:
		case nalIDR:
			hasPicture, idr = true, true
			s.frame = append(s.frame, nalu)
		case nalCRA:
			hasPicture, cra = true, true
			s.frame = append(s.frame, nalu)
		case nalRASL:
			hasPicture, rasl = true, true
			s.frame = append(s.frame, nalu)
		case nalPicture:
			hasPicture = true
			s.frame = append(s.frame, nalu)
		default:
			s.frame = append(s.frame, nalu)
		}
	}
	if !hasPicture {
		return nil
	}
	if !s.epochSet {
		// At the first picture (not at a unit of parameter sets only,
		// which a source may write long before the first frame).
		if !ntp.IsZero() {
			s.epoch, s.clock = ntp.Add(-ticksToDuration(pts)), feedchain.ClockRTCP
		} else {
			s.epoch = s.Clock().Add(-ticksToDuration(pts))
		}
		s.epochSet = true
	}
	key := idr
	if cra && !idr {
		// An open-GOP H.265 stream: a CRA is a cut point only once the
		// segment has run long without an IDR (see OpenGOPFactor).
		key = s.cur == nil || pts-s.cur.keyPTS >= OpenGOPFactor*s.target
	}
	if s.cur == nil && !key {
		return nil // waiting for a keyframe
	}
	if s.cur != nil && !key {
		if rasl && s.cur.craLeading {
			return nil // a leading picture of the CRA that began the segment: undecodable in it
		}
		s.cur.craLeading = false
	}
	if len(s.frame) > h264.MaxNALUsPerAccessUnit-3 || len(s.frame) > h265.MaxNALUsPerAccessUnit-3 {
		return s.drop(fmt.Errorf("%w: %d NAL units", ErrInvalidAccessUnit, len(s.frame)))
	}

	var errs []error // from OnSegment
	if s.cur != nil {
		if d := pts - s.cur.keyPTS; d < 0 || d > s.maxTicks {
			// The timestamps jumped (a camera clock reset, a stall): the
			// DTS history is worthless and the segment ends here.
			s.extractor = s.Video.newExtractor()
			if !key {
				return s.drop(fmt.Errorf("%w: PTS %d is %v from the segment's keyframe", ErrDiscontinuity, pts, ticksToDuration(d)))
			}
			errs = append(errs, s.closeEarly())
		}
	}

	if key {
		if s.sps == nil || s.pps == nil || (s.Video == H265 && s.vps == nil) {
			return s.drop(ErrNoParameterSets)
		}
		if s.params == nil || !bytes.Equal(s.sps, s.params.sps) || !bytes.Equal(s.pps, s.params.pps) || !bytes.Equal(s.vps, s.params.vps) {
			p, err := s.Video.parseParams(s.vps, s.sps, s.pps)
			if err != nil {
				return errors.Join(append(errs, s.drop(err))...)
			}
			s.params = p
		}
		if err := s.Video.checkKeySlices(s.frame, s.params.ppsID); err != nil {
			return errors.Join(append(errs, s.drop(err))...)
		}
	}

	// The DTS extractor needs the parameter sets in front of each keyframe;
	// streams that send them only out of band, or only once, lack them.
	in := s.frame
	if key {
		s.withParams = s.withParams[:0]
		if s.Video == H265 {
			s.withParams = append(s.withParams, s.vps)
		}
		s.withParams = append(append(s.withParams, s.sps, s.pps), s.frame...)
		in = s.withParams
	}
	dts, err := s.extractor.Extract(in, pts)
	if err != nil && key {
		// A keyframe needs no history: end the segment and start afresh
		// from it rather than lose a whole GOP.
		errs = append(errs, s.closeEarly())
		s.extractor = s.Video.newExtractor()
		dts, err = s.extractor.Extract(in, pts)
	}
	if err != nil {
		s.extractor = s.Video.newExtractor()
		return errors.Join(append(errs, s.drop(fmt.Errorf("%w: %v", ErrInvalidAccessUnit, err)))...)
	}
	n := avccLen(s.frame)

	if s.cur != nil {
		switch {
		case s.cur.size+n > MaxSegmentBytes || len(s.cur.samples) >= MaxSegmentFrames:
			if !key {
				return errors.Join(append(errs, s.drop(fmt.Errorf("%w: %d frames, %d bytes without a keyframe",
					ErrSegmentTooLarge, len(s.cur.samples), s.cur.size)))...)
			}
			errs = append(errs, s.closeEarly())
		case key && (pts-s.cur.keyPTS >= s.target || s.params != s.cur.params):
			errs = append(errs, s.close(dts, pts))
		}
	}
	if c := s.cur; c != nil && s.partTicks > 0 && c.emitted < len(c.samples) && dts-c.samples[c.emitted].dts >= s.partTicks {
		if err := s.emitPart(dts); err != nil {
			return errors.Join(append(errs, s.drop(err))...)
		}
	}

	if s.cur == nil { // key is true here
		if !ntp.IsZero() && s.clock != feedchain.ClockRTCP {
			// The camera's clock became known: from this keyframe on,
			// wall-clock times are the camera's.
			s.epoch, s.clock = ntp.Add(-ticksToDuration(pts)), feedchain.ClockRTCP
		}
		start := s.epoch.Add(ticksToDuration(pts))
		first := !s.originSet
		if first {
			base := int64(s.timeline.Next)
			if !s.timeline.WallEnd.IsZero() {
				if gap := start.Sub(s.timeline.WallEnd); gap > 0 {
					base += durationToTicks(gap)
				}
			}
			s.origin, s.originSet = dts-base, true
		}
		s.cur = &pending{params: s.params, keyPTS: pts, start: start, clock: s.clock, first: first, craLeading: !idr}
		if s.partTicks == 0 {
			// Room for the init section and the moof of a segment like
			// the last one, and more; the payloads after it.
			head := 4096
			if s.lastPrefix > 0 {
				head = s.lastPrefix + s.lastPrefix/4 + 256
			}
			s.cur.data, s.cur.head = make([]byte, head, head+max(s.lastSize+s.lastSize/8, 64<<10)), head
		}
	}
	smp := sample{pts: pts, dts: dts, key: key, n: n}
	if s.cur.data != nil {
		s.cur.data = appendAVCC(s.cur.data, s.frame)
	} else {
		smp.payload = appendAVCC(make([]byte, 0, n), s.frame)
	}
	s.cur.samples = append(s.cur.samples, smp)
	s.cur.size += n
	s.accepted++
	if s.OnFrame != nil {
		s.OnFrame(uint64(dts - s.origin))
	}
	return errors.Join(errs...)
}

// initOf returns the init section for a segment with parameters v and
// audio a (nil: video only), marshalled once for each (the same bytes
// every time; callers copy them, never write them).
func (s *Segmenter) initOf(v *videoParams, a *audioParams) ([]byte, error) {
	if v != s.initParams {
		s.initParams, s.initCache = v, [2][]byte{}
	}
	i := 0
	if a != nil {
		i = 1
	}
	if s.initCache[i] == nil {
		init, err := initSection(v, a)
		if err != nil {
			return nil, err
		}
		s.initCache[i] = slices.Clip(init)
	}
	return s.initCache[i], nil
}

// avccLen is the length of an access unit's NAL units with 4-byte length
// prefixes (AVCC, the layout of an fMP4 sample for H.264 and H.265).
func avccLen(au [][]byte) int {
	n := 0
	for _, nalu := range au {
		n += 4 + len(nalu)
	}
	return n
}

// appendAVCC appends au's NAL units with 4-byte length prefixes: what
// mediacommon's h264.AVCC.Marshal returns, written straight into dst.
func appendAVCC(dst []byte, au [][]byte) []byte {
	for _, nalu := range au {
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(nalu)))
		dst = append(dst, nalu...)
	}
	return dst
}

// checkSPS parses a new SPS, so that a broken one is refused at once.
func (s *Segmenter) checkSPS(nalu []byte) error {
	var err error
	if s.Video == H265 {
		var info h265.SPS
		err = info.Unmarshal(nalu)
	} else {
		var info h264.SPS
		err = info.Unmarshal(nalu)
	}
	if err != nil {
		return fmt.Errorf("%w: SPS: %v", ErrInvalidAccessUnit, err)
	}
	return nil
}

// WriteAudio adds one audio frame (an AAC access unit or an Opus packet)
// with its PTS in the audio track's clock (its sample rate; 48 kHz for
// Opus), on the same time axis as the video's PTS (as gortsplib gives it).
// Frames go into the segment that is open when they arrive (or, before the
// first keyframe, the first segment); frames earlier than the first
// keyframe are dropped, like video. WriteAudio copies the frame.
func (s *Segmenter) WriteAudio(pts int64, frame []byte) error {
	if s.extractor == nil {
		return ErrNotInitialized
	}
	if s.audio == nil {
		return errors.New("media: WriteAudio on a Segmenter without an audio track")
	}
	if len(frame) == 0 || len(frame) > MaxAudioFrameBytes {
		return fmt.Errorf("%w: %d bytes", ErrAudio, len(frame))
	}
	if s.cur == nil && len(s.audioBuf) >= maxAudioBeforeKey {
		// No keyframe yet: keep only the latest frames, those a keyframe
		// about to come may need (senders interleave by decode time, so
		// audio often arrives ahead of the video it goes with).
		s.audioBuf = append(s.audioBuf[:0], s.audioBuf[len(s.audioBuf)/2:]...)
	}
	if len(s.audioBuf) >= MaxAudioFrames {
		return fmt.Errorf("%w: %d frames buffered", ErrAudio, len(s.audioBuf))
	}
	s.audioBuf = append(s.audioBuf, audioSample{pts: pts, payload: slices.Clone(frame)})
	return nil
}

// drop is how WriteAU gives up on an access unit: later frames may reference
// it, so the current segment ends before it and the Segmenter waits for the
// next keyframe. It returns why, joined with any error from OnSegment.
func (s *Segmenter) drop(why error) error {
	return errors.Join(why, s.closeEarly())
}

// Flush ends the stream: it emits the buffered frames as a final segment,
// which may be shorter than Target, and forgets the stream (timestamps,
// parameter sets, and Epoch if it was derived), so the Segmenter can take a
// new one, e.g. after an RTSP reconnect. The timeline goes on: the next
// segment starts no earlier than this one ends.
//
// Flush emits rather than drops the partial segment because it holds real,
// decodable video (often the most interesting seconds: those before a camera
// went offline), and the agent must never lose footage it has. Its last frame
// is given the nominal frame duration from the SPS (or the previous frame's
// duration, or 1/25 s).
func (s *Segmenter) Flush() error {
	if s.extractor == nil {
		return ErrNotInitialized
	}
	err := s.closeEarly()
	s.reset()
	return err
}

// close finishes the current segment at the keyframe with the given DTS and
// PTS, which starts the next one.
func (s *Segmenter) close(nextDTS, nextPTS int64) error {
	p := s.cur
	s.cur = nil
	s.timeline.Seq++
	audio, audioBase := s.takeAudio(p, nextPTS)
	if s.partTicks > 0 && p.init == nil {
		init, err := s.initOf(p.params, s.audio)
		if err != nil {
			return err
		}
		p.init = init
	}
	p.baseTime = uint64(p.samples[0].dts - s.origin)
	seg, prefix, err := p.marshal(s.timeline.Seq, uint64(p.samples[p.emitted].dts-s.origin), nextDTS, nextPTS, s.audio, audio, audioBase, s.initOf)
	if err != nil {
		return err
	}
	s.lastSize, s.lastPrefix = len(seg.Data), prefix
	s.timeline.Next = uint64(nextDTS - s.origin)
	s.timeline.WallEnd = seg.Start.Add(seg.Duration)
	if s.partTicks > 0 {
		off := len(p.init) + p.partBytes
		part := Part{Index: p.parts, Offset: off, Data: seg.Data[off:], Last: true,
			BaseTime: uint64(p.samples[p.emitted].dts - s.origin), Frames: len(p.samples) - p.emitted}
		if part.Index == 0 {
			part.Offset, part.Data, part.InitLen = 0, seg.Data, len(p.init)
		}
		s.OnPart(part)
	}
	return s.OnSegment(seg)
}

// emitPart emits the frames of the current segment not yet in a part as
// its next part; nextDTS is the decode time of the frame after them.
func (s *Segmenter) emitPart(nextDTS int64) error {
	p := s.cur
	if p.init == nil {
		init, err := s.initOf(p.params, s.audio)
		if err != nil {
			return err
		}
		p.init = init
	}
	if p.body == nil {
		// Sized for a segment like the last one, so that it rarely grows.
		p.body = append(make([]byte, 0, max(s.lastSize+s.lastSize/8, len(p.init))), p.init...)
	}
	audio, audioBase := s.takeAudio(p, nextDTS)
	s.timeline.Seq++
	base := uint64(p.samples[p.emitted].dts - s.origin)
	off := len(p.body)
	body := p.fragment(p.body, s.timeline.Seq, base, p.samples[p.emitted:], nextDTS, s.audio, audio, audioBase)
	p.body = body
	// A part's bytes are never written again (the body only grows past
	// them), so its Data may be a window on the body.
	part := Part{Index: p.parts, Offset: off, Data: body[off:len(body):len(body)], BaseTime: base, Frames: len(p.samples) - p.emitted}
	if part.Index == 0 {
		part.Offset, part.InitLen = 0, len(p.init)
		part.Data = body[:len(body):len(body)]
	}
	p.parts++
	p.partBytes += len(body) - off
	p.emitted = len(p.samples)
	p.audioFrames += len(audio)
	s.OnPart(part)
	return nil
}

// takeAudio removes from the buffer the audio frames that belong to the
// segment p ending at video PTS end, and returns them with the tfdt of the
// first. The first segment after a break drops frames from before its
// keyframe; later ones take every frame buffered, so that consecutive
// segments' audio tiles.
func (s *Segmenter) takeAudio(p *pending, end int64) ([]audioSample, uint64) {
	if s.audio == nil || len(s.audioBuf) == 0 {
		return nil, 0
	}
	rate := int64(s.audio.rate)
	toVideo := func(apts int64) int64 { return apts * ClockRate / rate }
	from := 0
	if p.first {
		for from < len(s.audioBuf) && toVideo(s.audioBuf[from].pts) < p.keyPTS {
			from++
		}
	}
	to := from
	for to < len(s.audioBuf) && toVideo(s.audioBuf[to].pts) < end {
		to++
	}
	taken := slices.Clone(s.audioBuf[from:to])
	s.audioBuf = append(s.audioBuf[:0], s.audioBuf[to:]...)
	if len(taken) == 0 {
		return nil, 0
	}
	base := taken[0].pts - s.origin*rate/ClockRate
	return taken, uint64(max(base, 0))
}

// closeEarly finishes the current segment, if any, with no next frame to
// take the last frame's duration from. The next segment starts a new
// stretch of the timeline (after the wall-clock gap, if any).
func (s *Segmenter) closeEarly() error {
	if s.cur == nil {
		return nil
	}
	p := s.cur
	last := p.samples[len(p.samples)-1]
	dur := p.params.frameTicks
	if dur == 0 && len(p.samples) > 1 {
		dur = last.dts - p.samples[len(p.samples)-2].dts
	}
	if dur <= 0 {
		dur = ClockRate / 25
	}
	end := p.keyPTS
	for _, smp := range p.samples {
		end = max(end, smp.pts)
	}
	err := s.close(last.dts+dur, end+dur)
	s.originSet = false
	s.audioBuf = s.audioBuf[:0]
	return err
}
