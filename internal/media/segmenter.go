package media

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// Errors WriteAU returns. Each means the access unit was dropped: the segment
// being collected was emitted early, ending before the dropped unit, and the
// next keyframe starts a new one (frames in between depend on what was
// dropped and are skipped). Log them and go on feeding the stream.
var (
	// ErrNotInitialized is returned by a Segmenter used before Initialize.
	ErrNotInitialized = errors.New("media: segmenter not initialized")
	// ErrNoParameterSets: a keyframe arrived before any SPS and PPS. Supply
	// out-of-band parameter sets (an RTSP SDP's sprop-parameter-sets) by
	// writing them as an access unit of their own before the first one.
	ErrNoParameterSets = errors.New("media: keyframe before SPS and PPS")
	// ErrInvalidAccessUnit: an SPS that does not parse, or an access unit
	// whose DTS cannot be derived (h264.DTSExtractor rejected it).
	ErrInvalidAccessUnit = errors.New("media: invalid access unit")
	// ErrDiscontinuity: a frame whose PTS is before the current segment's
	// keyframe or more than MaxSegmentDuration after it. (A keyframe with
	// such a PTS is not dropped: it starts a new segment.)
	ErrDiscontinuity = errors.New("media: timestamp discontinuity")
	// ErrSegmentTooLarge: a frame would take the segment past
	// MaxSegmentBytes or MaxSegmentFrames.
	ErrSegmentTooLarge = errors.New("media: segment too large")
)

// Segmenter cuts a stream of H.264 access units into self-contained fMP4
// segments (see Segment) that each start with a keyframe and last at least
// Target, as far as the stream's keyframes allow.
//
// Feed it access units in decode order with WriteAU; it calls OnSegment from
// inside WriteAU or Flush whenever a segment is finished. A segment is
// finished when the first keyframe at least Target after its own keyframe
// arrives (so with a 2 s GOP and a 2 s target every segment is one GOP), or
// early when the SPS/PPS change, on a discontinuity, at a cap in limits.go,
// and at Flush.
//
// Access units before the first keyframe are dropped: a segment must decode
// on its own. SPS, PPS and access unit delimiters are removed from the
// samples; the segment's init section carries the SPS and PPS in force at
// its keyframe. Timestamps in the fragment (tfdt) count 90 kHz ticks of DTS
// from the first keyframe after Initialize or Flush.
//
// A Segmenter is not safe for concurrent use.
type Segmenter struct {
	// Target is the minimum segment duration; zero means DefaultTarget.
	Target time.Duration
	// Epoch is the wall-clock time of PTS 0; segment Start times are Epoch
	// plus the keyframe's PTS. If zero, it is set at the first access unit
	// (after Initialize or Flush) to Clock() minus that unit's PTS.
	Epoch time.Time
	// Clock reads the wall clock; nil means time.Now.
	Clock func() time.Time
	// OnSegment receives each finished segment. Required. An error it
	// returns is returned by the WriteAU or Flush that finished the
	// segment; the segment is not offered again.
	OnSegment func(Segment) error

	target     int64 // Target in ticks
	maxTicks   int64 // MaxSegmentDuration in ticks
	epoch      time.Time
	epochSet   bool
	sps, pps   []byte // latest parameter sets seen (copies)
	params     *params
	extractor  *h264.DTSExtractor
	origin     int64 // DTS that maps to tfdt 0
	originSet  bool
	seq        uint32 // fMP4 fragment sequence number of the last segment
	cur        *pending
	frame      [][]byte // scratch: the access unit without parameter sets
	withParams [][]byte // scratch: SPS, PPS, frame, for the DTS extractor
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
	if s.Clock == nil {
		s.Clock = time.Now
	}
	s.target = durationToTicks(s.Target)
	s.maxTicks = durationToTicks(MaxSegmentDuration)
	s.reset()
	return nil
}

// reset forgets the stream: timestamps, parameter sets and buffered frames.
func (s *Segmenter) reset() {
	s.epoch, s.epochSet = s.Epoch, !s.Epoch.IsZero()
	s.sps, s.pps, s.params = nil, nil, nil
	s.extractor = h264.NewDTSExtractor()
	s.originSet = false
	s.cur = nil
}

