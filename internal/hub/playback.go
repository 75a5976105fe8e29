package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/auth"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/store"
	"github.com/camchain/camchain/internal/viewchain"
)

// Playback (docs/SPEC.md §15.5): GET /devices/{camera}/play is a
// WebSocket that streams stored segments as they are — fMP4, or whatever
// bytes the camera's records bind — each with its record and a link of
// the session's viewer chain. The hub never parses the video.

// Playback timing.
const (
	// playRecheck is how often a session re-reads the ledger (a revoke, an
	// expired grant, a transfer or a reset ends it within this) and looks
	// for segments appended without a notification.
	playRecheck = 500 * time.Millisecond
	// playWriteIdle cuts off a viewer that does not take a frame in time.
	playWriteIdle = 30 * time.Second
	// seekBack bounds how far before the seek point a session looks for a
	// record of the asked stream (in a main chain an older agent wrote,
	// sub records may interleave).
	seekBack = 256
)

// wsAccessEnded closes a socket whose access ended (revoke, expiry,
// transfer, reset) while it streamed.
const wsAccessEnded = wsForbidden

// playRequest is a playback socket's query.
type playRequest struct {
	stream   feedchain.Stream
	from, to time.Time // zero from: live, from the newest segment; zero to: follow
	nonce    viewchain.Nonce
	parts    bool // live: also the open segment's parts (SPEC §15.5)
}

func parsePlay(r *http.Request) (playRequest, error) {
	q := r.URL.Query()
	var p playRequest
	switch s := q.Get("stream"); s {
	case "", "main":
		p.stream = feedchain.StreamMain
	case "sub":
		p.stream = feedchain.StreamSub
	default:
		return p, api.Errorf(api.ErrBadRequest, "stream=%q: want main or sub", s)
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"from", &p.from}, {"to", &p.to}} {
		if v := q.Get(t.name); v != "" {
			tm, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return p, api.Errorf(api.ErrBadRequest, "%s=%q: want an RFC 3339 time (2026-12-02T18:00:00Z)", t.name, v)
			}
			*t.dst = tm
		}
	}
	if !p.to.IsZero() && (p.from.IsZero() || !p.to.After(p.from)) {
		return p, api.Errorf(api.ErrBadRequest, "to needs a from before it")
	}
	switch v := q.Get("parts"); v {
	case "", "0", "false":
	case "1", "true":
		p.parts = true
	default:
		return p, api.Errorf(api.ErrBadRequest, "parts=%q: want 1 or 0", v)
	}
	if v := q.Get("nonce"); v != "" {
		n, err := viewchain.ParseNonce(v)
		if err != nil {
			return p, api.Errorf(api.ErrBadRequest, "%v", err)
		}
		p.nonce = n
	}
	return p, nil
}

// socketBody is a handler result that takes over the connection (a
// WebSocket).
type socketBody struct {
	serve func(w http.ResponseWriter, r *http.Request)
}

// play answers GET /devices/{camera}/play. A handshake that carried a
// token (bearer or cookie) was authorized like any camera-viewer route;
// one that carried none authenticates in its first message with a ticket
// (§11.9), and is then authorized the same way.
func (h *Hub) play(r *http.Request) (any, error) {
	p, err := parsePlay(r)
	if err != nil {
		return nil, err
	}
	if !isWebSocket(r) {
		return nil, api.Errorf(api.ErrBadRequest, "GET %s/devices/{camera}/play is a WebSocket: connect with ws:// or wss:// (see docs/SPEC.md §15.5)", api.Prefix)
	}
	return socketBody{serve: func(w http.ResponseWriter, r *http.Request) { h.servePlay(w, r, p) }}, nil
}

func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

func (h *Hub) servePlay(w http.ResponseWriter, r *http.Request, p playRequest) {
	// The server's read and write timeouts bound ordinary requests; a
	// stream sets its own deadline per frame.
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
	var (
		c    *websocket.Conn
		sess auth.Session
		acc  *access
		err  error
	)
	if a := accessOf(r); a != nil {
		sess, acc = sessionOf(r), a
		if c, err = h.upgradeWS(w, r); err != nil {
			return
		}
		h.sockets.add(sess, c)
	} else {
		if c, sess, err = h.acceptWS(w, r); err != nil {
			return
		}
		if acc, err = h.cameraAccess(r, sess.Address, cameraViewer); err != nil {
			h.sockets.remove(sess.Client, c)
			c.Close(wsForbidden, wsReason(err))
			return
		}
	}
	defer h.sockets.remove(sess.Client, c)
	defer c.CloseNow()
	ctx := c.CloseRead(r.Context()) // a viewer sends nothing more; its close ends ctx
	ps := &playSession{h: h, c: c, r: r, sess: sess, acc: acc, req: p}
	code, reason := ps.run(ctx)
	c.Close(code, closeReason(reason))
}

