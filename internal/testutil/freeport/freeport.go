// Package freeport gives tests a TCP address no one listens on, for a
// program the test starts (a separate process, or a node it configures)
// to listen on.
//
// The port comes from below the kernel's ephemeral range
// (ip_local_port_range), where the local ports of outgoing connections are
// taken: a port from ":0" is in that range, and once it is closed any
// connection the tests make may be given it before the program binds it,
// which failed CI ("bind: address already in use"). A port is never given
// twice in one test binary.
package freeport

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// low is the first port given; ports below it are left to services.
const low = 20000

var (
	mu    sync.Mutex
	given = map[int]bool{}
)

// Addr returns host:port with a port free on host now, or fails t.
func Addr(t testing.TB, host string) string {
	t.Helper()
	hi := ephemeralLow()
	mu.Lock()
	defer mu.Unlock()
	for range 2000 {
		p := low + rand.IntN(hi-low)
		if given[p] {
			continue
		}
		addr := net.JoinHostPort(host, strconv.Itoa(p))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		l.Close()
		given[p] = true
		return addr
	}
	t.Fatalf("freeport: no free port on %s in %d–%d", host, low, hi)
	return ""
}

// ephemeralLow is the first port of the kernel's ephemeral range (32768
// when it cannot be read, or when it starts too low to leave room below).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= low+1000 {
		return 32768
	}
	return n
}
