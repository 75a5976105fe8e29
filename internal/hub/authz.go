package hub

import (
	"context"
	"net/http"
	"strings"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/auth"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
)

// policy is who may call a route (docs/SPEC.md §11.6). Every route in the
// route table names one; TestEveryRouteHasAnAuthorizationTest keeps a
// negative test for each.
type policy int

const (
	// public: no token. Only status, the login endpoints, link information
	// for pairing and the submission of signed transactions.
	public policy = iota
	// session: any valid token (the caller's own data: its clients, a
	// transaction's result).
	session
	// self: the {owner} (or {viewer}) in the path is the caller.
	self
	// cameraOwner: the caller owns the {camera} in the path.
	cameraOwner
	// cameraViewer: the caller owns the {camera}, or holds a live grant on
	// it (and then sees recordings from the grant's history-from on only).
	cameraViewer
	// auditScope: the caller's own events (principal) or those of a camera
	// it owns.
	auditScope
	// deviceRecord: cameraViewer and the camera itself (its agent reads
	// its own record); any other caller gets only whether the camera is
	// owned and its epoch, which pairing needs — not who owns or watches it.
	deviceRecord
	// hubOwner: the caller is the hub's owner (--owner): its operational
	// status, which no camera's owner or viewer as such may read.
	hubOwner
	// socketViewer: cameraViewer for a WebSocket (playback). A handshake
	// with a token is authorized as cameraViewer; one without authenticates
	// in its first message with a ticket (§11.9) and is then authorized the
	// same way, and re-checked while it streams.
	socketViewer
)

func (p policy) String() string {
	return [...]string{"public", "session", "self", "camera-owner", "camera-viewer", "audit-scope", "device-record", "hub-owner", "socket-viewer"}[p]
}

type ctxKey int

const (
	sessionKey ctxKey = iota
	accessKey
)

// access is what a camera route may serve the caller: the device as the
// ledger has it at this request, and, for a viewer, from when on.
type access struct {
	dev         *ledger.Device
	owner       bool
	viewer      keys.Address
	historyFrom uint64 // Unix seconds; 0: all of this epoch
	limited     bool   // a stranger's view of a device record: owned and epoch only
}

func sessionOf(r *http.Request) auth.Session {
	s, _ := r.Context().Value(sessionKey).(auth.Session)
	return s
}

func accessOf(r *http.Request) *access {
	a, _ := r.Context().Value(accessKey).(*access)
	return a
}

// historyFrom is the earliest recording time (Unix seconds) the caller may
// see: a viewer's grant's history-from, else 0 (everything).
func historyFrom(r *http.Request) uint64 {
	if a := accessOf(r); a != nil && !a.owner {
		return a.historyFrom
	}
	return 0
}

