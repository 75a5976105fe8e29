package hub

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/auth"
	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// browserHub is a hub and a browser's view of it: plain requests with the
// headers a browser would send.
type browserHub struct {
	h    *Hub
	base string
}

type req struct {
	method, path, body string
	hdr                map[string]string
	cookie             string // the session cookie's value, if any
}

func (b *browserHub) do(t *testing.T, r req) (*http.Response, map[string]any) {
	t.Helper()
	var rd io.Reader
	if r.body != "" {
		rd = strings.NewReader(r.body)
	}
	hr, err := http.NewRequest(r.method, b.base+r.path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.hdr {
		hr.Header.Set(k, v)
	}
	if r.cookie != "" {
		hr.AddCookie(&http.Cookie{Name: SessionCookie, Value: r.cookie})
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	data, _ := io.ReadAll(resp.Body)
	json.Unmarshal(data, &v)
	return resp, v
}

// loginBody is a signed POST /auth/login body for k on a new client.
func (b *browserHub) loginBody(t *testing.T, k *keys.PrivateKey, cookie bool) string {
	t.Helper()
	var n api.Nonce
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nr, err := http.NewRequestWithContext(ctx, "GET", b.base+"/api/v1/auth/nonce", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(nr)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&n)
	resp.Body.Close()
	now := time.Now().UTC()
	m := &signin.Message{Domain: n.Domain, Address: k.Address(), Statement: n.Statement, URI: n.URI, Version: "1",
		ChainID: n.ChainID, Nonce: n.Nonce, IssuedAt: now.Format(time.RFC3339)}
	sig, err := k.SignText([]byte(m.String()))
	if err != nil {
		t.Fatal(err)
	}
	cid, _ := signin.NewClientID()
	body, _ := json.Marshal(api.LoginRequest{Message: m.String(), Signature: sig.Hex(), Client: cid.String(), Cookie: cookie})
	return string(body)
}

func startBrowserHub(t *testing.T) *browserHub {
	h := startTestHub(t)
	return &browserHub{h: h, base: "http://" + h.Addr()}
}

// sessionCookieOf returns the session cookie a response set, checking its
// attributes.
func sessionCookieOf(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" {
				t.Errorf("session cookie attributes: %+v (raw %q)", c, resp.Header.Get("Set-Cookie"))
			}
			return c
		}
	}
	t.Fatalf("no %s cookie set: %v", SessionCookie, resp.Header.Values("Set-Cookie"))
	return nil
}

