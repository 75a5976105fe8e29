package playconn

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/camchain/camchain/internal/api"
)

// A real WebSocket on loopback, as the hub's playback socket: Dial sends
// the options as the query and the token as a bearer header, reads the
// start message, then Next gives codec messages and binary frames; a
// normal close is api.ErrPlayEnded, another a *api.PlayClosedError with
// the hub's code and reason; a refusal before the upgrade is the hub's
// JSON error; a first message that is not a start message, or a frame over
// the read limit, is an error, not a session.
func TestDial(t *testing.T) {
	var first func(ctx context.Context, ws *websocket.Conn)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != api.Prefix+"/devices/0xCAFE/play" {
			http.Error(w, "path "+r.URL.Path, http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(api.ErrorBody{Error: &api.Error{Code: api.ErrForbidden, Message: "not yours"}})
			return
		}
		q := r.URL.Query()
		if q.Get("stream") != "sub" || q.Get("parts") != "1" || q.Get("epoch") != "2" || q.Get("nonce") != "00ff" || q.Get("from") != "2026-12-03T10:00:00Z" || q.Has("to") {
			http.Error(w, "query "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		first(r.Context(), ws)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := func(tok string) *api.Client {
		c, err := api.NewClient(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		return c.WithCredentials(api.StaticToken(tok))
	}
	opts := api.PlayOptions{Stream: "sub", Parts: true, Epoch: 2, Nonce: "00ff", From: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC), MaxFrame: 1000}
	start := `{"type":"start","session":"s1","camera":"0xCAFE","epoch":2,"stream":"sub","live":false}`

	first = func(ctx context.Context, ws *websocket.Conn) {
		ws.Write(ctx, websocket.MessageText, []byte(start))
		ws.Write(ctx, websocket.MessageText, []byte(`{"type":"codec","codec":"avc1.64001f","mime":"video/mp4; codecs=\"avc1.64001f\""}`))
		ws.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3})
		ws.Close(websocket.StatusNormalClosure, "")
	}
	p, err := Dial(ctx, client("tok"), "0xCAFE", opts)
	if err != nil {
		t.Fatal(err)
	}
	if p.Start.Session != "s1" || p.Start.Stream != "sub" || p.Start.Epoch != 2 {
		t.Fatalf("start: %+v", p.Start)
	}
	if m, err := p.Next(ctx); err != nil || m.Codec == nil || m.Codec.Codec != "avc1.64001f" {
		t.Fatalf("codec message: %+v %v", m, err)
	}
	if m, err := p.Next(ctx); err != nil || string(m.Frame) != "\x01\x02\x03" {
		t.Fatalf("frame: %+v %v", m, err)
	}
	if _, err := p.Next(ctx); !errors.Is(err, api.ErrPlayEnded) {
		t.Fatalf("after a normal close: %v", err)
	}

	first = func(ctx context.Context, ws *websocket.Conn) {
		ws.Write(ctx, websocket.MessageText, []byte(start))
		ws.Close(4003, "grant revoked")
	}
	if p, err = Dial(ctx, client("tok"), "0xCAFE", opts); err != nil {
		t.Fatal(err)
	}
	var ce *api.PlayClosedError
	if _, err := p.Next(ctx); !errors.As(err, &ce) || ce.Code != 4003 || ce.Reason != "grant revoked" {
		t.Fatalf("after the hub's close 4003: %v", err)
	}

	var ae *api.Error
	if _, err := Dial(ctx, client("other"), "0xCAFE", opts); !errors.As(err, &ae) || ae.Code != api.ErrForbidden || ae.Message != "not yours" {
		t.Fatalf("refused: %v", err)
	}

	for name, fn := range map[string]func(ctx context.Context, ws *websocket.Conn){
		"a codec message first": func(ctx context.Context, ws *websocket.Conn) {
			ws.Write(ctx, websocket.MessageText, []byte(`{"type":"codec"}`))
			ws.Read(ctx)
		},
		"a binary message first": func(ctx context.Context, ws *websocket.Conn) {
			ws.Write(ctx, websocket.MessageBinary, []byte(start))
			ws.Read(ctx)
		},
	} {
		first = fn
		if _, err := Dial(ctx, client("tok"), "0xCAFE", opts); err == nil {
			t.Errorf("%s: a session", name)
		}
	}

	first = func(ctx context.Context, ws *websocket.Conn) {
		ws.Write(ctx, websocket.MessageText, []byte(start))
		ws.Write(ctx, websocket.MessageBinary, make([]byte, 1001))
		ws.Read(ctx)
	}
	if p, err = Dial(ctx, client("tok"), "0xCAFE", opts); err != nil {
		t.Fatal(err)
	}
	if m, err := p.Next(ctx); err == nil {
		t.Fatalf("a 1,001-byte frame over the 1,000-byte limit: %d bytes given", len(m.Frame))
	}
}
