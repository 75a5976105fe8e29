// Package linktest holds the attacks tests of the link and pairing ports
// share: unauthenticated TLS clients that claim a huge first frame.
package linktest

import (
	"crypto/tls"
	"encoding/binary"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/link"
)

// HostileConns opens n TLS 1.3 connections to addr, each with a fresh
// self-signed certificate (any client can make one), and sends on each a
// frame header announcing a frame of size bytes — then nothing. It returns the connections that completed the TLS
// handshake (the caller closes them; t's cleanup does too).
func HostileConns(t testing.TB, addr string, n int, size uint32) []net.Conn {
	t.Helper()
	id, err := link.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{id.Cert}, InsecureSkipVerify: true}
	var out []net.Conn
	for i := 0; i < n; i++ {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
		if err != nil {
			continue // refused by a connection limit
		}
		t.Cleanup(func() { c.Close() })
		var hdr [5]byte
		binary.BigEndian.PutUint32(hdr[:4], size)
		hdr[4] = link.TypeHello
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(hdr[:]); err != nil {
			c.Close()
			continue
		}
		out = append(out, c)
	}
	return out
}

// HeapInUse is the live heap after a collection.
func HeapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// HostileHeapBound is the heap 100 hostile connections may add to a hub or
// a camera (the README and SPEC §7 state it): TLS state, a 4 KiB read and
// write buffer and a goroutine per connection — never a frame buffer.
const HostileHeapBound = 16 << 20

// Open reports whether the peer still holds c open: a refused connection
// reads EOF or a reset at once.
func Open(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	var b [1]byte
	_, err := c.Read(b[:])
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