func TestBrowserCookieLoginAndCSRF(t *testing.T) {
	b := startBrowserHub(t)
	k := recordsTestKey(t)
	csrf := map[string]string{CSRFHeader: "1", "Origin": b.base, "Sec-Fetch-Site": "same-origin"}

	// A login asking for the cookie without the CSRF header is refused:
	// another site could otherwise log a victim in as the attacker.
	if resp, v := b.do(t, req{method: "POST", path: "/api/v1/auth/login", body: b.loginBody(t, k, true)}); resp.StatusCode != 403 {
		t.Fatalf("cookie login without %s: %d %v", CSRFHeader, resp.StatusCode, v)
	}
	resp, v := b.do(t, req{method: "POST", path: "/api/v1/auth/login", body: b.loginBody(t, k, true), hdr: csrf})
	if resp.StatusCode != 200 {
		t.Fatalf("cookie login: %d %v", resp.StatusCode, v)
	}
	if _, ok := v["access_token"]; ok || v["token_type"] != "Cookie" {
		t.Errorf("a cookie login's body must not carry the token: %v", v)
	}
	ck := sessionCookieOf(t, resp)
	if ck.MaxAge <= 0 || ck.MaxAge > int(auth.DefaultTokenTTL/time.Second) {
		t.Errorf("cookie Max-Age %d", ck.MaxAge)
	}

	// Reads with the cookie alone work (what a same-origin page does).
	if resp, v := b.do(t, req{method: "GET", path: "/api/v1/auth/session", cookie: ck.Value}); resp.StatusCode != 200 || v["address"] != k.Address().Hex() {
		t.Fatalf("GET with the cookie: %d %v", resp.StatusCode, v)
	}
	// State-changing requests with the cookie: only same-origin, with the header.
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"cross-site form post (no header)", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"}, 403},
		{"cross-site with the header", map[string]string{CSRFHeader: "1", "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, 403},
		{"same-site, another port", map[string]string{CSRFHeader: "1", "Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "same-site"}, 403},
		{"old browser: another origin, no Sec-Fetch-Site", map[string]string{CSRFHeader: "1", "Origin": "https://evil.example"}, 403},
		{"origin null", map[string]string{CSRFHeader: "1", "Origin": "null"}, 403},
		{"same-origin without the header", map[string]string{"Origin": b.base, "Sec-Fetch-Site": "same-origin"}, 403},
		{"same-origin with the header", csrf, 200},
	} {
		resp, v := b.do(t, req{method: "POST", path: "/api/v1/auth/ticket", body: "{}", hdr: tc.hdr, cookie: ck.Value})
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d: %v", tc.name, resp.StatusCode, tc.want, v)
		}
		if tc.want == 403 && v["ticket"] != nil {
			t.Errorf("%s: refused yet answered a ticket", tc.name)
		}
	}
	// Logout clears the cookie (and, with the cookie, needs the header).
	if resp, _ := b.do(t, req{method: "POST", path: "/api/v1/auth/logout", body: "{}", cookie: ck.Value}); resp.StatusCode != 403 {
		t.Errorf("logout with the cookie, no header: %d", resp.StatusCode)
	}
	resp, _ = b.do(t, req{method: "POST", path: "/api/v1/auth/logout", body: "{}", cookie: ck.Value, hdr: csrf})
	if c := sessionCookieOf(t, resp); resp.StatusCode != 200 || c.MaxAge >= 0 && c.Value != "" {
		t.Errorf("logout: %d, cookie %+v", resp.StatusCode, c)
	}
}

func TestCORSClosed(t *testing.T) {
	b := startBrowserHub(t)
	for _, r := range []req{
		{method: "OPTIONS", path: "/api/v1/auth/login", hdr: map[string]string{"Origin": "https://evil.example",
			"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type, x-camchain-csrf"}},
		{method: "OPTIONS", path: "/api/v1/status", hdr: map[string]string{"Origin": b.base, "Access-Control-Request-Method": "GET"}},
		{method: "GET", path: "/api/v1/status", hdr: map[string]string{"Origin": "https://evil.example"}},
		{method: "POST", path: "/api/v1/auth/device", body: `{"client":"` + strings.Repeat("ab", 16) + `"}`, hdr: map[string]string{"Origin": "https://evil.example"}},
	} {
		resp, v := b.do(t, r)
		for k := range resp.Header {
			if strings.HasPrefix(strings.ToLower(k), "access-control-") {
				t.Errorf("%s %s from %s: CORS header %s: %s", r.method, r.path, r.hdr["Origin"], k, resp.Header.Get(k))
			}
		}
		if r.method != "GET" && resp.StatusCode != 403 {
			t.Errorf("%s %s from %s: %d, want 403: %v", r.method, r.path, r.hdr["Origin"], resp.StatusCode, v)
		}
		if resp.Header.Get("Cross-Origin-Resource-Policy") != "same-origin" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: headers %v", r.method, r.path, resp.Header)
		}
	}
}

// wsServer serves one authenticated WebSocket per connection with the
// hub's acceptWS, echoing one message back, as a live stream would serve.
func wsServer(t *testing.T, h *Hub) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, sess, err := h.acceptWS(w, r)
		if err != nil {
			return
		}
		defer h.sockets.remove(sess.Client, c)
		defer c.CloseNow()
		ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
		defer cancel()
		if _, msg, err := c.Read(ctx); err == nil {
			c.Write(ctx, websocket.MessageText, msg)
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// wsAuth dials and sends first, returning the hub's first answer or the
// close status.
func wsAuth(t *testing.T, url, origin, first, cookie string) (*websocket.Conn, map[string]any, websocket.StatusCode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	hdr := http.Header{"Origin": {origin}}
	if cookie != "" {
		hdr.Set("Cookie", SessionCookie+"="+cookie)
	}
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		if resp != nil {
			return nil, nil, websocket.StatusCode(resp.StatusCode)
		}
		t.Fatal(err)
	}
	if first != "" {
		if err := c.Write(ctx, websocket.MessageText, []byte(first)); err != nil {
			return nil, nil, websocket.CloseStatus(err)
		}
	}
	_, data, err := c.Read(ctx)
	if err != nil {
		return nil, nil, websocket.CloseStatus(err)
	}
	var v map[string]any
	json.Unmarshal(data, &v)
	return c, v, 0
}

func TestWebSocketTicketAndCookie(t *testing.T) {
	b := startBrowserHub(t)
	k := recordsTestKey(t)
	csrf := map[string]string{CSRFHeader: "1"}
	resp, _ := b.do(t, req{method: "POST", path: "/api/v1/auth/login", body: b.loginBody(t, k, true), hdr: csrf})
	ck := sessionCookieOf(t, resp)
	url := wsServer(t, b.h)

	ticket := func() string {
		_, v := b.do(t, req{method: "POST", path: "/api/v1/auth/ticket", body: "{}", cookie: ck.Value, hdr: csrf})
		s, _ := v["ticket"].(string)
		if len(s) != 64 {
			t.Fatalf("ticket: %v", v)
		}
		return s
	}
	tk := ticket()
	first := `{"type":"auth","ticket":"` + tk + `"}`
	c, hello, code := wsAuth(t, url, b.base, first, "")
	if code != 0 || hello["type"] != "authenticated" || hello["address"] != k.Address().Hex() {
		t.Fatalf("ticket socket: %v %v", hello, code)
	}
	c.CloseNow()
	if _, v, code := wsAuth(t, url, b.base, first, ""); code != wsUnauthenticated {
		t.Errorf("a ticket reused: %v close %d, want %d", v, code, wsUnauthenticated)
	}
	for name, first := range map[string]string{
		"a ticket never issued": `{"type":"auth","ticket":"` + strings.Repeat("ab", 32) + `"}`,
		"a token as a ticket":   `{"type":"auth","ticket":"` + ck.Value + `"}`,
		"not an auth message":   `{"type":"hello"}`,
		"ticket and cookie":     `{"type":"auth","ticket":"` + ticket() + `","cookie":true}`,
		"cookie without cookie": `{"type":"auth","cookie":true}`,
	} {
		if _, v, code := wsAuth(t, url, b.base, first, ""); code != wsUnauthenticated {
			t.Errorf("%s: %v close %d, want %d", name, v, code, wsUnauthenticated)
		}
	}
	// An expired ticket: one whose session ended a second ago expires with
	// it (a ticket never outlives its session).
	sess, err := b.h.auth.Authenticate(ck.Value)
	if err != nil {
		t.Fatal(err)
	}
	sess.Expires = time.Now().Add(-time.Second)
	stale, _, err := b.h.auth.Ticket(sess)
	if err != nil {
		t.Fatal(err)
	}
	ctxE, cancelE := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelE()
	ce, _, err := websocket.Dial(ctxE, url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {b.base}}})
	if err != nil {
		t.Fatal(err)
	}
	ce.Write(ctxE, websocket.MessageText, []byte(`{"type":"auth","ticket":"`+stale+`"}`))
	if _, _, err := ce.Read(ctxE); websocket.CloseStatus(err) != wsUnauthenticated || !strings.Contains(err.Error(), "expired") {
		t.Errorf("an expired ticket: %v, want close %d naming the expiry", err, wsUnauthenticated)
	}
	// A page on another origin (whose socket the browser would send the
	// cookie with, same-site) is refused at the handshake.
	if _, v, code := wsAuth(t, url, "http://127.0.0.1:1", `{"type":"auth","cookie":true}`, ck.Value); code != http.StatusForbidden {
		t.Errorf("cross-origin socket with the cookie: %v %d, want 403", v, code)
	}
	// The cookie, same-origin.
	c, hello, code = wsAuth(t, url, b.base, `{"type":"auth","cookie":true}`, ck.Value)
	if code != 0 || hello["address"] != k.Address().Hex() {
		t.Fatalf("cookie socket: %v %d", hello, code)
	}
	// Revoking the client closes its open socket at once.
	cid, _ := signin.ParseClientID(hello["client"].(string))
	tk2 := ticket()
	if resp, v := b.do(t, req{method: "POST", path: "/api/v1/auth/clients/" + cid.String() + "/revoke", body: "{}", cookie: ck.Value, hdr: csrf}); resp.StatusCode != 200 {
		t.Fatalf("revoke: %d %v", resp.StatusCode, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != wsForbidden {
		t.Errorf("socket of a revoked client: %v, want close %d", err, wsForbidden)
	}
	if _, v, code := wsAuth(t, url, b.base, `{"type":"auth","ticket":"`+tk2+`"}`, ""); code != wsUnauthenticated {
		t.Errorf("a revoked client's unused ticket: %v %d", v, code)
	}
}

// TestWalletOverrideClosesOtherClientsSockets: under the approval policy
// the wallet-signed override revokes every other client of the address,
// and their open WebSockets end at once; another address's socket stays
// open.
func TestWalletOverrideClosesOtherClientsSockets(t *testing.T) {
	a := startAuthzHub(t, func(now uint64) *tx.Grant { return &tx.Grant{ValidUntil: now + 3600} })
	b := &browserHub{h: a.h, base: a.base}
	url := wsServer(t, a.h)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	open := func(key *keys.PrivateKey) *websocket.Conn {
		t.Helper()
		tok := loginToken(t, ctx, a.c, key)
		resp, v := b.do(t, req{method: "POST", path: "/api/v1/auth/ticket", body: "{}", hdr: map[string]string{"Authorization": "Bearer " + tok}})
		if resp.StatusCode != 200 {
			t.Fatalf("ticket: %d %v", resp.StatusCode, v)
		}
		conn, hello, code := wsAuth(t, url, b.base, `{"type":"auth","ticket":"`+v["ticket"].(string)+`"}`, "")
		if code != 0 || hello["address"] != key.Address().Hex() {
			t.Fatalf("socket: %v %d", hello, code)
		}
		return conn
	}
	s1, s2, s3 := open(a.owner), open(a.owner), open(a.viewer)
	sp, _ := tx.Sign(a.chainID, &tx.LoginPolicy{Account: a.owner.Address(), Approval: tx.ApprovalRequired, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, a.owner)
	raw, _ := sp.Encode()
	if _, err := a.c.Submit(ctx, raw); err != nil {
		t.Fatal(err)
	}
	over, _ := signin.NewClientID()
	if _, err := a.c.LoginWith(ctx, a.owner.Address(), a.owner.SignText, over, signin.Head{}, []string{auth.OverrideResource}); err != nil {
		t.Fatalf("override: %v", err)
	}
	for i, s := range []*websocket.Conn{s1, s2} {
		if _, _, err := s.Read(ctx); websocket.CloseStatus(err) != wsForbidden {
			t.Errorf("socket %d of an overridden client: %v, want close %d", i+1, err, wsForbidden)
		}
	}
	if err := s3.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := s3.Read(ctx); err != nil || string(msg) != "ping" {
		t.Errorf("another address's socket: %q %v", msg, err)
	}
}
