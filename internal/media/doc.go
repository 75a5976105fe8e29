// Package media turns H.264 video into the self-contained fMP4 segments that
// camchain-agent signs and links into a camera's feed chain.
//
// The pipeline is: access units with 90 kHz PTS (from an Annex-B file via
// SplitAccessUnits, or later from an RTSP camera through gortsplib) → a
// Segmenter, which cuts on keyframes roughly every 2 s → Segment values,
// each an init section plus one fragment (one per part with parts),
// playable on its own in a browser.
// The only dependency is mediacommon (H.264 parsing, DTS extraction, fMP4
// writing); ffmpeg is never needed to build, run or test.
//
// # The built-in sample
//
// SampleSource plays a clip embedded in the binary (sample/sample.h264), so a
// demo needs no camera and nothing installed. It is made by
// testdata/make-sample.sh from ffmpeg's testsrc2 pattern with a visible
// "camchain sample HH:MM:SS.mmm frame N" overlay:
//
//	container   raw H.264 Annex-B elementary stream, 424,762 bytes
//	video       640×360, 25 fps, Main profile, level 3.0 (avc1.4d401e)
//	duration    8 s, 200 frames
//	GOP         closed, IDR exactly every 50 frames (2 s), no B-frames,
//	            no scene-cut keyframes; SPS and PPS precede every IDR;
//	            one x264 SEI in the first access unit
//	bitrate     400 kbit/s target (-maxrate 400k), ~425 kbit/s with headers
//
// Without B-frames decode order is display order, so frame n simply gets
// PTS n/25 s; looped, the clip yields an endless stream of 2.000 s,
// 50-frame segments whose Start times advance by exactly their Duration.
//
// testdata/bframes.h264 (160×96, 25 fps, 3 s, GOP 25, two B-frames with
// pyramid) exists only so tests can exercise frame reordering.
//
// # Segment durations
//
// A segment runs from one keyframe to the first keyframe at least Target
// (2 s) later, so with the sample, and with any camera whose GOP is 2 s, every
// segment is exactly 2.000 s and 50 frames (at 25 fps). The first segment
// differs only when the stream does not begin on a keyframe (the frames
// before it are dropped). Segments end early, and may be shorter, when the
// SPS/PPS change, when timestamps jump, at the caps in limits.go, and at
// Flush, which emits the remaining frames rather than dropping them.
package media
