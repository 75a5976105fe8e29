package media

import (
	"time"

	"github.com/camchain/camchain/internal/feedchain"
)

// ClockRate is the rate of every timestamp this package takes or writes:
// the 90 kHz clock of RTP video (RFC 6184) and of the fMP4 track timescale.
const ClockRate = 90000

// DefaultTarget is the segment duration a Segmenter aims for when its Target
// is zero: a cut happens at the first keyframe at least this long after the
// keyframe that began the segment.
const DefaultTarget = 2 * time.Second

// Caps on one segment. They bound the memory the agent spends on a stream
// whose keyframes stop coming (or whose timestamps jump). A segment that would
// cross one is emitted early, and frames are then dropped until the next
// keyframe, so that every emitted segment still starts with one.
const (
	// MaxSegmentDuration caps the PTS span of a segment. It is well above
	// the GOPs cameras use, long-GOP "smart codec" modes included.
	// A PTS further than this from the segment's keyframe, or before it,
	// is treated as a discontinuity.
	MaxSegmentDuration = 60 * time.Second

	// MaxSegmentBytes caps the H.264 payload of a segment so that the fMP4
	// file, with its boxes, stays within feedchain.MaxSegmentBytes (the one
	// segment limit): 1 MiB is left for the boxes, whose sample tables take
	// at most 16 bytes for each of MaxSegmentFrames samples.
	MaxSegmentBytes = feedchain.MaxSegmentBytes - 1<<20

	// MaxSegmentFrames caps the sample count of a segment: 60 s at 120 fps.
	// It stays below the 19,200 samples mediacommon's fMP4 reader accepts in
	// one track run.
	MaxSegmentFrames = 60 * 120
)

// MaxAudioFrames caps the audio frames one segment holds: MaxSegmentDuration
// of 48 kHz AAC (47 frames a second) or of 10 ms Opus packets (100 a second).
const MaxAudioFrames = 60 * 100
