// Package playconn is the client of the hub's playback socket (GET
// /devices/{camera}/play, docs/SPEC.md §15): a WebSocket carrying the start
// message, codec announcements and binary frames. It is apart from package
// api so that a program that makes only plain API calls (the camera agent)
// links no WebSocket code.
package playconn

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

	"github.com/camchain/camchain/internal/api"
)

// Conn is an open playback socket.
type Conn struct {
	ws    *websocket.Conn
	Start api.PlayStart
}

// Dial opens a playback socket to camera through c, authenticated by c's
// bearer token on the handshake, and reads the hub's start message.
func Dial(ctx context.Context, c *api.Client, camera string, o api.PlayOptions) (*Conn, error) {
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
	u, err := url.Parse(c.Base())
	if err != nil {
		return nil, err
	}
	u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	u.Path += api.Prefix + "/devices/" + url.PathEscape(camera) + "/play"
	u.RawQuery = q.Encode()
	hdr := http.Header{}
	tok, err := c.Token(ctx)
	if err != nil {
		return nil, err
	}
	if tok != "" {
		hdr.Set("Authorization", "Bearer "+tok)
	}
	ws, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{HTTPClient: c.HTTPClient(), HTTPHeader: hdr})
	if err != nil {
		if resp != nil && resp.StatusCode >= 400 {
			var eb api.ErrorBody
			if resp.Body != nil && json.NewDecoder(resp.Body).Decode(&eb) == nil && eb.Error != nil {
				return nil, eb.Error
			}
			return nil, &api.Error{Code: api.CodeForStatus(resp.StatusCode), Message: fmt.Sprintf("playback refused: HTTP %d", resp.StatusCode)}
		}
		return nil, fmt.Errorf("playback socket: %w", err)
	}
	limit := o.MaxFrame
	if limit <= 0 {
		limit = 64 << 20
	}
	ws.SetReadLimit(limit)
	p := &Conn{ws: ws}
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

// Next reads the next message; api.ErrPlayEnded after a normal close, a
// *PlayClosedError after any other.
func (p *Conn) Next(ctx context.Context) (api.PlayMessage, error) {
	typ, b, err := p.ws.Read(ctx)
	if err != nil {
		return api.PlayMessage{}, closedErr(err)
	}
	if typ == websocket.MessageBinary {
		return api.PlayMessage{Frame: b}, nil
	}
	var head struct {
		Type string `json:"type"`
	}
	json.Unmarshal(b, &head)
	if head.Type != "codec" {
		return api.PlayMessage{}, fmt.Errorf("playback socket: unexpected message %q", strings.ToValidUTF8(head.Type, "?"))
	}
	var cm api.PlayCodec
	if err := json.Unmarshal(b, &cm); err != nil {
		return api.PlayMessage{}, fmt.Errorf("playback socket: codec message: %w", err)
	}
	return api.PlayMessage{Codec: &cm}, nil
}

// Close closes the socket.
func (p *Conn) Close() { p.ws.Close(websocket.StatusNormalClosure, "") }

func closedErr(err error) error {
	switch code := websocket.CloseStatus(err); code {
	case -1:
		return err
	case websocket.StatusNormalClosure:
		return api.ErrPlayEnded
	default:
		var ce websocket.CloseError
		errors.As(err, &ce)
		return &api.PlayClosedError{Code: int(code), Reason: ce.Reason}
	}
}
