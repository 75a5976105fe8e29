package auth

import (
	"github.com/camchain/camchain/internal/auth/signin"

	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/keys"
)

// Config configures a Service. Zero durations take the defaults.
type Config struct {
	// Origin is the hub's public origin, scheme://host[:port]: the domain
	// and URI every sign-in message must name, and the tokens' audience.
	Origin  string
	ChainID uint64       // the EIP-712 chain id of the hub's ledger
	Issuer  keys.Address // the hub's address, the tokens' issuer

	NonceTTL    time.Duration
	TokenTTL    time.Duration
	KeyRotation time.Duration
	Skew        time.Duration
	Limits      Limits

	KeyringPath string // token keys; "" keeps them in memory (tests)
	ClientsPath string // client registry; "" keeps it in memory (tests)
	// Log receives every login record and every refusal whose signature
	// verified, and counts the others (docs/SPEC.md §11.7). Nil keeps no
	// log.
	Log *LoginLog

	// Policy reports whether addr's new clients need an enrolled client's
	// approval (the ledger's LoginPolicy, docs/SPEC.md §11.11). Nil: never.
	Policy func(addr keys.Address) (bool, error)
	// Events receives every login, renewal, enrollment and alarm; it must
	// not block. Nil drops them.
	Events func(Event)
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// EventKind names what happened; the hub's audit log uses the same names.
type EventKind string

const (
	EventEnrolled EventKind = "client-enrolled" // a new client, loudly
	EventLogin    EventKind = "login"
	EventRenewed  EventKind = "login-renewed"
	EventClone    EventKind = "client-clone" // a stale head: a copied client
	// EventRefused is a refusal whose signature verified (an address really
	// signed it). Refusals that do not verify are only counted (Stats).
	EventRefused EventKind = "login-refused"
	// The approval policy (docs/SPEC.md §11.11).
	EventPending  EventKind = "client-pending"  // a new client waits for approval
	EventApproved EventKind = "client-approved" // an enrolled client approved it
	EventOverride EventKind = "login-override"  // the wallet alone let it in: an alarm
)

// Event is one entry for the hub's audit trail. Record is set for logins,
// renewals and enrollments.
type Event struct {
	Kind    EventKind
	Address keys.Address
	Client  signin.ClientID
	Record  *Record
	Detail  string
	At      time.Time
}

// LoginRequest is POST /auth/login's body, decoded.
type LoginRequest struct {
	Message   string
	Signature keys.Signature
	Client    signin.ClientID
	Head      signin.Head // zero for a new client
}

// RenewRequest is POST /auth/renew's body, decoded.
type RenewRequest struct {
	Client  signin.ClientID
	Head    signin.Head
	Renewal Renewal
}

// Grant is what a successful login or renewal hands the client.
type Grant struct {
	Address     keys.Address
	Client      signin.ClientID
	AccessToken string
	Expires     time.Time
	Head        signin.Head // present it at the next login or renewal
	Renewal     Renewal     // single use: the next renewal's secret
	Enrolled    bool        // this login enrolled a new client
	// Pending: the client waits for an enrolled client's approval
	// (docs/SPEC.md §11.11); there is no token yet. Keep Head and Renewal:
	// once approved, the client renews with them.
	Pending bool
}

// Service runs logins for one hub.
type Service struct {
	cfg     Config
	origin  *url.URL
	nonces  *Nonces
	tokens  *Tokens
	clients *Clients
	ipLim   *limiter
	addrLim *limiter
	tickets *Tickets
	devices *deviceFlows

	mu       sync.Mutex
	refusals map[error]uint64
}

// reasons are the refusals Stats counts, one counter each.
var reasons = []error{
	signin.ErrMalformed, signin.ErrWrongDomain, signin.ErrWrongURI, signin.ErrWrongVersion, signin.ErrWrongChain,
	signin.ErrExpired, signin.ErrNotYetValid, signin.ErrIssuedFuture, ErrBadSignature, signin.ErrOtherSigner,
	ErrUnknownNonce, ErrNonceExpired, ErrNonceReused, ErrReplayed,
	ErrClientClone, ErrClientRevoked, ErrUnknownClient, ErrClientAddress, ErrRenewalInvalid, ErrPendingApproval,
	ErrRateLimited, ErrBusy,
	ErrTicketUnknown, ErrTicketExpired, ErrTicketReused,
	ErrDeviceUnknown, ErrDeviceExpired, ErrDeviceUsed,
	signin.ErrApprovalOtherHub, signin.ErrApprovalOtherCode, signin.ErrApprovalOtherAddress,
}

// New opens the keyring and the client registry. Start the service before
// use and Close it after.
func New(cfg Config) (*Service, error) {
	if cfg.NonceTTL == 0 {
		cfg.NonceTTL = signin.DefaultNonceTTL
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.KeyRotation == 0 {
		cfg.KeyRotation = DefaultKeyRotation
	}
	if cfg.Skew == 0 {
		cfg.Skew = signin.DefaultSkew
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Events == nil {
		cfg.Events = func(Event) {}
	}
	cfg.Limits = cfg.Limits.withDefaults()
	origin, err := signin.ParseOrigin(cfg.Origin)
	if err != nil {
		return nil, err
	}
	nonces, err := NewNonces(cfg.NonceTTL)
	if err != nil {
		return nil, err
	}
	ring, err := OpenKeyring(cfg.KeyringPath, cfg.KeyRotation, cfg.TokenTTL, cfg.Now())
	if err != nil {
		return nil, err
	}
	clients, err := OpenClients(cfg.ClientsPath)
	if err != nil {
		return nil, err
	}
	// The login log holds every head advance, fsynced before it was
	// answered; the registry is written within FlushInterval. Replaying
	// the log recovers what a crash in between forgot.
	if cfg.Log != nil {
		err := cfg.Log.Records(func(r *Record) error {
			pending := false
			if r.Kind == KindEnroll && cfg.Policy != nil {
				if pending, err = cfg.Policy(r.Address); err != nil {
					return err
				}
			}
			clients.replay(r, pending)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("replay the login log: %w", err)
		}
	}
	return &Service{
		cfg: cfg, origin: origin, nonces: nonces, clients: clients,
		tokens:   &Tokens{Keys: ring, Issuer: cfg.Issuer.Hex(), Audience: origin.String(), TTL: cfg.TokenTTL},
		ipLim:    newLimiter(cfg.Limits.FailuresPerIP, cfg.Limits.Window),
		addrLim:  newLimiter(cfg.Limits.FailuresPerAddress, cfg.Limits.Window),
		refusals: make(map[error]uint64),
		tickets:  NewTickets(),
		devices:  newDeviceFlows(),
	}, nil
}

// Start runs the registry's flusher.
func (s *Service) Start() { s.clients.Start() }

// Close stops the flusher and writes the registry.
func (s *Service) Close() error { return s.clients.Close() }

// Origin is the public origin sign-in messages must name.
func (s *Service) Origin() *url.URL { return s.origin }

// ChainID is the chain id sign-in messages must name.
func (s *Service) ChainID() uint64 { return s.cfg.ChainID }

// Clients is the client registry.
func (s *Service) Clients() *Clients { return s.clients }

// Keys is the token keyring.
func (s *Service) Keys() *Keyring { return s.tokens.Keys }

// Nonce issues a login nonce.
func (s *Service) Nonce() (string, time.Time, error) { return s.nonces.Issue(s.cfg.Now()) }

// Stats counts refusals by reason (the reason's message as key).
func (s *Service) Stats() map[string]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]uint64, len(s.refusals))
	for r, n := range s.refusals {
		out[r.Error()] = n
	}
	return out
}

func (s *Service) count(err error) {
	for _, r := range reasons {
		if errors.Is(err, r) {
			s.mu.Lock()
			s.refusals[r]++
			s.mu.Unlock()
			return
		}
	}
}

func (s *Service) expect() signin.Expect {
	return signin.Expect{Origin: s.origin, ChainID: s.cfg.ChainID, MaxAge: s.cfg.NonceTTL, Skew: s.cfg.Skew}
}

// Login checks a signed sign-in message and, if every check passes,
// advances (or starts) the client's login chain and issues a token. The
// checks run cheapest first; failures count against ip, and once the
// signature verifies, against the signing address too.
func (s *Service) Login(req LoginRequest, ip netip.Addr) (*Grant, error) {
	now := s.cfg.Now()
	ipk := ipKey(ip)
	if !s.ipLim.allowed(ipk, now) {
		s.count(ErrRateLimited)
		s.countLog()
		return nil, ErrRateLimited
	}
	failIP := func(err error) (*Grant, error) {
		s.count(err)
		s.ipLim.fail(ipk, now)
		return nil, err
	}
	// A refusal before the signature verified is only counted: the
	// address in it is anyone's to write.
	unverified := func(err error) (*Grant, error) {
		s.countLog()
		return failIP(err)
	}
	m, err := signin.ParseMessage(req.Message)
	if err != nil {
		return unverified(err)
	}
	if err := s.nonces.Check(m.Nonce, now); err != nil {
		return unverified(err)
	}
	digest := keys.TextDigest([]byte(req.Message))
	signer, err := keys.Recover(digest, req.Signature)
	if err != nil {
		return unverified(fmt.Errorf("%w: %v", ErrBadSignature, err))
	}
	if signer != m.Address {
		return unverified(fmt.Errorf("%w: message names %s", signin.ErrOtherSigner, m.Address.Hex()))
	}
	addr := signer
	addrKey := string(addr[:]) // the limiter's key: the 20 bytes, no checksum to compute
	if !s.addrLim.allowed(addrKey, now) {
		s.count(ErrRateLimited)
		s.countLog()
		return nil, ErrRateLimited
	}
	fail := func(err error) (*Grant, error) {
		s.addrLim.fail(addrKey, now)
		s.cfg.Events(Event{Kind: EventRefused, Address: addr, Client: req.Client, Detail: err.Error(), At: now})
		s.logRefusal(&RefusalRecord{Address: addr, Client: req.Client, Head: req.Head, Time: uint64(now.Unix()), Message: digest, Reason: ReasonOf(err)})
		return failIP(err)
	}
	if err := m.Check(s.expect(), now); err != nil {
		return fail(err)
	}
	if err := s.nonces.Use(m.Nonce, digest, now); err != nil {
		return fail(err)
	}
	g, err := s.gate(addr, m.Resources)
	if err != nil {
		return fail(err)
	}
	res, err := s.clients.login(addr, req.Client, req.Head, digest, now, g)
	if err != nil {
		s.alarmClone(err, now)
		return fail(err)
	}
	return s.grant(res, now)
}

// OverrideResource, among a sign-in message's resources, is the owner's
// wallet-signed override of the approval policy (docs/SPEC.md §11.11): the
// new client is let in at once, every other client of the address is
// revoked, and the hub raises a login-override alarm.
const OverrideResource = "urn:camchain:login-override"

// gate says what a wallet login of addr needs besides the wallet.
func (s *Service) gate(addr keys.Address, resources []string) (gate, error) {
	if s.cfg.Policy == nil {
		return gateOpen, nil
	}
	strict, err := s.cfg.Policy(addr)
	if err != nil {
		return gateOpen, fmt.Errorf("%w: login policy: %v", ErrBusy, err)
	}
	switch {
	case !strict:
		return gateOpen, nil
	case slices.Contains(resources, OverrideResource):
		return gateOverride, nil
	}
	return gateApproval, nil
}

// ApproveClient lets a pending client of the caller's address in, on the
// word of the caller's own enrolled client (docs/SPEC.md §11.11). A client
// cannot approve itself, nor can a pending one approve another.
func (s *Service) ApproveClient(by Session, target signin.ClientID) error {
	now := s.cfg.Now()
	if err := s.clients.approveAndFlush(by.Address, by.Client, target, now); err != nil {
		return err
	}
	s.cfg.Events(Event{Kind: EventApproved, Address: by.Address, Client: target, At: now,
		Detail: "client " + target.String() + " approved by client " + by.Client.String()})
	return nil
}

// Renew exchanges a client's renewal secret and head for a fresh token and
// the next secret, without the wallet. A copied client that renews after
// the original (or before it: whichever comes second) presents a stale
// pair and is refused as a clone.
func (s *Service) Renew(req RenewRequest, ip netip.Addr) (*Grant, error) {
	now := s.cfg.Now()
	ipk := ipKey(ip)
	if !s.ipLim.allowed(ipk, now) {
		s.count(ErrRateLimited)
		s.countLog()
		return nil, ErrRateLimited
	}
	rec, ren, err := s.clients.renew(req.Client, req.Head, req.Renewal, now)
	if errors.Is(err, ErrPendingApproval) {
		s.count(err)
		return nil, err // its own pair: not a failure to count against the IP
	}
	if err != nil {
		s.count(err)
		s.ipLim.fail(ipk, now)
		s.alarmClone(err, now)
		// A clone proved it held one of the client's renewal secrets: it
		// is recorded. Anything else is anyone's to send: counted.
		var ce *CloneError
		if errors.As(err, &ce) {
			s.logRefusal(&RefusalRecord{Address: ce.Address, Client: req.Client, Head: req.Head, Time: uint64(now.Unix()), Reason: ReasonClientClone})
		} else {
			s.countLog()
		}
		return nil, err
	}
	return s.grant(&loginResult{rec: rec, ren: ren}, now)
}

func (s *Service) alarmClone(err error, now time.Time) {
	var ce *CloneError
	if errors.As(err, &ce) {
		s.cfg.Events(Event{Kind: EventClone, Address: ce.Address, Client: ce.Client, At: now,
			Detail: "client " + ce.Client.String() + " presented a stale login-chain head: a copy of it is in use; revoke it and enroll again"})
	}
}

func (s *Service) grant(res *loginResult, now time.Time) (*Grant, error) {
	rec, ren := res.rec, res.ren
	// The record is on disk before anyone is let in (§11.7); if it cannot
	// be, the chain steps back and the login is refused.
	if s.cfg.Log != nil {
		if err := s.cfg.Log.Append(&Entry{Record: rec}); err != nil {
			s.clients.undo(rec)
			s.count(ErrBusy)
			return nil, fmt.Errorf("%w: %v", ErrBusy, err)
		}
	}
	kind := map[RecordKind]EventKind{KindEnroll: EventEnrolled, KindLogin: EventLogin, KindRenew: EventRenewed}[rec.Kind]
	s.cfg.Events(Event{Kind: kind, Address: rec.Address, Client: rec.Client, Record: rec, At: now,
		Detail: rec.Kind.String() + " of client " + rec.Client.String()})
	g := &Grant{Address: rec.Address, Client: rec.Client, Head: rec.Hash(), Renewal: ren, Enrolled: rec.Kind == KindEnroll}
	switch {
	case res.pending:
		s.cfg.Events(Event{Kind: EventPending, Address: rec.Address, Client: rec.Client, Record: rec, At: now,
			Detail: "client " + rec.Client.String() + " logged in with the wallet and waits for an enrolled client's approval"})
		g.Pending = true
		return g, nil
	case res.override:
		// The alarm first: whatever happens next, the override (in effect
		// in memory from here on) is never silent. Then the revocations
		// are written before the client is let in.
		s.cfg.Events(Event{Kind: EventOverride, Address: rec.Address, Client: rec.Client, Record: rec, At: now,
			Detail: fmt.Sprintf("the wallet's override let client %s in without an enrolled client's approval and revoked the %d other clients of the address", rec.Client, res.revoked)})
		if err := s.clients.Flush(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBusy, err)
		}
	}
	tok, exp, err := s.tokens.Issue(rec.Address, rec.Client, now)
	if err != nil {
		return nil, err
	}
	g.AccessToken, g.Expires = tok, exp
	return g, nil
}

