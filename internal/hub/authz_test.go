package hub

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/verify/verifytest"
)

// authzCase is one route's authorization test: a request to it, and who
// must be let in. The callers are an owner of the camera, a viewer with a
// live grant, and a stranger who is logged in but owns nothing.
type authzCase struct {
	method, path, body string
	viewer, stranger   bool // let in (true) or forbidden (false); the owner is always let in
}

// authzCases holds a case for every route of docs/openapi.yaml:
// TestEveryRouteHasAnAuthorizationTest fails for a route without one, so a
// new route cannot slip through unchecked. {camera} and {owner} are
// filled in by the test.
var authzCases = map[string]authzCase{
	"GET /api/v1/devices/{camera}":               {"GET", "/api/v1/devices/{camera}", "", true, true}, // a stranger sees only owned and epoch (TestAuthorizationFollowsLedger)
	"GET /api/v1/devices/{camera}/grants":        {"GET", "/api/v1/devices/{camera}/grants", "", false, false},
	"GET /api/v1/devices/{camera}/checkpoints":   {"GET", "/api/v1/devices/{camera}/checkpoints", "", true, false},
	"GET /api/v1/devices/{camera}/recordings":    {"GET", "/api/v1/devices/{camera}/recordings", "", true, false},
	"GET /api/v1/devices/{camera}/records":       {"GET", "/api/v1/devices/{camera}/records", "", true, false},
	"GET /api/v1/devices/{camera}/timeline":      {"GET", "/api/v1/devices/{camera}/timeline?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z", "", true, false},
	"GET /api/v1/devices/{camera}/evidence":      {"GET", "/api/v1/devices/{camera}/evidence?from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z", "", true, false},
	"GET /api/v1/devices/{camera}/envelopes":     {"GET", "/api/v1/devices/{camera}/envelopes", "", true, false},
	"GET /api/v1/devices/{camera}/history-keys":  {"GET", "/api/v1/devices/{camera}/history-keys", "", true, false},
	"POST /api/v1/devices/{camera}/history-keys": {"POST", "/api/v1/devices/{camera}/history-keys", `{"envelope":"0x00"}`, false, false},
	"GET /api/v1/devices/{camera}/witness":       {"GET", "/api/v1/devices/{camera}/witness", "", false, false},
	"GET /api/v1/devices/{camera}/play":          {"GET", "/api/v1/devices/{camera}/play", "", true, false}, // a plain GET: 400 for those let in (TestPlayback* for the socket)
	"POST /api/v1/devices/{camera}/resync":       {"POST", "/api/v1/devices/{camera}/resync", `{"resync":"0x00"}`, false, false},
	"GET /api/v1/owners/{owner}/devices":         {"GET", "/api/v1/owners/{owner}/devices", "", false, false},
	"GET /api/v1/viewers/{viewer}/devices":       {"GET", "/api/v1/viewers/{owner}/devices", "", false, false}, // the owner's own list; viewer and stranger are forbidden it
	"GET /api/v1/devices/{camera}/status":        {"GET", "/api/v1/devices/{camera}/status", "", true, false},
	"POST /api/v1/pairings/relay":                {"POST", "/api/v1/pairings/relay", "{}", true, true}, // any session; the owner in the body must be the caller (TestPairRelay)
	"GET /api/v1/audit":                          {"GET", "/api/v1/audit?camera={camera}", "", false, false},
	"GET /api/v1/txs/{hash}":                     {"GET", "/api/v1/txs/0x" + strings.Repeat("ab", 32), "", true, true},
	"GET /api/v1/nonces/{signer}/{nonce}":        {"GET", "/api/v1/nonces/{owner}/1", "", true, true},
	"GET /api/v1/viewing-keys/{account}":         {"GET", "/api/v1/viewing-keys/{owner}", "", true, true}, // public keys, to anyone logged in
	"GET /api/v1/auth/session":                   {"GET", "/api/v1/auth/session", "", true, true},
	"GET /api/v1/auth/clients":                   {"GET", "/api/v1/auth/clients", "", true, true},
	"POST /api/v1/auth/clients/{client}/revoke":  {"POST", "/api/v1/auth/clients/" + strings.Repeat("ab", 16) + "/revoke", "{}", true, true},
	// Anyone logged in may ask; another address's record is 404 whether it
	// exists or not (TestLoginRecordsOnTheLedger).
	"GET /api/v1/auth/logins/{record}":           {"GET", "/api/v1/auth/logins/0x" + strings.Repeat("ab", 32), "", true, true},
	"POST /api/v1/auth/ticket":                   {"POST", "/api/v1/auth/ticket", "{}", true, true},
	"POST /api/v1/auth/clients/{client}/approve": {"POST", "/api/v1/auth/clients/" + strings.Repeat("ab", 16) + "/approve", "{}", true, true},
	// Public: status, the login endpoints, link information for pairing,
	// submission of signed transactions.
	"GET /api/v1/status":      {"GET", "/api/v1/status", "", true, true},
	"GET /api/v1/auth/nonce":  {"GET", "/api/v1/auth/nonce", "", true, true},
	"POST /api/v1/auth/login": {"POST", "/api/v1/auth/login", "{}", true, true},
	"POST /api/v1/auth/renew": {"POST", "/api/v1/auth/renew", "{}", true, true},
	"GET /api/v1/link":        {"GET", "/api/v1/link", "", true, true},
	// The validator set: a ledger fact the validators sign, public as the
	// signed headers that carry it.
	"GET /api/v1/validators": {"GET", "/api/v1/validators", "", true, true},
	"POST /api/v1/txs":       {"POST", "/api/v1/txs", `{"tx":"0xdeadbeef"}`, true, true},
	"POST /api/v1/pairings":  {"POST", "/api/v1/pairings", "{}", true, true},
	// The device flow and logout are login endpoints: the approval
	// signature authenticates, the browser's secret collects.
	"POST /api/v1/auth/logout":                {"POST", "/api/v1/auth/logout", "{}", true, true},
	"POST /api/v1/auth/device":                {"POST", "/api/v1/auth/device", `{"client":"` + strings.Repeat("cd", 16) + `"}`, true, true},
	"GET /api/v1/auth/device/{code}":          {"GET", "/api/v1/auth/device/AAAA-AAAA", "", true, true},
	"POST /api/v1/auth/device/{code}/approve": {"POST", "/api/v1/auth/device/AAAA-AAAA/approve", "{}", true, true},
	"POST /api/v1/auth/device/token":          {"POST", "/api/v1/auth/device/token", "{}", true, true},
}

