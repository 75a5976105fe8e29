// Package testcam is camchain-testcam: a small RTSP server that stands in
// for an IP camera in tests and for users without one.
//
// It serves two kinds of path:
//
//   - SamplePath ("/sample") plays the agent's built-in sample clip
//     (internal/media) in a loop, in real time, as H.264 over RTP, with
//     RTCP sender reports. Nothing needs installing.
//   - Any other path accepts one publisher (ANNOUNCE and RECORD, e.g.
//     `ffmpeg … -f rtsp rtsp://127.0.0.1:8554/cam`) and re-serves its
//     stream to every reader of the same path, as a camera would. ffmpeg
//     5.1 cannot be an RTSP server itself; this is its server.
//
// With User and Pass set, readers and publishers must authenticate (RTSP
// Digest or Basic); a wrong pair gets 401, which is how the agent's
// wrong-credentials handling is tested.
//
// The server listens on TCP only (no UDP ports) unless UDP is set; readers
// asking for UDP are then refused with 461 and fall back to TCP.
package testcam