// wsReason is an error as a close reason (the API error's message only).
func wsReason(err error) string {
	var ae *api.Error
	if errors.As(err, &ae) {
		return closeReason(ae.Message)
	}
	return closeReason(err.Error())
}

// closeReason cuts s to the 123 bytes a close frame holds, on a rune
// boundary.
func closeReason(s string) string {
	if len(s) <= 123 {
		return s
	}
	s = s[:120]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// upgradeWS is the WebSocket handshake with the Origin check of acceptWS,
// for a request the route already authorized.
func (h *Hub) upgradeWS(w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
	if o := r.Header.Get("Origin"); o != "" && o != h.auth.Origin().String() {
		writeError(w, api.Errorf(api.ErrForbidden, "WebSocket from origin %q refused: only %s", o, h.auth.Origin()))
		return nil, fmt.Errorf("WebSocket from origin %q", o)
	}
	return websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
}

// playSession is one playback socket.
type playSession struct {
	h    *Hub
	c    *websocket.Conn
	r    *http.Request
	sess auth.Session
	acc  *access
	req  playRequest

	signer *viewchain.Signer
	codec  string
	frame  []byte
	// open is the segment whose parts this session sent and whose record
	// it has not: the record goes as a tail, with the bytes after them.
	open struct {
		active     bool
		seq        uint64
		sent, size int
	}
}

func (ps *playSession) run(ctx context.Context) (websocket.StatusCode, string) {
	h, d := ps.h, ps.acc.dev
	signer, err := viewchain.NewSigner(h.key, d.Camera, d.Epoch, ps.req.nonce)
	if err != nil {
		return websocket.StatusInternalError, "internal error"
	}
	ps.signer = signer
	start := api.PlayStart{Type: "start", Session: signer.Session().String(), Nonce: ps.req.nonce.String(),
		Hub: h.key.Address().Hex(), Camera: d.Camera.Hex(), Epoch: d.Epoch, Stream: ps.req.stream.String(), Live: ps.req.to.IsZero(),
		Parts: ps.req.parts && ps.req.to.IsZero()}
	if !ps.req.from.IsZero() {
		start.From = ps.req.from.UTC().Format(time.RFC3339Nano)
	}
	if !ps.req.to.IsZero() {
		start.To = ps.req.to.UTC().Format(time.RFC3339Nano)
	}
	if err := ps.writeJSON(ctx, start); err != nil {
		return websocket.StatusGoingAway, ""
	}
	var (
		chain  *store.Chain
		next   uint64
		placed bool // next points at the first segment to send
	)
	tick := time.NewTicker(playRecheck)
	defer tick.Stop()
	var checked time.Time
	for {
		// Parts wake the loop several times a second: the ledger is
		// re-read at most every playRecheck.
		if time.Since(checked) >= playRecheck {
			if code, why, ok := ps.stillAllowed(); !ok {
				return code, why
			}
			checked = time.Now()
		}
		wake := h.appends.wait(d.Camera)
		var partWake <-chan struct{}
		if chain == nil {
			// Each stream is its own chain (SPEC §6.5); a main chain an
			// older agent wrote may still interleave sub records, which
			// the stream filter below skips.
			c, err := h.store.LookupStream(store.ChainRef{Camera: d.Camera, Epoch: d.Epoch, Stream: ps.req.stream})
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return websocket.StatusInternalError, "internal error"
			}
			chain = c
		}
		if chain != nil {
			if !placed {
				next, placed = ps.seek(chain), true
			}
			var done bool
			var err error
			next, done, err = ps.sendFrom(ctx, chain, next)
			if err != nil {
				if ctx.Err() != nil {
					return websocket.StatusGoingAway, ""
				}
				h.cfg.Logger.Warn("playback", "camera", d.Camera.Hex(), "err", err)
				return websocket.StatusInternalError, "internal error; see the hub's log"
			}
			if done {
				return ps.end(ctx)
			}
			if start.Parts {
				if partWake, err = ps.sendParts(ctx, next); err != nil {
					if ctx.Err() != nil {
						return websocket.StatusGoingAway, ""
					}
					h.cfg.Logger.Warn("playback", "camera", d.Camera.Hex(), "err", err)
					return websocket.StatusInternalError, "internal error; see the hub's log"
				}
			}
		} else if !ps.req.to.IsZero() && time.Now().After(ps.req.to) {
			return ps.end(ctx) // nothing recorded, and the range is over
		}
		select {
		case <-ctx.Done():
			return websocket.StatusGoingAway, ""
		case <-wake:
		case <-partWake:
		case <-tick.C:
		}
	}
}

