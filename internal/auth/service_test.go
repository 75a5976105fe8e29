package auth

import (
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/keys"
)

const (
	testOrigin = "http://127.0.0.1:8080"
	testChain  = 31337
)

var (
	t0     = time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	testIP = netip.MustParseAddr("127.0.0.1")
)

// clock is a settable time source for the service under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	t      *testing.T
	svc    *Service
	clk    *clock
	key    *keys.PrivateKey
	events []Event
	mu     sync.Mutex
}

func newFixture(t *testing.T, mod func(*Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, clk: &clock{t: t0}}
	hub, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	f.key, err = keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Origin: testOrigin, ChainID: testChain, Issuer: hub.Address(), Now: f.clk.now,
		Limits: Limits{FailuresPerIP: -1, FailuresPerAddress: -1},
		Events: func(e Event) { f.mu.Lock(); f.events = append(f.events, e); f.mu.Unlock() }}
	if mod != nil {
		mod(&cfg)
	}
	f.svc, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.svc.Start()
	t.Cleanup(func() {
		if err := f.svc.Close(); err != nil {
			t.Error(err)
		}
	})
	return f
}

func (f *fixture) nonce() string {
	f.t.Helper()
	n, _, err := f.svc.Nonce()
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// message is a valid sign-in message for the fixture's hub by addr.
func (f *fixture) message(addr keys.Address, nonce string) *signin.Message {
	now := f.clk.now()
	return &signin.Message{
		Domain: "127.0.0.1:8080", Address: addr, Statement: "Sign in to camchain.",
		URI: testOrigin, Version: "1", ChainID: testChain, Nonce: nonce,
		IssuedAt:       now.Format(time.RFC3339),
		ExpirationTime: now.Add(5 * time.Minute).Format(time.RFC3339),
	}
}

func sign(t *testing.T, k *keys.PrivateKey, msg string) keys.Signature {
	t.Helper()
	sig, err := k.SignText([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func (f *fixture) login(msg string, sig keys.Signature, cid signin.ClientID, head signin.Head) (*Grant, error) {
	return f.svc.Login(LoginRequest{Message: msg, Signature: sig, Client: cid, Head: head}, testIP)
}

func (f *fixture) newClient() signin.ClientID {
	f.t.Helper()
	c, err := signin.NewClientID()
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// enroll logs the fixture's key in on a new client.
func (f *fixture) enroll() *Grant {
	f.t.Helper()
	msg := f.message(f.key.Address(), f.nonce()).String()
	g, err := f.login(msg, sign(f.t, f.key, msg), f.newClient(), signin.Head{})
	if err != nil {
		f.t.Fatalf("login: %v", err)
	}
	return g
}

func (f *fixture) hasEvent(kind EventKind) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.events {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

func TestLoginIssuesTokenAndEnrolls(t *testing.T) {
	f := newFixture(t, nil)
	g := f.enroll()
	if !g.Enrolled || g.Address != f.key.Address() || g.Head.IsZero() {
		t.Fatalf("grant %+v: want an enrollment for %s with a head", g, f.key.Address().Hex())
	}
	sess, err := f.svc.Authenticate(g.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if sess.Address != f.key.Address() || sess.Client != g.Client {
		t.Fatalf("session %+v", sess)
	}
	if !f.hasEvent(EventEnrolled) {
		t.Fatal("an enrollment must be recorded loudly (client-enrolled event)")
	}
	// The head is the hash of the login record the event carries.
	var rec *Record
	for _, e := range f.events {
		if e.Kind == EventEnrolled {
			rec = e.Record
		}
	}
	if rec == nil || rec.Hash() != g.Head || !rec.Prev.IsZero() || rec.Renewal != RenewalCommitment(g.Renewal) {
		t.Fatalf("enroll record %+v does not match the grant", rec)
	}
	// A second login by the same client continues its chain.
	msg := f.message(f.key.Address(), f.nonce()).String()
	g2, err := f.login(msg, sign(t, f.key, msg), g.Client, g.Head)
	if err != nil {
		t.Fatal(err)
	}
	if g2.Enrolled || g2.Head == g.Head {
		t.Fatalf("second login %+v: want the chain advanced, no enrollment", g2)
	}
}

// TestLoginRefusals tries every way a login must fail, each with its own
// reason, and checks that nothing is issued.
func TestLoginRefusals(t *testing.T) {
	f := newFixture(t, nil)
	other, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	me := f.key.Address()

	// A message that already logged in, for the replay cases.
	usedNonce := f.nonce()
	used := f.message(me, usedNonce).String()
	usedSig := sign(t, f.key, used)
	if _, err := f.login(used, usedSig, f.newClient(), signin.Head{}); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		msg  func() string
		sig  func(msg string) keys.Signature
		want error
	}{
		{"replayed message", func() string { return used }, func(string) keys.Signature { return usedSig }, ErrReplayed},
		{"reused nonce", func() string {
			m := f.message(me, usedNonce)
			m.Statement = "Another message."
			return m.String()
		}, nil, ErrNonceReused},
		{"wrong domain", func() string {
			m := f.message(me, f.nonce())
			m.Domain = "evil.example:8080"
			return m.String()
		}, nil, signin.ErrWrongDomain},
		{"wrong scheme", func() string {
			m := f.message(me, f.nonce())
			m.Scheme = "https"
			return m.String()
		}, nil, signin.ErrWrongDomain},
		{"wrong URI", func() string {
			m := f.message(me, f.nonce())
			m.URI = "http://evil.example/"
			return m.String()
		}, nil, signin.ErrWrongURI},
		{"URI on a lookalike host", func() string {
			m := f.message(me, f.nonce())
			m.URI = testOrigin + "1/"
			return m.String()
		}, nil, signin.ErrWrongURI},
		{"URI with a userinfo lookalike", func() string {
			m := f.message(me, f.nonce())
			m.URI = testOrigin + "@evil.example/"
			return m.String()
		}, nil, signin.ErrWrongURI},
		{"wrong version", func() string {
			m := f.message(me, f.nonce())
			m.Version = "2"
			return m.String()
		}, nil, signin.ErrWrongVersion},
		{"wrong chain id", func() string {
			m := f.message(me, f.nonce())
			m.ChainID = 1
			return m.String()
		}, nil, signin.ErrWrongChain},
		{"expired message", func() string {
			m := f.message(me, f.nonce())
			m.ExpirationTime = f.clk.now().Add(-time.Second).Format(time.RFC3339)
			return m.String()
		}, nil, signin.ErrExpired},
		{"message issued long ago", func() string {
			m := f.message(me, f.nonce())
			m.IssuedAt = f.clk.now().Add(-time.Hour).Format(time.RFC3339)
			return m.String()
		}, nil, signin.ErrExpired},
		{"not yet valid", func() string {
			m := f.message(me, f.nonce())
			m.NotBefore = f.clk.now().Add(time.Hour).Format(time.RFC3339)
			return m.String()
		}, nil, signin.ErrNotYetValid},
		{"issued in the future", func() string {
			m := f.message(me, f.nonce())
			m.IssuedAt = f.clk.now().Add(time.Hour).Format(time.RFC3339)
			return m.String()
		}, nil, signin.ErrIssuedFuture},
		{"nonce this hub never issued", func() string {
			return f.message(me, strings.Repeat("a1", 32)).String()
		}, nil, ErrUnknownNonce},
		{"nonce of another hub", func() string {
			g := newFixture(t, nil)
			return f.message(me, g.nonce()).String()
		}, nil, ErrUnknownNonce},
		{"short nonce", func() string { return f.message(me, "abc").String() }, nil, signin.ErrMalformed},
		{"malformed message", func() string { return "hello" }, nil, signin.ErrMalformed},
		{"CRLF line ends", func() string {
			return strings.ReplaceAll(f.message(me, f.nonce()).String(), "\n", "\r\n")
		}, nil, signin.ErrMalformed},
		{"signature by another key", func() string { return f.message(me, f.nonce()).String() },
			func(msg string) keys.Signature { return sign(t, other, msg) }, signin.ErrOtherSigner},
		{"signature over another message", func() string { return f.message(me, f.nonce()).String() },
			func(string) keys.Signature { return sign(t, f.key, "something else") }, signin.ErrOtherSigner},
		{"garbage signature", func() string { return f.message(me, f.nonce()).String() },
			func(string) keys.Signature { return keys.Signature{1, 2, 3} }, ErrBadSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg := tc.msg()
			var sig keys.Signature
			if tc.sig != nil {
				sig = tc.sig(msg)
			} else {
				sig = sign(t, f.key, msg)
			}
			g, err := f.login(msg, sig, f.newClient(), signin.Head{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if g != nil {
				t.Fatalf("a refused login issued %+v", g)
			}
		})
	}
	// Only the one good login enrolled a client.
	if n := len(f.svc.Clients().List(me)); n != 1 {
		t.Fatalf("%d clients enrolled, want 1", n)
	}
}

func TestNonceExpires(t *testing.T) {
	f := newFixture(t, nil)
	m := f.message(f.key.Address(), f.nonce())
	f.clk.add(signin.DefaultNonceTTL + time.Second)
	m.IssuedAt = f.clk.now().Format(time.RFC3339)
	m.ExpirationTime = ""
	msg := m.String()
	if _, err := f.login(msg, sign(t, f.key, msg), f.newClient(), signin.Head{}); !errors.Is(err, ErrNonceExpired) {
		t.Fatalf("got %v, want %v", err, ErrNonceExpired)
	}
}

func TestTokenRefusals(t *testing.T) {
	f := newFixture(t, nil)
	g := f.enroll()

	// Forged: a flipped signature byte, a token of another hub, alg "none".
	parts := strings.Split(g.AccessToken, ".")
	sig := []byte(parts[2])
	sig[3] ^= 'A' ^ 'B'
	if sig[3] == parts[2][3] {
		sig[3] = 'C'
	}
	forged := parts[0] + "." + parts[1] + "." + string(sig)
	other := newFixture(t, nil).enroll().AccessToken
	none := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + "."
	for name, tok := range map[string]string{"flipped": forged, "other hub": other, "alg none": none, "garbage": "x.y.z", "empty": ""} {
		_, err := f.svc.Authenticate(tok)
		want := ErrTokenForged
		if tok == "" {
			want = ErrNoToken
		}
		if !errors.Is(err, want) {
			t.Errorf("%s token: got %v, want %v", name, err, want)
		}
	}

	// Expired.
	f.clk.add(DefaultTokenTTL + signin.DefaultSkew + time.Second)
	if _, err := f.svc.Authenticate(g.AccessToken); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("expired token: got %v, want %v", err, ErrTokenExpired)
	}
}

func TestKeyRotationKeepsSessionsThenRetires(t *testing.T) {
	f := newFixture(t, nil)
	g := f.enroll()
	if err := f.svc.Keys().Rotate(f.clk.now()); err != nil {
		t.Fatal(err)
	}
	// Right after a rotation the old key still verifies: nobody is logged out.
	if _, err := f.svc.Authenticate(g.AccessToken); err != nil {
		t.Fatalf("token of the previous key after rotation: %v", err)
	}
	if ids := f.svc.Keys().KeyIDs(); len(ids) != 2 {
		t.Fatalf("live keys %v, want 2", ids)
	}
	// New tokens come from the new key.
	g2 := f.enroll()
	f.clk.add(DefaultTokenTTL + signin.DefaultSkew + time.Second)
	if err := f.svc.Keys().Rotate(f.clk.now()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(g.AccessToken); !errors.Is(err, ErrTokenKeyRetired) {
		t.Fatalf("token of a rotated-out key: got %v, want %v", err, ErrTokenKeyRetired)
	}
	// Retiring a key at once (a suspected leak) logs out exactly its tokens.
	f.clk.t = t0
	g3 := f.enroll()
	ids := f.svc.Keys().KeyIDs()
	if err := f.svc.Keys().Retire(ids[len(ids)-1], f.clk.now()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(g3.AccessToken); !errors.Is(err, ErrTokenKeyRetired) {
		t.Fatalf("token of a retired key: got %v, want %v", err, ErrTokenKeyRetired)
	}
	_ = g2
}

func TestKeyringPersists(t *testing.T) {
	path := t.TempDir() + "/keys.json"
	f := newFixture(t, func(c *Config) { c.KeyringPath = path })
	g := f.enroll()
	ring, err := OpenKeyring(path, DefaultKeyRotation, DefaultTokenTTL, f.clk.now())
	if err != nil {
		t.Fatal(err)
	}
	tok := &Tokens{Keys: ring, Issuer: f.svc.tokens.Issuer, Audience: f.svc.tokens.Audience, TTL: DefaultTokenTTL}
	if _, err := tok.Verify(g.AccessToken, f.clk.now()); err != nil {
		t.Fatalf("a restarted hub must accept its tokens: %v", err)
	}
}

func TestRenewAndCloneDetection(t *testing.T) {
	f := newFixture(t, nil)
	g := f.enroll()
	// A copy of the client's state (config directory) taken now.
	copied := *g

	r1, err := f.svc.Renew(RenewRequest{Client: g.Client, Head: g.Head, Renewal: g.Renewal}, testIP)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Head == g.Head || r1.Renewal == g.Renewal {
		t.Fatal("a renewal must advance the head and hand out a new secret")
	}
	// The copy comes second: refused as a clone, alarmed.
	_, err = f.svc.Renew(RenewRequest{Client: copied.Client, Head: copied.Head, Renewal: copied.Renewal}, testIP)
	var ce *CloneError
	if !errors.Is(err, ErrClientClone) || !errors.As(err, &ce) || ce.Client != g.Client {
		t.Fatalf("stale renewal: got %v, want %v", err, ErrClientClone)
	}
	if !f.hasEvent(EventClone) {
		t.Fatal("a clone must raise a client-clone alarm")
	}
	// The copy logging in with the wallet and its stale head is refused too.
	msg := f.message(f.key.Address(), f.nonce()).String()
	if _, err := f.login(msg, sign(t, f.key, msg), copied.Client, copied.Head); !errors.Is(err, ErrClientClone) {
		t.Fatalf("stale login: got %v, want %v", err, ErrClientClone)
	}
	if got := f.svc.Clients().List(f.key.Address())[0].Clones; got != 2 {
		t.Fatalf("clone attempts visible to the owner: %d, want 2", got)
	}
	// A made-up secret is not a clone, just invalid.
	if _, err := f.svc.Renew(RenewRequest{Client: g.Client, Head: r1.Head, Renewal: Renewal{9}}, testIP); !errors.Is(err, ErrRenewalInvalid) {
		t.Fatalf("made-up renewal: got %v, want %v", err, ErrRenewalInvalid)
	}
	// The original carries on.
	if _, err := f.svc.Renew(RenewRequest{Client: g.Client, Head: r1.Head, Renewal: r1.Renewal}, testIP); err != nil {
		t.Fatalf("original after the clone was refused: %v", err)
	}
	// Revoking the client ends its tokens on the next request and its renewals.
	if err := f.svc.Clients().Revoke(f.key.Address(), g.Client, f.clk.now()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(r1.AccessToken); !errors.Is(err, ErrClientRevoked) {
		t.Fatalf("token of a revoked client: got %v, want %v", err, ErrClientRevoked)
	}
}

func TestClientBelongsToOneAddress(t *testing.T) {
	f := newFixture(t, nil)
	g := f.enroll()
	other, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	msg := f.message(other.Address(), f.nonce()).String()
	if _, err := f.login(msg, sign(t, other, msg), g.Client, g.Head); !errors.Is(err, ErrClientAddress) {
		t.Fatalf("got %v, want %v", err, ErrClientAddress)
	}
	if err := f.svc.Clients().Revoke(other.Address(), g.Client, f.clk.now()); !errors.Is(err, ErrUnknownClient) {
		t.Fatalf("another address revoking my client: got %v, want %v", err, ErrUnknownClient)
	}
}

func TestClientsPersist(t *testing.T) {
	path := t.TempDir() + "/clients.json"
	f := newFixture(t, func(c *Config) { c.ClientsPath = path })
	g := f.enroll()
	if err := f.svc.Clients().Flush(); err != nil {
		t.Fatal(err)
	}
	c, err := OpenClients(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.renew(g.Client, g.Head, g.Renewal, f.clk.now()); err != nil {
		t.Fatalf("renew against the reloaded registry: %v", err)
	}
}

// TestRateLimits floods bad logins from one IP and bad signed logins for one
// address: the limits hold, and a stranger's garbage does not lock a user out.
func TestRateLimits(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Limits = Limits{FailuresPerIP: 5, FailuresPerAddress: 3, Window: time.Minute} })
	attacker := netip.MustParseAddr("192.0.2.7")
	for i := 0; i < 5; i++ {
		if _, err := f.svc.Login(LoginRequest{Message: "garbage"}, attacker); !errors.Is(err, signin.ErrMalformed) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	msg := f.message(f.key.Address(), f.nonce()).String()
	if _, err := f.svc.Login(LoginRequest{Message: msg, Signature: sign(t, f.key, msg)}, attacker); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("over the IP limit: got %v, want %v", err, ErrRateLimited)
	}
	// Another IP of the same IPv6 /64 shares the budget; another /64 does not.
	v6 := netip.MustParseAddr("2001:db8::1")
	for i := 0; i < 5; i++ {
		f.svc.Login(LoginRequest{Message: "garbage"}, v6)
	}
	if _, err := f.svc.Login(LoginRequest{Message: "garbage"}, netip.MustParseAddr("2001:db8::2")); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("same /64: got %v, want %v", err, ErrRateLimited)
	}
	if _, err := f.svc.Login(LoginRequest{Message: "garbage"}, netip.MustParseAddr("2001:db8:0:1::2")); !errors.Is(err, signin.ErrMalformed) {
		t.Fatalf("other /64: got %v, want %v", err, signin.ErrMalformed)
	}
	// The user's own logins still work from their IP.
	if _, err := f.login(msg, sign(t, f.key, msg), f.newClient(), signin.Head{}); err != nil {
		t.Fatalf("user locked out by a stranger's flood: %v", err)
	}
	// Signed failures count against the address.
	for i := 0; i < 3; i++ {
		m := f.message(f.key.Address(), f.nonce())
		m.ChainID = 1
		s := m.String()
		ip := netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
		if _, err := f.svc.Login(LoginRequest{Message: s, Signature: sign(t, f.key, s)}, ip); !errors.Is(err, signin.ErrWrongChain) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	m := f.message(f.key.Address(), f.nonce()).String()
	if _, err := f.login(m, sign(t, f.key, m), f.newClient(), signin.Head{}); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("over the address limit: got %v, want %v", err, ErrRateLimited)
	}
	f.clk.add(time.Minute)
	if _, err := f.login(m, sign(t, f.key, m), f.newClient(), signin.Head{}); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	if f.svc.Stats()[ErrRateLimited.Error()] < 2 {
		t.Fatalf("stats %v: rate-limited refusals not counted", f.svc.Stats())
	}
}

// TestReasonsAreDistinct: every refusal reason reads differently, so a log
// line or an API answer says which check failed.
func TestReasonsAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range append(reasons, ErrNoToken, ErrTokenForged, ErrTokenExpired, ErrTokenKeyRetired) {
		if seen[r.Error()] {
			t.Errorf("reason %q appears twice", r)
		}
		seen[r.Error()] = true
	}
}

func TestClientCapRevokesLongestUnseen(t *testing.T) {
	f := newFixture(t, nil)
	first := f.enroll()
	for i := 1; i < MaxClientsPerAddress; i++ {
		f.clk.add(time.Second)
		f.enroll()
	}
	if _, err := f.svc.Authenticate(first.AccessToken); err != nil {
		t.Fatalf("at the cap, nothing is revoked yet: %v", err)
	}
	f.clk.add(time.Second)
	last := f.enroll()
	if _, err := f.svc.Authenticate(first.AccessToken); !errors.Is(err, ErrClientRevoked) {
		t.Fatalf("over the cap, the longest unseen client: got %v, want %v", err, ErrClientRevoked)
	}
	if _, err := f.svc.Authenticate(last.AccessToken); err != nil {
		t.Fatal(err)
	}
}
