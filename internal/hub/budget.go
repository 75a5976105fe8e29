package hub

import (
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/keys"
)

// Submission budgets of POST /api/v1/txs and /api/v1/pairings
// (docs/SPEC.md §4.1). Token buckets: rate per second, burst.
//
// A signer the ledger knows — a registered hub, a camera on the ledger, an
// owner of a camera — has a budget of its own, so nobody else's flood can
// hold back its transactions (on loopback, or behind one NAT, every client
// has the same address). Everything else — unknown signers, and requests
// whose signatures do not verify — is bounded per client address and, all
// clients together, in total.
var (
	knownSignerBudget   = budget{rate: 20, burst: 40}
	knownTotalBudget    = budget{rate: 400, burst: 800}
	unknownClientBudget = budget{rate: 10, burst: 20}
	unknownTotalBudget  = budget{rate: 40, burst: 80}
)

// maxBuckets bounds the per-signer and per-client buckets kept in memory.
// A full bucket carries no state, so when the map is full the full ones are
// dropped; a key that still finds no room shares one overflow bucket.
const maxBuckets = 4096

type budget struct{ rate, burst float64 }

type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) take(p budget, now time.Time) bool {
	if b.last.IsZero() {
		b.tokens = p.burst
	} else {
		b.tokens = min(p.burst, b.tokens+now.Sub(b.last).Seconds()*p.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (b *bucket) full(p budget, now time.Time) bool {
	return b.tokens+now.Sub(b.last).Seconds()*p.rate >= p.burst
}

// budgets decides whether one more submission may go to the ledger.
type budgets struct {
	mu                       sync.Mutex
	signers                  map[keys.Address]*bucket
	clients                  map[string]*bucket
	signerOver, clientOver   bucket // shared by keys that find no room
	knownTotal, unknownTotal bucket
}

func newBudgets() *budgets {
	return &budgets{signers: map[keys.Address]*bucket{}, clients: map[string]*bucket{}}
}

// allowKnown spends from a known signer's own budget.
func (b *budgets) allowKnown(signer keys.Address, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := slot(b.signers, signer, &b.signerOver, knownSignerBudget, now)
	return k.take(knownSignerBudget, now) && b.knownTotal.take(knownTotalBudget, now)
}

// allowUnknown spends from the client's budget and the shared one.
func (b *budgets) allowUnknown(client string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := slot(b.clients, client, &b.clientOver, unknownClientBudget, now)
	return c.take(unknownClientBudget, now) && b.unknownTotal.take(unknownTotalBudget, now)
}

// slot returns k's bucket, making room by dropping full buckets when the
// map is at maxBuckets.
func slot[K comparable](m map[K]*bucket, k K, overflow *bucket, p budget, now time.Time) *bucket {
	if b, ok := m[k]; ok {
		return b
	}
	if len(m) >= maxBuckets {
		for key, b := range m {
			if b.full(p, now) {
				delete(m, key)
			}
		}
		if len(m) >= maxBuckets {
			return overflow
		}
	}
	b := &bucket{}
	m[k] = b
	return b
}

// clientOf is the client's address as the hub sees it (no port).
func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
