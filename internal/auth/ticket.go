package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/auth/signin"
)

// A WebSocket ticket is how a browser authenticates a WebSocket, which
// cannot carry an Authorization header (docs/SPEC.md §11.9): the page asks
// POST /auth/ticket with its session and sends the ticket as the first
// WebSocket message. A ticket is 32 random bytes (64 lower-case hex
// digits), good once, for TicketTTL, for the session that asked for it.
// The hub keeps only SHA-256(ticket), so its memory holds nothing that
// opens a socket, and a lookup's timing says nothing about a ticket's
// bytes. A used ticket is remembered until it would have expired, so a
// second use is refused as reused rather than unknown.

// Ticket limits.
const (
	TicketTTL           = 30 * time.Second
	ticketBytes         = 32
	maxTickets          = 1 << 16 // outstanding and remembered-used, in all
	maxTicketsPerClient = 32      // outstanding per client
)

type ticket struct {
	sess    Session
	expires time.Time
	used    bool
}

// Tickets issues and redeems WebSocket tickets.
type Tickets struct {
	mu        sync.Mutex
	m         map[[32]byte]*ticket
	perClient map[signin.ClientID]int
	lastSweep time.Time
}

// NewTickets returns an empty ticket store.
func NewTickets() *Tickets {
	return &Tickets{m: make(map[[32]byte]*ticket), perClient: make(map[signin.ClientID]int)}
}

// Issue returns a fresh ticket for sess, good once until now+TicketTTL
// (and never beyond the session's own expiry).
func (t *Tickets) Issue(sess Session, now time.Time) (string, time.Time, error) {
	var raw [ticketBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", time.Time{}, fmt.Errorf("ticket: %w", err)
	}
	exp := now.Add(TicketTTL)
	if !sess.Expires.IsZero() && sess.Expires.Before(exp) {
		exp = sess.Expires
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= maxTickets || now.Sub(t.lastSweep) > TicketTTL {
		t.sweep(now)
	}
	if len(t.m) >= maxTickets || t.perClient[sess.Client] >= maxTicketsPerClient {
		return "", time.Time{}, fmt.Errorf("%w: too many outstanding WebSocket tickets", ErrBusy)
	}
	t.m[sha256.Sum256(raw[:])] = &ticket{sess: sess, expires: exp}
	t.perClient[sess.Client]++
	return hex.EncodeToString(raw[:]), exp, nil
}

// Redeem spends a ticket and returns the session it was issued to. The
// refusals are ErrTicketUnknown, ErrTicketExpired and ErrTicketReused.
func (t *Tickets) Redeem(s string, now time.Time) (Session, error) {
	var raw [ticketBytes]byte
	if err := decodeFixed(s, raw[:]); err != nil {
		return Session{}, ErrTicketUnknown
	}
	key := sha256.Sum256(raw[:])
	t.mu.Lock()
	defer t.mu.Unlock()
	tk, ok := t.m[key]
	switch {
	case !ok:
		return Session{}, ErrTicketUnknown
	case tk.used:
		return Session{}, ErrTicketReused
	case !now.Before(tk.expires):
		return Session{}, ErrTicketExpired
	}
	tk.used = true
	t.perClient[tk.sess.Client]--
	return tk.sess, nil
}

// sweep forgets tickets past their expiry. The caller holds mu.
func (t *Tickets) sweep(now time.Time) {
	t.lastSweep = now
	for k, tk := range t.m {
		if !now.Before(tk.expires) {
			if !tk.used {
				t.perClient[tk.sess.Client]--
			}
			delete(t.m, k)
		}
	}
	for c, n := range t.perClient {
		if n <= 0 {
			delete(t.perClient, c)
		}
	}
}
