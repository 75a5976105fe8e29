package freeport

import (
	"net"
	"strconv"
	"testing"
)

// Each address is free (a listener binds it), below the ephemeral range,
// and never given twice.
func TestAddr(t *testing.T) {
	seen := map[string]bool{}
	hi := ephemeralLow()
	for range 200 {
		a := Addr(t, "127.0.0.1")
		if seen[a] {
			t.Fatalf("%s given twice", a)
		}
		seen[a] = true
		_, ps, err := net.SplitHostPort(a)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := strconv.Atoi(ps)
		if p < low || p >= hi {
			t.Fatalf("port %d outside %d–%d", p, low, hi)
		}
		l, err := net.Listen("tcp", a)
		if err != nil {
			t.Fatalf("%s is not free: %v", a, err)
		}
		l.Close()
	}
}