// sendParts sends the parts of record seq — the open segment, the one
// after everything sent — that the session has not sent, from part 0 on
// (a session never starts mid-segment), and returns a channel closed when
// more may have come.
func (ps *playSession) sendParts(ctx context.Context, seq uint64) (<-chan struct{}, error) {
	d := ps.acc.dev
	from := 0
	if ps.open.active && ps.open.seq == seq {
		from = ps.open.sent
	}
	parts, wake := ps.h.parts.since(d.Camera, ps.req.stream, d.Epoch, seq, from)
	if ps.open.active && ps.open.seq != seq {
		return wake, nil // its record is not stored yet: wait for it
	}
	for _, lp := range parts {
		l, err := ps.signer.Part(lp.part.Hash())
		if err != nil {
			return wake, err
		}
		ps.frame = viewchain.AppendPart(ps.frame[:0], lp.part.Marshal(), l.Marshal(), lp.data)
		if err := ps.write(ctx, websocket.MessageBinary, ps.frame); err != nil {
			return wake, err
		}
		if !ps.open.active {
			ps.open.active, ps.open.seq, ps.open.sent, ps.open.size = true, seq, 0, 0
		}
		ps.open.sent++
		ps.open.size += len(lp.data)
	}
	return wake, nil
}

// stillAllowed re-reads the ledger and the session: access ends on the
// stream as it would on the next request.
func (ps *playSession) stillAllowed() (websocket.StatusCode, string, bool) {
	if !ps.sess.Expires.IsZero() && time.Now().After(ps.sess.Expires) {
		return wsUnauthenticated, "session expired; log in again", false
	}
	if ps.h.cfg.BenchNoAuthz {
		return 0, "", true
	}
	a, err := ps.h.cameraAccess(ps.r, ps.sess.Address, cameraViewer)
	if err != nil {
		return wsAccessEnded, "access ended: " + wsReason(err), false
	}
	ps.acc.historyFrom = a.historyFrom
	if a.dev.Epoch != ps.acc.dev.Epoch {
		return wsAccessEnded, "the camera's epoch changed (reset or released)", false
	}
	return 0, "", true
}

// seek finds the first record to send: for a range, the segment of the
// asked stream that starts at or before from (segments start on key
// frames, so this is the key frame at or before it); live, the newest one.
func (ps *playSession) seek(c *store.Chain) uint64 {
	n := c.Len()
	if n == 0 {
		return 0
	}
	at := ps.req.from
	if at.IsZero() {
		at = time.Now().Add(24 * time.Hour) // the newest segment
	}
	// Start times grow with seq within a stream (§6.5); the first record
	// starting after at, then back to a record of the stream before it.
	i := uint64(sort.Search(int(n), func(i int) bool {
		si, _ := c.Info(uint64(i))
		return si.Start.After(at)
	}))
	for back := 0; i > 0 && back < seekBack; back++ {
		if si, ok := c.Info(i - 1); ok && si.Stream == ps.req.stream {
			return i - 1
		}
		i--
	}
	return i
}

