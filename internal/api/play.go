package api

import (
	"errors"
	"fmt"
	"time"
)

// PlayOptions choose what GET /devices/{camera}/play streams.
type PlayOptions struct {
	Stream   string    // "main" (default) or "sub"
	From, To time.Time // zero From: live; zero To: follow live after From
	Nonce    string    // the viewer's challenge, 32 hex digits (viewchain.Nonce)
	Epoch    int64     // < 0: the camera's current epoch
	// MaxFrame is the read limit for one message (viewchain.MaxFrame).
	MaxFrame int64
	// Parts asks a live session for the open segment's parts too (SPEC
	// §15.5): part and tail frames.
	Parts bool
}

// PlayClosedError is the hub's close of a playback socket other than a
// normal end: the code (4401 unauthenticated, 4403 access ended, …) and
// the hub's reason.
type PlayClosedError struct {
	Code   int
	Reason string
}

func (e *PlayClosedError) Error() string {
	return fmt.Sprintf("the hub closed the stream (%d): %s", e.Code, e.Reason)
}

// ErrPlayEnded is Next's error after the hub's normal close.
var ErrPlayEnded = errors.New("the hub ended the stream")

// PlayMessage is one message after the start: a codec announcement, or a
// binary frame (viewchain.DecodeFrame).
type PlayMessage struct {
	Codec *PlayCodec
	Frame []byte
}