// bearer is the access token of Authorization: Bearer <token>.
func bearer(r *http.Request) string {
	v := r.Header.Get("Authorization")
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

// authorize checks the request against p, reading the ledger state at this
// request: a revoke, a transfer or a reset takes effect on the next one.
func (h *Hub) authorize(p policy, r *http.Request) (*http.Request, error) {
	if p == public {
		return r, nil
	}
	if h.cfg.BenchNoAuthz {
		return h.benchAuthorize(p, r)
	}
	tok, viaCookie := bearer(r), false
	if tok == "" {
		if c, err := r.Cookie(SessionCookie); err == nil {
			tok, viaCookie = c.Value, true
		}
	}
	if p == socketViewer {
		if bearer(r) == "" && isWebSocket(r) {
			return r, nil // authenticates in its first message, ticket or cookie (servePlay)
		}
		p = cameraViewer
	}
	if viaCookie && !safeMethod(r.Method) {
		if err := csrfChecked(r); err != nil {
			return nil, err
		}
	}
	sess, err := h.auth.Authenticate(tok)
	if err != nil {
		// Any token that does not stand (a revoked client's included) is
		// a 401: log in again.
		return nil, api.Errorf(api.ErrUnauthenticated, "%v; log in (POST %s/auth/login)", err, api.Prefix)
	}
	ctx := context.WithValue(r.Context(), sessionKey, sess)
	switch p {
	case self:
		name := "owner"
		if r.PathValue("viewer") != "" {
			name = "viewer"
		}
		o, err := addrParam(r, name)
		if err != nil {
			return nil, err
		}
		if o != sess.Address {
			return nil, api.Errorf(api.ErrForbidden, "%s may list only its own cameras", sess.Address.Hex())
		}
	case cameraOwner, cameraViewer, deviceRecord:
		a, err := h.cameraAccess(r, sess.Address, p)
		if err != nil {
			return nil, err
		}
		ctx = context.WithValue(ctx, accessKey, a)
	case auditScope:
		if err := h.auditAccess(r, sess.Address); err != nil {
			return nil, err
		}
	case hubOwner:
		if err := h.hubOwnerAccess(sess.Address); err != nil {
			return nil, err
		}
	}
	return r.WithContext(ctx), nil
}

// cameraAccess decides what addr may see of the camera in the path. Only
// the camera's current epoch is served: an earlier one may have had
// another owner.
func (h *Hub) cameraAccess(r *http.Request, addr keys.Address, p policy) (*access, error) {
	ownerOnly := p == cameraOwner
	d, err := h.ledgerDevice(r)
	if err != nil {
		return nil, err
	}
	epoch, err := uintQuery(r, "epoch", d.Epoch)
	if err != nil {
		return nil, err
	}
	if epoch != d.Epoch {
		return nil, api.Errorf(api.ErrForbidden, "camera %s: only its current epoch %d is served (an earlier one may have had another owner)", d.Camera.Hex(), d.Epoch)
	}
	if d.Owned() && d.Owner == addr {
		return &access{dev: d, owner: true}, nil
	}
	if p == deviceRecord && d.Camera == addr {
		return &access{dev: d, viewer: addr}, nil
	}
	if !ownerOnly {
		t := now()
		for _, g := range d.Grants {
			if g.Viewer == addr && g.Active(t) {
				return &access{dev: d, viewer: addr, historyFrom: g.HistoryFrom}, nil
			}
		}
	}
	if p == deviceRecord {
		return &access{dev: d, viewer: addr, limited: true}, nil
	}
	what := "the owner of nor a viewer granted"
	if ownerOnly {
		what = "the owner of"
	}
	return nil, api.Errorf(api.ErrForbidden, "%s is not %s camera %s", addr.Hex(), what, d.Camera.Hex())
}

// auditAccess lets addr list its own events (principal=addr, the default)
// and those of the cameras it owns (camera=…).
func (h *Hub) auditAccess(r *http.Request, addr keys.Address) error {
	q := r.URL.Query()
	cam, err := addrQuery(r, "camera")
	if err != nil {
		return err
	}
	princ, err := addrQuery(r, "principal")
	if err != nil {
		return err
	}
	if princ != (keys.Address{}) && princ != addr {
		return api.Errorf(api.ErrForbidden, "%s may list only its own events (principal=%s)", addr.Hex(), addr.Hex())
	}
	if cam != (keys.Address{}) {
		d, err := h.node.App.Device(cam)
		if err != nil {
			return err
		}
		if d == nil || !d.Owned() || d.Owner != addr {
			return api.Errorf(api.ErrForbidden, "%s does not own camera %s", addr.Hex(), cam.Hex())
		}
		return nil
	}
	if princ == (keys.Address{}) {
		q.Set("principal", addr.Hex())
		r.URL.RawQuery = q.Encode()
	}
	return nil
}

// benchAuthorize is authorization switched off, for the benchmark that
// measures its cost only: the device is looked up as authorize would, and
// the caller is treated as the owner.
func (h *Hub) benchAuthorize(p policy, r *http.Request) (*http.Request, error) {
	if p != cameraOwner && p != cameraViewer && p != deviceRecord && p != socketViewer {
		return r, nil
	}
	d, err := h.ledgerDevice(r)
	if err != nil {
		return nil, err
	}
	return r.WithContext(context.WithValue(r.Context(), accessKey, &access{dev: d, owner: true})), nil
}
