package agent

import (
	"testing"
	"time"

	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/link/linktest"
	"github.com/camchain/camchain/internal/pairing"
)

// 100 TLS clients announcing a 32 MiB frame (or the largest allowed one,
// then stalling) at the camera's pairing port cost the camera less than
// linktest.HostileHeapBound of heap, even with the connection limit raised
// so that every one is served.
func TestHostileConnectionsKeepTheAgentHeapBounded(t *testing.T) {
	a, _ := startAgentWith(t, Config{PairLimits: link.ConnLimits{Total: 200, PerSource: 200}})
	addr := a.Status().PairAddr
	before := linktest.HeapInUse()
	stalled := linktest.HostileConns(t, addr, 50, link.MaxHandshakeFrame)
	huge := linktest.HostileConns(t, addr, 50, link.MaxFrame)
	if len(stalled)+len(huge) != 100 {
		t.Fatalf("only %d of 100 connections were accepted", len(stalled)+len(huge))
	}
	time.Sleep(300 * time.Millisecond)
	after := linktest.HeapInUse()
	if after > before && after-before > linktest.HostileHeapBound {
		t.Fatalf("100 hostile connections grew the camera's heap by %d MiB (bound %d MiB)", (after-before)>>20, linktest.HostileHeapBound>>20)
	}
	for i, c := range huge {
		if linktest.Open(c) {
			t.Fatalf("connection %d still open after announcing a %d-byte frame", i, link.MaxFrame)
		}
	}
	t.Logf("heap before %d KiB, with 100 hostile connections %d KiB", before>>10, after>>10)
}

// With the default limits one source holds at most
// pairing.MaxPairingConnsPerSource connections to the pairing port.
func TestPairingPortConnectionsAreBounded(t *testing.T) {
	a, _ := startAgent(t, 0)
	conns := linktest.HostileConns(t, a.Status().PairAddr, 10, link.MaxHandshakeFrame)
	open := 0
	for _, c := range conns {
		if linktest.Open(c) {
			open++
		}
	}
	if open != pairing.MaxPairingConnsPerSource {
		t.Fatalf("%d connections held open from one source, want %d", open, pairing.MaxPairingConnsPerSource)
	}
}
