// Package ingest records real cameras: an RTSP client (gortsplib) that
// turns what a camera sends into the access units internal/media's
// Segmenter cuts into self-contained fMP4 segments.
//
// The shape, for the issues that build on it (timeline, playback):
//
//	camera ──RTSP/RTP──▶ Source (this package)
//	                       │ video access units (H.264 / H.265, 90 kHz PTS,
//	                       │ camera NTP time when its RTCP reports give it)
//	                       │ audio frames (AAC / Opus, their own clock)
//	                       ▼
//	                     media.Segmenter ──▶ media.Segment (start, duration,
//	                                          clock source, codecs, bytes)
//
// A Source reconnects with exponential backoff when the camera drops, goes
// quiet, refuses it or sends something it cannot use; each connection gets
// a new Segmenter that resumes the previous one's media timeline
// (media.Timeline), so decode times never go back and an outage becomes a
// gap of the same length. Credentials in the camera's URL are used for
// RTSP authentication and never appear in a log line, an error or a status:
// everything the package prints goes through Redact.
package ingest
