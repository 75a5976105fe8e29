package link

import (
	"net"
	"sync"
)

// Connection limits of a listener that strangers can reach before they
// prove anything (the hub's link port, the camera's pairing port).
const (
	// DefaultMaxConns bounds the connections served at once.
	DefaultMaxConns = 1024
	// DefaultMaxConnsPerSource bounds the connections from one IP address:
	// room for a house of cameras behind one NAT; raise it for a site with
	// more.
	DefaultMaxConnsPerSource = 64
)

// ConnLimits bounds the connections a listener serves at once. Zero fields
// take the defaults above.
type ConnLimits struct {
	Total     int // all sources together
	PerSource int // one source IP address
}

func (l ConnLimits) withDefaults() ConnLimits {
	if l.Total <= 0 {
		l.Total = DefaultMaxConns
	}
	if l.PerSource <= 0 {
		l.PerSource = DefaultMaxConnsPerSource
	}
	return l
}

// Gate admits connections within ConnLimits. Its zero value is not usable:
// make one with NewGate.
type Gate struct {
	limits ConnLimits
	mu     sync.Mutex
	total  int
	per    map[string]int
}

// NewGate returns a gate enforcing l (defaults filled in).
func NewGate(l ConnLimits) *Gate {
	return &Gate{limits: l.withDefaults(), per: map[string]int{}}
}

func sourceOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// Enter admits a connection from a, or reports false when a limit is
// reached (the caller closes the connection at once). Every admitted
// connection must Leave.
func (g *Gate) Enter(a net.Addr) bool {
	src := sourceOf(a)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.total >= g.limits.Total || g.per[src] >= g.limits.PerSource {
		return false
	}
	g.total++
	g.per[src]++
	return true
}

// Leave releases a connection Enter admitted.
func (g *Gate) Leave(a net.Addr) {
	src := sourceOf(a)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.total--
	if g.per[src]--; g.per[src] <= 0 {
		delete(g.per, src)
	}
}
