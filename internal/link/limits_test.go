package link_test

import (
	"net"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/link/linktest"
)

// noBackend is a hub that knows no camera: nothing gets past the Hello.
type noBackend struct{}

func (noBackend) Authorize(keys.Address, uint64, link.Pin) error { return link.ErrIdentity }
func (noBackend) Chain(keys.Address, uint64, feedchain.Stream) (link.ServerChain, error) {
	return nil, link.ErrIdentity
}
func (noBackend) Alarm(keys.Address, audit.Kind, string, time.Time) error { return nil }

func startServer(t *testing.T, lim link.ConnLimits) string {
	t.Helper()
	id, err := link.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &link.Server{Identity: id, Key: k, Backend: noBackend{}, Limits: lim}
	done := make(chan struct{})
	go func() { s.Serve(ln); close(done) }()
	t.Cleanup(func() { s.Close(); <-done })
	return ln.Addr().String()
}

// 100 TLS clients with made-up certificates cost the hub less than
// linktest.HostileHeapBound of heap: those announcing a 32 MiB frame
// before authenticating are cut off at the header (before the bound, each
// made the hub allocate 32 MiB), and those announcing the largest
// pre-authentication frame and then stalling are held at that size.
func TestHostileConnectionsKeepTheHubHeapBounded(t *testing.T) {
	addr := startServer(t, link.ConnLimits{Total: 200, PerSource: 200})
	before := linktest.HeapInUse()
	stalled := linktest.HostileConns(t, addr, 50, link.MaxHandshakeFrame)
	huge := linktest.HostileConns(t, addr, 50, link.MaxFrame)
	if len(stalled) != 50 || len(huge) != 50 {
		t.Fatalf("only %d+%d of 100 connections were accepted", len(stalled), len(huge))
	}
	time.Sleep(300 * time.Millisecond) // let the hub read every header
	after := linktest.HeapInUse()
	if after > before && after-before > linktest.HostileHeapBound {
		t.Fatalf("100 hostile connections grew the hub's heap by %d MiB (bound %d MiB)", (after-before)>>20, linktest.HostileHeapBound>>20)
	}
	for i, c := range huge {
		if linktest.Open(c) {
			t.Fatalf("connection %d still open after announcing a %d-byte pre-authentication frame", i, link.MaxFrame)
		}
	}
	for i, c := range stalled[:3] {
		if !linktest.Open(c) {
			t.Fatalf("stalled connection %d closed before the handshake timeout", i)
		}
	}
	t.Logf("heap before %d KiB, with 100 hostile connections %d KiB", before>>10, after>>10)
}

// Connections over the per-source limit are closed at once; the others
// stay served.
func TestConnectionsPerSourceAreBounded(t *testing.T) {
	addr := startServer(t, link.ConnLimits{Total: 100, PerSource: 3})
	var held []net.Conn
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	time.Sleep(100 * time.Millisecond)
	extra, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	if linktest.Open(extra) {
		t.Fatal("a fourth connection from one source was served (limit 3)")
	}
	for i, c := range held {
		if !linktest.Open(c) {
			t.Fatalf("admitted connection %d was closed", i)
		}
	}
	// Once one leaves, a new one is admitted.
	held[0].Close()
	time.Sleep(100 * time.Millisecond)
	again, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if !linktest.Open(again) {
		t.Fatal("no connection admitted after one left")
	}
}
