package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/auth"
	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/keys"
)

// WebSockets (docs/SPEC.md §11.9). A browser cannot put a token in a
// WebSocket's headers, and a token in the URL would land in logs, so a
// socket authenticates in its first message: {"type":"auth","ticket":…}
// with a ticket from POST /auth/ticket, or {"type":"auth","cookie":true} to
// use the session cookie the handshake carried. The hub answers
// {"type":"authenticated",…} and only then serves; any failure closes the
// socket with a 44xx code and says why.

// WebSocket close codes (the 4000-4999 range is the application's).
const (
	wsUnauthenticated websocket.StatusCode = 4401
	wsForbidden       websocket.StatusCode = 4403
	wsAuthTimeout     websocket.StatusCode = 4408
)

// Bounds on the first message.
const (
	wsAuthWait     = 10 * time.Second
	wsAuthMaxBytes = 512
)

// acceptWS upgrades r to a WebSocket and authenticates it. On success the
// caller owns the connection (and must Close it) and the session; the
// connection is registered so that revoking its client closes it. On
// failure the socket is already closed (or the handshake refused).
func (h *Hub) acceptWS(w http.ResponseWriter, r *http.Request) (*websocket.Conn, auth.Session, error) {
	if o := r.Header.Get("Origin"); o != "" && o != h.auth.Origin().String() {
		writeError(w, api.Errorf(api.ErrForbidden, "WebSocket from origin %q refused: only %s", o, h.auth.Origin()))
		return nil, auth.Session{}, fmt.Errorf("WebSocket from origin %q", o)
	}
	// The Origin was checked above against the public origin exactly;
	// coder/websocket's own check (Origin host = Host) would refuse a hub
	// reached through a name that differs from its Host header.
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return nil, auth.Session{}, err
	}
	c.SetReadLimit(wsAuthMaxBytes)
	sess, code, err := h.wsAuthenticate(r, c)
	if err != nil {
		c.Close(code, err.Error())
		return nil, auth.Session{}, err
	}
	c.SetReadLimit(32 << 10)
	hello, _ := json.Marshal(api.WSAuthenticated{Type: "authenticated", Address: sess.Address.Hex(), Client: sess.Client.String(),
		Expires: sess.Expires.UTC().Format(time.RFC3339)})
	ctx, cancel := context.WithTimeout(r.Context(), wsAuthWait)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, hello); err != nil {
		c.CloseNow()
		return nil, auth.Session{}, err
	}
	h.sockets.add(sess, c)
	return c, sess, nil
}

func (h *Hub) wsAuthenticate(r *http.Request, c *websocket.Conn) (auth.Session, websocket.StatusCode, error) {
	ctx, cancel := context.WithTimeout(r.Context(), wsAuthWait)
	defer cancel()
	typ, data, err := c.Read(ctx)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return auth.Session{}, wsAuthTimeout, fmt.Errorf("no auth message within %s", wsAuthWait)
		}
		return auth.Session{}, wsUnauthenticated, fmt.Errorf("auth message: %w", err)
	}
	m, err := parseWSAuth(typ, data)
	if err != nil {
		return auth.Session{}, wsUnauthenticated, err
	}
	if m.Cookie {
		ck, err := r.Cookie(SessionCookie)
		if err != nil {
			return auth.Session{}, wsUnauthenticated, errors.New("no session cookie on the handshake")
		}
		s, err := h.auth.Authenticate(ck.Value)
		if err != nil {
			return auth.Session{}, wsUnauthenticated, err
		}
		return s, 0, nil
	}
	s, err := h.auth.RedeemTicket(m.Ticket)
	if err != nil {
		return auth.Session{}, wsUnauthenticated, err
	}
	return s, 0, nil
}

// errWSAuth: the first message is not an auth message.
var errWSAuth = errors.New(`the first message must be {"type":"auth","ticket":"…"} or {"type":"auth","cookie":true}`)

// parseWSAuth decodes a socket's first message: text, one JSON object of
// the WSAuth fields only, type "auth", and exactly one of ticket and cookie.
// The read limit (wsAuthMaxBytes) bounds it before it is decoded.
func parseWSAuth(typ websocket.MessageType, data []byte) (api.WSAuth, error) {
	var m api.WSAuth
	if typ != websocket.MessageText || len(data) > wsAuthMaxBytes {
		return m, errWSAuth
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil || dec.More() || m.Type != "auth" || (m.Ticket == "") == !m.Cookie {
		return api.WSAuth{}, errWSAuth
	}
	return m, nil
}

// sockets are the open authenticated WebSockets by client, so that a
// revoked client's sockets close at once (a live stream ends with its
// client). Handlers remove a socket when they finish with it.
type sockets struct {
	mu sync.Mutex
	m  map[signin.ClientID]*clientSockets
}

type clientSockets struct {
	addr  keys.Address
	conns map[*websocket.Conn]struct{}
}

func (s *sockets) add(sess auth.Session, c *websocket.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[signin.ClientID]*clientSockets{}
	}
	cs := s.m[sess.Client]
	if cs == nil {
		cs = &clientSockets{addr: sess.Address, conns: map[*websocket.Conn]struct{}{}}
		s.m[sess.Client] = cs
	}
	cs.conns[c] = struct{}{}
}

func (s *sockets) remove(cid signin.ClientID, c *websocket.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cs := s.m[cid]; cs != nil {
		delete(cs.conns, c)
		if len(cs.conns) == 0 {
			delete(s.m, cid)
		}
	}
}

// closeClient closes every socket of cid with reason.
func (s *sockets) closeClient(cid signin.ClientID, code websocket.StatusCode, reason string) {
	s.closeWhere(func(c signin.ClientID, _ keys.Address) bool { return c == cid }, code, reason)
}

// closeAddressExcept closes the sockets of every client of addr but keep
// (a wallet override revoked them all).
func (s *sockets) closeAddressExcept(addr keys.Address, keep signin.ClientID, code websocket.StatusCode, reason string) {
	s.closeWhere(func(c signin.ClientID, a keys.Address) bool { return a == addr && c != keep }, code, reason)
}

func (s *sockets) closeWhere(match func(signin.ClientID, keys.Address) bool, code websocket.StatusCode, reason string) {
	var conns []*websocket.Conn
	s.mu.Lock()
	for cid, cs := range s.m {
		if match(cid, cs.addr) {
			for c := range cs.conns {
				conns = append(conns, c)
			}
			delete(s.m, cid)
		}
	}
	s.mu.Unlock()
	for _, c := range conns {
		go c.Close(code, reason)
	}
}