// sendFrom sends the segments from seq next on that the viewer may see,
// up to the chain's end; done when a range is complete.
func (ps *playSession) sendFrom(ctx context.Context, c *store.Chain, next uint64) (uint64, bool, error) {
	for ; next < c.Len(); next++ {
		rec, err := c.Record(next)
		if err != nil {
			return next, false, err
		}
		if !ps.req.to.IsZero() && !rec.StartTime().Before(ps.req.to) {
			return next, true, nil
		}
		if rec.Stream != ps.req.stream || rec.Start/1e9 < int64(ps.acc.historyFrom) && !ps.acc.owner {
			continue
		}
		data, damage, err := c.SegmentAsStored(next)
		if errors.Is(err, store.ErrPruned) || errors.Is(err, store.ErrMissing) {
			continue // the record remains; the viewer sees the seq jump
		}
		if err != nil {
			return next, false, err
		}
		if damage != nil {
			// Forwarded as stored: the viewer's check names it (altered);
			// skipping it would pass for a deletion.
			ps.h.cfg.Logger.Warn("playback: forwarding a segment that does not match its record", "camera", rec.Camera.Hex(), "seq", next, "err", damage)
		}
		if ps.open.active && ps.open.seq == rec.Seq {
			// Its parts went first: the record closes them, with the
			// bytes after them (the viewer checks the whole segment).
			if err := ps.sendTail(ctx, rec, data[min(ps.open.size, len(data)):]); err != nil {
				return next, false, err
			}
			ps.open.active = false
			continue
		}
		if err := ps.sendSegment(ctx, rec, data); err != nil {
			return next, false, err
		}
	}
	done := !ps.req.to.IsZero() && time.Now().After(ps.req.to)
	return next, done, nil
}

func (ps *playSession) sendSegment(ctx context.Context, rec *feedchain.Record, data []byte) error {
	if rec.Codec != ps.codec {
		ps.codec = rec.Codec
		if err := ps.writeJSON(ctx, codecMessage(rec.Codec)); err != nil {
			return err
		}
	}
	l, err := ps.signer.Segment(rec.Hash())
	if err != nil {
		return err
	}
	ps.frame = viewchain.AppendSegment(ps.frame[:0], rec.Marshal(), l.Marshal(), data)
	return ps.write(ctx, websocket.MessageBinary, ps.frame)
}

func (ps *playSession) sendTail(ctx context.Context, rec *feedchain.Record, rest []byte) error {
	if rec.Codec != ps.codec {
		ps.codec = rec.Codec
		if err := ps.writeJSON(ctx, codecMessage(rec.Codec)); err != nil {
			return err
		}
	}
	l, err := ps.signer.Segment(rec.Hash())
	if err != nil {
		return err
	}
	ps.frame = viewchain.AppendTail(ps.frame[:0], rec.Marshal(), l.Marshal(), rest)
	return ps.write(ctx, websocket.MessageBinary, ps.frame)
}

func (ps *playSession) end(ctx context.Context) (websocket.StatusCode, string) {
	l, err := ps.signer.End()
	if err != nil {
		return websocket.StatusInternalError, "internal error"
	}
	if err := ps.write(ctx, websocket.MessageBinary, viewchain.AppendEnd(nil, l.Marshal())); err != nil {
		return websocket.StatusGoingAway, ""
	}
	return websocket.StatusNormalClosure, "end of range"
}

func (ps *playSession) writeJSON(ctx context.Context, v any) error {
	b, _ := json.Marshal(v)
	return ps.write(ctx, websocket.MessageText, b)
}

func (ps *playSession) write(ctx context.Context, typ websocket.MessageType, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, playWriteIdle)
	defer cancel()
	return ps.c.Write(ctx, typ, b)
}

// codecMessage names a record's codec for a player.
func codecMessage(codec string) api.PlayCodec {
	video, _, _ := strings.Cut(codec, ",")
	name := video
	switch {
	case strings.HasPrefix(video, "avc1.") || strings.HasPrefix(video, "avc3."):
		name = "H.264"
	case strings.HasPrefix(video, "hvc1.") || strings.HasPrefix(video, "hev1."):
		name = "H.265"
	}
	return api.PlayCodec{Type: "codec", Codec: codec, Mime: `video/mp4; codecs="` + codec + `"`, Video: name}
}

// appendSignal wakes playback sessions when a camera's chain grows.
type appendSignal struct {
	mu sync.Mutex
	m  map[keys.Address]chan struct{}
}

// wait returns a channel closed at the camera's next append.
func (s *appendSignal) wait(cam keys.Address) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[keys.Address]chan struct{}{}
	}
	ch := s.m[cam]
	if ch == nil {
		ch = make(chan struct{})
		s.m[cam] = ch
	}
	return ch
}

func (s *appendSignal) notify(cam keys.Address) {
	s.mu.Lock()
	ch := s.m[cam]
	delete(s.m, cam)
	s.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}