// publicRoutes are the only routes served without a token.
var publicRoutes = map[string]bool{
	"GET /api/v1/status": true, "GET /api/v1/auth/nonce": true, "POST /api/v1/auth/login": true,
	"POST /api/v1/auth/renew": true, "GET /api/v1/link": true, "POST /api/v1/txs": true, "POST /api/v1/pairings": true,
	"POST /api/v1/auth/logout": true, "POST /api/v1/auth/device": true, "GET /api/v1/auth/device/{code}": true,
	"POST /api/v1/auth/device/{code}/approve": true, "POST /api/v1/auth/device/token": true,
	"GET /api/v1/validators": true,
}

// authzHub is a hub with a camera owned by owner, viewer granted on it,
// and a stranger; all three logged in.
type authzHub struct {
	h                                *Hub
	base                             string
	c                                *api.Client
	chainID                          uint64
	owner, viewer, stranger, cam     *keys.PrivateKey
	ownerTok, viewerTok, strangerTok string
}

func startAuthzHub(t *testing.T, grant func(now uint64) *tx.Grant) *authzHub {
	t.Helper()
	owner := recordsTestKey(t)
	h := startTestHubWith(t, func(c *Config) { c.Owner = owner.Address() }) // the camera's owner owns the hub too
	a := &authzHub{h: h, base: "http://" + h.Addr()}
	a.c, _ = api.NewClient(a.base)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := a.c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.chainID = st.EVMChainID
	a.owner, a.viewer, a.stranger, a.cam = owner, recordsTestKey(t), recordsTestKey(t), recordsTestKey(t)
	a.submit(t, &tx.Imprint{Camera: a.cam.Address(), Owner: a.owner.Address(), Hub: h.Address()}, a.owner, a.cam)
	g := grant(uint64(time.Now().Unix()))
	g.Camera, g.Viewer = a.cam.Address(), a.viewer.Address()
	a.submit(t, g, a.owner)
	a.ownerTok = loginToken(t, ctx, a.c, a.owner)
	a.viewerTok = loginToken(t, ctx, a.c, a.viewer)
	a.strangerTok = loginToken(t, ctx, a.c, a.stranger)
	return a
}

// submit signs m (filling nonce and expiry) and commits it.
func (a *authzHub) submit(t *testing.T, m tx.Msg, ks ...*keys.PrivateKey) {
	t.Helper()
	setNonce(m)
	s, err := tx.Sign(a.chainID, m, ks...)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := s.Encode()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := a.c.Submit(ctx, raw); err != nil {
		t.Fatalf("%T: %v", m, err)
	}
}