// PruneLog deletes the login log's batches that ended before before and
// are below committed (LoginLog.Prune), once the registry is on disk: the
// registry is written only every FlushInterval, and a head advance a crash
// made it forget is recovered from the log, so a batch's records may go
// only when the registry holding them has been written.
func (s *Service) PruneLog(before, committed uint64) (int, error) {
	if s.cfg.Log == nil {
		return 0, nil
	}
	if err := s.clients.Flush(); err != nil {
		return 0, fmt.Errorf("login log not pruned: %w", err)
	}
	return s.cfg.Log.Prune(before, committed)
}

// countLog counts, in the login log's open batch, a refusal that is not
// recorded.
func (s *Service) countLog() {
	if s.cfg.Log != nil {
		s.cfg.Log.Count()
	}
}

// logRefusal records a refusal whose signature verified. A failure to
// write it changes nothing about the refusal; it is counted instead.
func (s *Service) logRefusal(r *RefusalRecord) {
	if s.cfg.Log == nil {
		return
	}
	if err := s.cfg.Log.Append(&Entry{Refusal: r}); err != nil {
		s.cfg.Log.Count()
	}
}

// Authenticate checks an access token and that its client is still
// enrolled and not revoked. It says who asks, not what they may see.
func (s *Service) Authenticate(token string) (Session, error) {
	sess, err := s.tokens.Verify(token, s.cfg.Now())
	if err != nil {
		return Session{}, err
	}
	if err := s.clients.Live(sess.Address, sess.Client); err != nil {
		return Session{}, err
	}
	return sess, nil
}

// Ticket issues a single-use WebSocket ticket for sess (§11.9).
func (s *Service) Ticket(sess Session) (string, time.Time, error) {
	return s.tickets.Issue(sess, s.cfg.Now())
}

// RedeemTicket spends a WebSocket ticket and returns its session, checking
// as Authenticate does that the client is still live (a revoke between
// issue and use ends the ticket too).
func (s *Service) RedeemTicket(ticket string) (Session, error) {
	now := s.cfg.Now()
	sess, err := s.tickets.Redeem(ticket, now)
	if err != nil {
		s.count(err)
		return Session{}, err
	}
	if !now.Before(sess.Expires) {
		return Session{}, ErrTokenExpired
	}
	if err := s.clients.Live(sess.Address, sess.Client); err != nil {
		return Session{}, err
	}
	return sess, nil
}
