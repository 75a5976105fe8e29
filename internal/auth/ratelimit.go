package auth

import (
	"net/netip"
	"sync"
	"time"
)

// Limits are the failed-login budgets. Failures before the signature is
// verified count against the client's IP only: the address in an unsigned
// message is anyone's to write, and counting it would let a stranger lock a
// user out. Failures after the signature verifies (an expired or
// wrong-domain message the key really signed, a stale head) count against
// the address too.
type Limits struct {
	FailuresPerIP      int           // per Window; 0: DefaultFailuresPerIP; <0: no limit
	FailuresPerAddress int           // per Window; 0: DefaultFailuresPerAddress; <0: no limit
	Window             time.Duration // 0: DefaultLimitWindow
}

func (l Limits) withDefaults() Limits {
	if l.FailuresPerIP == 0 {
		l.FailuresPerIP = DefaultFailuresPerIP
	}
	if l.FailuresPerAddress == 0 {
		l.FailuresPerAddress = DefaultFailuresPerAddress
	}
	if l.Window == 0 {
		l.Window = DefaultLimitWindow
	}
	return l
}

// limiter counts failures per key in fixed windows. Its memory is bounded:
// when full it drops the counters of past windows, and if it is still full
// it refuses new keys (failing closed) until the window turns.
type limiter struct {
	max    int
	window time.Duration

	mu     sync.Mutex
	start  time.Time
	counts map[string]int
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, counts: make(map[string]int)}
}

func (l *limiter) roll(now time.Time) {
	if now.Sub(l.start) >= l.window {
		l.start = now
		clear(l.counts)
	}
}

// allowed reports whether key has budget left.
func (l *limiter) allowed(key string, now time.Time) bool {
	if l.max < 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.roll(now)
	n, ok := l.counts[key]
	if !ok && len(l.counts) >= maxLimiterKeys {
		return false
	}
	return n < l.max
}

// fail records a failure of key.
func (l *limiter) fail(key string, now time.Time) {
	if l.max < 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.roll(now)
	if _, ok := l.counts[key]; ok || len(l.counts) < maxLimiterKeys {
		l.counts[key]++
	}
}

// ipKey is the limiter key of a client address: the address itself for
// IPv4, its /64 for IPv6 (one subscriber's block).
func ipKey(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