func setNonce(m tx.Msg) {
	n, e := tx.NewNonce(), tx.ExpiryIn(time.Minute)
	switch m := m.(type) {
	case *tx.Imprint:
		m.Nonce, m.Expiry = n, e
	case *tx.Grant:
		m.Nonce, m.Expiry = n, e
	case *tx.Revoke:
		m.Nonce, m.Expiry = n, e
	case *tx.Transfer:
		m.Nonce, m.Expiry = n, e
	case *tx.Reset:
		m.Nonce, m.Expiry = n, e
	}
}

// status sends one request with token ("" for none) and returns the status.
func (a *authzHub) status(t *testing.T, method, path, body, token string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (a *authzHub) fill(path string) string {
	return strings.NewReplacer("{camera}", a.cam.Address().Hex(), "{owner}", a.owner.Address().Hex()).Replace(path)
}

// TestEveryRouteHasAnAuthorizationTest derives the routes from
// docs/openapi.yaml and, for each, tries it as an attacker would: with no
// token, a forged one, and the token of a logged-in stranger (and of a
// viewer where the owner alone may). Public routes must be exactly the
// ones the issue allows, and the file must say which routes need a token.
func TestEveryRouteHasAnAuthorizationTest(t *testing.T) {
	doc := loadOpenAPI(t)
	ops := doc.operations(t)
	a := startAuthzHub(t, func(now uint64) *tx.Grant { return &tx.Grant{ValidUntil: now + 3600} })
	forged := a.ownerTok[:len(a.ownerTok)-4] + "AAAA"
	if forged == a.ownerTok {
		forged = a.ownerTok[:len(a.ownerTok)-4] + "BBBB"
	}
	policies := map[string]policy{}
	for _, r := range a.h.routeTable() {
		policies[r.method+" "+api.Prefix+r.path] = r.policy
	}
	for key, op := range ops {
		tc, ok := authzCases[key]
		if !ok {
			t.Errorf("route %s has no authorization test (add it to authzCases)", key)
			continue
		}
		pub := policies[key] == public
		if pub != publicRoutes[key] {
			t.Errorf("%s: policy %s, but the public routes are only %v", key, policies[key], publicRoutes)
		}
		if documented := len(op.Security) > 0; documented == pub {
			t.Errorf("%s: docs/openapi.yaml security %v disagrees with policy %s", key, op.Security, policies[key])
		}
		path := a.fill(tc.path)
		denied := func(code int) bool { return code == http.StatusUnauthorized || code == http.StatusForbidden }
		if pub {
			if code, body := a.status(t, tc.method, path, tc.body, ""); denied(code) {
				t.Errorf("%s: public route refused without a token: %d %s", key, code, body)
			}
			continue
		}
		for name, tok := range map[string]string{"no token": "", "forged token": forged, "not a bearer": "x"} {
			if code, body := a.status(t, tc.method, path, tc.body, tok); code != http.StatusUnauthorized {
				t.Errorf("%s with %s: %d, want 401: %s", key, name, code, body)
			}
		}
		for _, who := range []struct {
			name    string
			tok     string
			allowed bool
		}{{"owner", a.ownerTok, true}, {"viewer", a.viewerTok, tc.viewer}, {"stranger", a.strangerTok, tc.stranger}} {
			code, body := a.status(t, tc.method, path, tc.body, who.tok)
			if who.allowed && denied(code) {
				t.Errorf("%s as %s: refused %d: %s", key, who.name, code, body)
			}
			if !who.allowed && code != http.StatusForbidden {
				t.Errorf("%s as %s: %d, want 403: %s", key, who.name, code, body)
			}
		}
	}
	for key := range authzCases {
		if ops[key] == nil {
			t.Errorf("authzCases has %s, which docs/openapi.yaml does not document", key)
		}
	}
}

// TestAuthorizationFollowsLedger: a revoke, a transfer and a reset take
// effect on the very next request; an expired grant ends access; a viewer
// sees recordings from the grant's history-from on only; an address that
// owns nothing logs in and sees nothing.
func TestAuthorizationFollowsLedger(t *testing.T) {
	start := time.Now().Add(-time.Minute).Truncate(time.Second)
	histFrom := start.Add(7 * time.Second) // records start every 2 s: #4.. are on or after it
	a := startAuthzHub(t, func(now uint64) *tx.Grant {
		return &tx.Grant{HistoryFrom: uint64(histFrom.Unix())}
	})
	camHex := a.cam.Address().Hex()
	chain := verifytest.NewChain(a.cam, 0)
	if err := chain.AppendRandom(7, 100, 1, start); err != nil {
		t.Fatal(err)
	}
	sc, err := a.h.Store().Chain(a.cam.Address(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range chain.Records {
		if err := sc.Append(r, chain.Segments[i]); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	as := func(tok string) *api.Client {
		c, _ := api.NewClient(a.base)
		return c.WithCredentials(api.StaticToken(tok))
	}
	owner, viewer, stranger := as(a.ownerTok), as(a.viewerTok), as(a.strangerTok)

	// History-from: the owner sees all 7, the viewer #4..#6.
	if r, err := owner.Recordings(ctx, camHex, -1, 0, 0); err != nil || len(r.Items) != 7 {
		t.Fatalf("owner's recordings: %+v, %v", r, err)
	}
	r, err := viewer.Recordings(ctx, camHex, -1, 0, 0)
	if err != nil || len(r.Items) != 3 || r.Items[0].Seq != 4 {
		t.Fatalf("viewer's recordings (history from #4): %+v, %v", r, err)
	}
	if l, err := viewer.Records(ctx, camHex, -1, 0, 0); err != nil || len(l.Items) != 3 {
		t.Fatalf("viewer's records (history from #4): %+v, %v", l, err)
	}
	// A viewer sees its own grant, not who else watches; not the grant list.
	d, err := viewer.Device(ctx, camHex)
	if err != nil || len(d.Grants) != 1 || d.Grants[0].Viewer != a.viewer.Address().Hex() {
		t.Fatalf("viewer's device view: %+v, %v", d, err)
	}
	if _, err := viewer.Grants(ctx, camHex); api.CodeOf(err) != api.ErrForbidden {
		t.Fatalf("viewer listing grants: %v, want forbidden", err)
	}

	// An address that owns nothing logs in and sees nothing: of a camera,
	// only that it is owned and its epoch (what pairing needs).
	if d, err := stranger.Device(ctx, camHex); err != nil || !d.Owned || d.Owner != "" || d.Hub != "" || len(d.Grants) != 0 || d.ImprintedAt != "" {
		t.Fatalf("stranger's view of the device: %+v, %v", d, err)
	}
	if ds, err := stranger.DevicesOf(ctx, a.stranger.Address().Hex()); err != nil || len(ds) != 0 {
		t.Fatalf("stranger's devices: %v, %v", ds, err)
	}
	if _, err := stranger.Recordings(ctx, camHex, -1, 0, 0); api.CodeOf(err) != api.ErrForbidden {
		t.Fatalf("stranger's recordings: %v, want forbidden", err)
	}
	if ev, err := stranger.Audit(ctx, api.AuditQuery{}); err != nil {
		t.Fatal(err)
	} else {
		for _, e := range ev.Items {
			if e.Camera != "" {
				t.Fatalf("stranger sees a camera's event: %+v", e)
			}
		}
	}

	// Revoke: the viewer is out on the very next request.
	a.submit(t, &tx.Revoke{Camera: a.cam.Address(), Viewer: a.viewer.Address()}, a.owner)
	if _, err := viewer.Recordings(ctx, camHex, -1, 0, 0); api.CodeOf(err) != api.ErrForbidden {
		t.Fatalf("revoked viewer: %v, want forbidden", err)
	}
	// A grant that runs out ends access without a transaction.
	a.submit(t, &tx.Grant{Camera: a.cam.Address(), Viewer: a.viewer.Address(), ValidUntil: uint64(time.Now().Unix()) + 2}, a.owner)
	if _, err := viewer.Recordings(ctx, camHex, -1, 0, 0); err != nil {
		t.Fatalf("viewer under a fresh grant: %v", err)
	}
	time.Sleep(3 * time.Second)
	if _, err := viewer.Recordings(ctx, camHex, -1, 0, 0); api.CodeOf(err) != api.ErrForbidden {
		t.Fatalf("viewer after the grant expired: %v, want forbidden", err)
	}

	// Transfer: the old owner is out, the new one in, on the next request.
	a.submit(t, &tx.Transfer{Camera: a.cam.Address(), NewOwner: a.stranger.Address()}, a.owner)
	if _, err := owner.Recordings(ctx, camHex, -1, 0, 0); api.CodeOf(err) != api.ErrForbidden {
		t.Fatalf("old owner after a transfer: %v, want forbidden", err)
	}
	if r, err := stranger.Recordings(ctx, camHex, -1, 0, 0); err != nil || len(r.Items) != 7 {
		t.Fatalf("new owner's recordings: %+v, %v", r, err)
	}
	// Reset (signed by the camera): nobody owns it; its old epoch is not served.
	a.submit(t, &tx.Reset{Camera: a.cam.Address()}, a.cam)
	if _, err := stranger.Recordings(ctx, camHex, -1, 0, 0); api.CodeOf(err) != api.ErrForbidden {
		t.Fatalf("owner after a reset: %v, want forbidden", err)
	}
	if _, err := stranger.Recordings(ctx, camHex, 0, 0, 0); api.CodeOf(err) != api.ErrForbidden {
		t.Fatalf("the epoch before a reset: %v, want forbidden", err)
	}
}