// WriteAU adds one access unit: its NAL units without start codes, and its
// PTS in 90 kHz ticks (what gortsplib's Client.PacketPTS returns). Units must
// come in decode order. WriteAU copies what it keeps; the caller may reuse au.
//
// Units with no coded picture (no slice NAL unit) add no frame, but their SPS
// and PPS are remembered. A returned
// error means this unit was dropped (see the Err variables) or OnSegment
// failed; the Segmenter stays usable either way.
func (s *Segmenter) WriteAU(pts int64, au [][]byte) error {
	if s.extractor == nil {
		return ErrNotInitialized
	}
	if !s.epochSet {
		s.epoch, s.epochSet = s.Clock().Add(-ticksToDuration(pts)), true
	}

	s.frame = s.frame[:0]
	hasPicture := false
	for _, nalu := range au {
		if len(nalu) == 0 {
			continue
		}
		switch h264.NALUType(nalu[0] & 0x1F) {
		case h264.NALUTypeSPS:
			if !bytes.Equal(nalu, s.sps) {
				var info h264.SPS
				if err := info.Unmarshal(nalu); err != nil {
					return s.drop(fmt.Errorf("%w: SPS: %v", ErrInvalidAccessUnit, err))
				}
				s.sps = slices.Clone(nalu)
			}
		case h264.NALUTypePPS:
			if !bytes.Equal(nalu, s.pps) {
				s.pps = slices.Clone(nalu)
			}
		case h264.NALUTypeAccessUnitDelimiter:
		case h264.NALUTypeNonIDR, h264.NALUTypeIDR:
			hasPicture = true
			s.frame = append(s.frame, nalu)
		default:
			s.frame = append(s.frame, nalu)
		}
	}
	if !hasPicture {
		return nil
	}
	key := h264.IsRandomAccess(s.frame)
	if s.cur == nil && !key {
		return nil // waiting for a keyframe
	}
	if len(s.frame) > h264.MaxNALUsPerAccessUnit-2 {
		return s.drop(fmt.Errorf("%w: %d NAL units", ErrInvalidAccessUnit, len(s.frame)))
	}

	var errs []error // from OnSegment
	if s.cur != nil {
		if d := pts - s.cur.keyPTS; d < 0 || d > s.maxTicks {
			// The timestamps jumped (a camera clock reset, a stall): the
			// DTS history is worthless and the segment ends here.
			s.extractor = h264.NewDTSExtractor()
			if !key {
				return s.drop(fmt.Errorf("%w: PTS %d is %v from the segment's keyframe", ErrDiscontinuity, pts, ticksToDuration(d)))
			}
			errs = append(errs, s.closeEarly())
		}
	}

	if key {
		if s.sps == nil || s.pps == nil {
			return s.drop(ErrNoParameterSets)
		}
		if s.params == nil || !bytes.Equal(s.sps, s.params.sps) || !bytes.Equal(s.pps, s.params.pps) {
			p, err := newParams(s.sps, s.pps)
			if err != nil {
				return errors.Join(append(errs, s.drop(err))...)
			}
			s.params = p
		}
	}

	// The DTS extractor needs the SPS in front of each keyframe; streams
	// that send parameter sets only out of band, or only once, lack it.
	in := s.frame
	if key {
		s.withParams = append(append(s.withParams[:0], s.sps, s.pps), s.frame...)
		in = s.withParams
	}
	dts, err := s.extractor.Extract(in, pts)
	if err != nil && key {
		// A keyframe needs no history: end the segment and start afresh
		// from it rather than lose a whole GOP.
		errs = append(errs, s.closeEarly())
		s.extractor = h264.NewDTSExtractor()
		dts, err = s.extractor.Extract(in, pts)
	}
	if err != nil {
		s.extractor = h264.NewDTSExtractor()
		return errors.Join(append(errs, s.drop(fmt.Errorf("%w: %v", ErrInvalidAccessUnit, err)))...)
	}
	payload, err := h264.AVCC(s.frame).Marshal()
	if err != nil {
		return errors.Join(append(errs, s.drop(fmt.Errorf("%w: %v", ErrInvalidAccessUnit, err)))...)
	}

	if s.cur != nil {
		switch {
		case s.cur.size+len(payload) > MaxSegmentBytes || len(s.cur.samples) >= MaxSegmentFrames:
			if !key {
				return errors.Join(append(errs, s.drop(fmt.Errorf("%w: %d frames, %d bytes without a keyframe",
					ErrSegmentTooLarge, len(s.cur.samples), s.cur.size)))...)
			}
			errs = append(errs, s.closeEarly())
		case key && (pts-s.cur.keyPTS >= s.target || s.params != s.cur.params):
			errs = append(errs, s.close(dts, pts))
		}
	}

	if s.cur == nil { // key is true here
		if !s.originSet || dts < s.origin {
			s.origin, s.originSet = dts, true
		}
		s.cur = &pending{params: s.params, keyPTS: pts}
	}
	s.cur.samples = append(s.cur.samples, sample{pts: pts, dts: dts, key: key, payload: payload})
	s.cur.size += len(payload)
	return errors.Join(errs...)
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
// new one, e.g. after an RTSP reconnect.
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
	s.seq++
	seg, err := p.marshal(s.seq, uint64(p.samples[0].dts-s.origin), nextDTS, nextPTS, s.epoch)
	if err != nil {
		return err
	}
	return s.OnSegment(seg)
}

// closeEarly finishes the current segment, if any, with no next frame to
// take the last frame's duration from.
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
	return s.close(last.dts+dur, end+dur)
}
