package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
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

// PlayConn is an open playback socket.
type PlayConn struct {
	ws    *websocket.Conn
	Start PlayStart
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

// Play opens a playback socket, authenticated by the client's bearer
// token on the handshake, and reads the hub's start message.
func (c *Client) Play(ctx context.Context, camera string, o PlayOptions) (*PlayConn, error) {
	q := url.Values{}
	if o.Stream != "" {
		q.Set("stream", o.Stream)
	}
	if !o.From.IsZero() {
		q.Set("from", o.From.UTC().Format(time.RFC3339Nano))
	}
	if !o.To.IsZero() {
		q.Set("to", o.To.UTC().Format(time.RFC3339Nano))
	}
	if o.Nonce != "" {
		q.Set("nonce", o.Nonce)
	}
	if o.Epoch >= 0 {
		q.Set("epoch", strconv.FormatInt(o.Epoch, 10))
	}
	if o.Parts {
		q.Set("parts", "1")
	}
	u := *c.base
	u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	u.Path += Prefix + "/devices/" + url.PathEscape(camera) + "/play"
	u.RawQuery = q.Encode()
	hdr := http.Header{}
	if c.creds != nil {
		tok, err := c.creds.Token(ctx, c)
		if err != nil {
			return nil, err
		}
		hdr.Set("Authorization", "Bearer "+tok)
	}
	ws, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{HTTPClient: c.http, HTTPHeader: hdr})
	if err != nil {
		if resp != nil && resp.StatusCode >= 400 {
			var eb ErrorBody
			if resp.Body != nil && json.NewDecoder(resp.Body).Decode(&eb) == nil && eb.Error != nil {
				return nil, eb.Error
			}
			return nil, &Error{Code: codeForStatus(resp.StatusCode), Message: fmt.Sprintf("playback refused: HTTP %d", resp.StatusCode)}
		}
		return nil, fmt.Errorf("playback socket: %w", err)
	}
	limit := o.MaxFrame
	if limit <= 0 {
		limit = 64 << 20
	}
	ws.SetReadLimit(limit)
	p := &PlayConn{ws: ws}
	typ, b, err := ws.Read(ctx)
	if err != nil {
		ws.CloseNow()
		return nil, closedErr(err)
	}
	if typ != websocket.MessageText || json.Unmarshal(b, &p.Start) != nil || p.Start.Type != "start" {
		ws.CloseNow()
		return nil, fmt.Errorf("playback socket: the hub's first message is not a start message")
	}
	return p, nil
}

func codeForStatus(s int) ErrorCode {
	for c, st := range statusOf {
		if st == s {
			return c
		}
	}
	return ErrInternal
}

// PlayMessage is one message after the start: a codec announcement, or a
// binary frame (viewchain.DecodeFrame).
type PlayMessage struct {
	Codec *PlayCodec
	Frame []byte
}

// Next reads the next message; ErrPlayEnded after a normal close, a
// *PlayClosedError after any other.
func (p *PlayConn) Next(ctx context.Context) (PlayMessage, error) {
	typ, b, err := p.ws.Read(ctx)
	if err != nil {
		return PlayMessage{}, closedErr(err)
	}
	if typ == websocket.MessageBinary {
		return PlayMessage{Frame: b}, nil
	}
	var head struct {
		Type string `json:"type"`
	}
	json.Unmarshal(b, &head)
	if head.Type != "codec" {
		return PlayMessage{}, fmt.Errorf("playback socket: unexpected message %q", strings.ToValidUTF8(head.Type, "?"))
	}
	var cm PlayCodec
	if err := json.Unmarshal(b, &cm); err != nil {
		return PlayMessage{}, fmt.Errorf("playback socket: codec message: %w", err)
	}
	return PlayMessage{Codec: &cm}, nil
}

// Close closes the socket.
func (p *PlayConn) Close() { p.ws.Close(websocket.StatusNormalClosure, "") }

func closedErr(err error) error {
	switch code := websocket.CloseStatus(err); code {
	case -1:
		return err
	case websocket.StatusNormalClosure:
		return ErrPlayEnded
	default:
		var ce websocket.CloseError
		errors.As(err, &ce)
		return &PlayClosedError{Code: int(code), Reason: ce.Reason}
	}
}
