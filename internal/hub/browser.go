package hub

import (
	"net/http"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/auth"
)

// Browsers (docs/SPEC.md §11.9). A page logs in with "cookie": true and
// gets its access token as a cookie that script cannot read, sent only to
// this origin, never cross-site. Because a browser attaches that cookie by
// itself, every state-changing request a browser makes is checked for
// forgery, and no other origin may read the API (CORS stays closed).

// SessionCookie holds a browser's access token. The __Host- prefix makes
// the browser insist on Secure, Path=/ and no Domain: no other host, not
// even a sibling subdomain, can set or shadow it.
const SessionCookie = "__Host-camchain-session"

// CSRFHeader must be on every state-changing request that a session
// cookie authenticates, and on every request asking for one (a login,
// renewal or device pickup with "cookie": true). A cross-origin page cannot
// add a custom header without a CORS preflight, and preflights are refused.
const CSRFHeader = "X-Camchain-CSRF"

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// browserGuard is the API's outer layer: it refuses CORS preflights and
// cross-origin state-changing requests, and sets the headers that keep
// other origins from embedding or reading responses.
func (h *Hub) browserGuard(next http.Handler) http.Handler {
	xo := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		// HSTS binds the whole host, every port, for a year: only for the
		// user's own certificate (a generated one is self-signed, and
		// browsers ignore HSTS over a certificate they do not trust).
		if h.tlsOn && h.cfg.TLSCertFile != "" {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if r.Method == http.MethodOptions {
			writeError(w, api.Errorf(api.ErrForbidden, "cross-origin requests are not served: this API sends no CORS headers and refuses preflights"))
			return
		}
		if !safeMethod(r.Method) {
			if err := xo.Check(r); err != nil {
				writeError(w, api.Errorf(api.ErrForbidden, "cross-origin request refused (Sec-Fetch-Site / Origin): state-changing requests must come from %s", h.auth.Origin()))
				return
			}
		}
		if o := r.Header.Get("Origin"); o != "" && !safeMethod(r.Method) && o != h.auth.Origin().String() {
			writeError(w, api.Errorf(api.ErrForbidden, "request from origin %q refused: state-changing requests must come from %s", o, h.auth.Origin()))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// csrfChecked reports whether a browser request carries the CSRF header.
func csrfChecked(r *http.Request) error {
	if r.Header.Get(CSRFHeader) != "1" {
		return api.Errorf(api.ErrForbidden, "a browser request authenticated by (or asking for) the session cookie must carry the header %s: 1", CSRFHeader)
	}
	return nil
}

// withCookie is a handler's answer that also sets (or clears) the session
// cookie.
type withCookie struct {
	body   any
	cookie *http.Cookie
}

// sessionCookie carries an access token good until exp.
func sessionCookie(token string, exp time.Time) *http.Cookie {
	return &http.Cookie{Name: SessionCookie, Value: token, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: max(1, int(time.Until(exp).Seconds()))}
}

// clearedCookie makes the browser drop the session cookie.
func clearedCookie() *http.Cookie {
	return &http.Cookie{Name: SessionCookie, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: -1}
}

// grantAnswer is a login's session for the body and, for a browser that
// asked for the cookie, the cookie that carries its token instead (then
// the body has no token).
func grantAnswer(g *auth.Grant, cookie bool) (api.Session, *http.Cookie) {
	v := sessionView(g)
	if !cookie || g.Pending {
		return v, nil // a pending client has no token to put in a cookie
	}
	v.AccessToken, v.TokenType = "", "Cookie"
	return v, sessionCookie(g.AccessToken, g.Expires)
}

// answer is body, with the cookie set if there is one.
func answer(body any, c *http.Cookie) any {
	if c == nil {
		return body
	}
	return withCookie{body: body, cookie: c}
}

// wantsCookie checks a request that asks for the session cookie.
func wantsCookie(r *http.Request, cookie bool) error {
	if !cookie {
		return nil
	}
	return csrfChecked(r)
}

// authLogout clears the session cookie. It needs no valid token: a page
// whose token expired must still be able to drop it.
func (h *Hub) authLogout(r *http.Request) (any, error) {
	if err := decodeJSONBody(r, &api.Empty{}); err != nil {
		return nil, err
	}
	if _, err := r.Cookie(SessionCookie); err == nil {
		if err := csrfChecked(r); err != nil {
			return nil, err
		}
	}
	return withCookie{body: api.LoggedOut{LoggedOut: true}, cookie: clearedCookie()}, nil
}

// authTicket issues a single-use WebSocket ticket for the caller's session.
func (h *Hub) authTicket(r *http.Request) (any, error) {
	if err := decodeJSONBody(r, &api.Empty{}); err != nil {
		return nil, err
	}
	t, exp, err := h.auth.Ticket(sessionOf(r))
	if err != nil {
		return nil, authError(err)
	}
	return api.Ticket{Ticket: t, Expires: exp.UTC().Format(time.RFC3339)}, nil
}
