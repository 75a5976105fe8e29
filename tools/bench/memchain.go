package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/feedchain/feedchaintest"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
)

// The alarms and backend of the link benchmarks, and what they take from
// their in-memory chains (internal/feedchain/feedchaintest, shared with the
// link's own tests).

var (
	_ link.CameraChain = (*feedchaintest.Chain)(nil)
	_ link.ServerChain = (*feedchaintest.Chain)(nil)
)

// ackLatencies returns, for every acknowledged record made at or after
// since, the time from its making to its acknowledgement.
func ackLatencies(stamps []feedchaintest.Stamp, since time.Time) []time.Duration {
	var out []time.Duration
	for _, s := range stamps {
		if !s.Acked.IsZero() && !s.Made.Before(since) {
			out = append(out, s.Acked.Sub(s.Made))
		}
	}
	return out
}

// countAlarms is link.Alarms for the simulated cameras: nothing should
// raise one, so it only counts them (and never sends them).
type countAlarms struct {
	mu     sync.Mutex
	raised []string
}

func (a *countAlarms) Raise(kind audit.Alarm, detail string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.raised = append(a.raised, string(kind)+": "+detail)
}
func (a *countAlarms) Pending() []link.Alarm { return nil }
func (a *countAlarms) Sent(int)              {}
func (a *countAlarms) list() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.raised...)
}

// benchBackend authorizes the cameras of its pin table (in one epoch) and
// opens their chains with chain. Alarms are collected: in a benchmark any
// alarm is a failure.
type benchBackend struct {
	epoch uint64
	pins  map[keys.Address]link.Pin
	chain func(cam keys.Address, epoch uint64) (link.ServerChain, error)

	mu     sync.Mutex
	alarms []string
}

var _ link.Backend = (*benchBackend)(nil)

func (b *benchBackend) Authorize(cam keys.Address, epoch uint64, pin link.Pin) error {
	p, ok := b.pins[cam]
	if !ok || !link.EqualPins(p, pin) {
		return fmt.Errorf("camera %s is not paired with this hub (or presents another TLS key)", cam.Hex())
	}
	if epoch != b.epoch {
		return fmt.Errorf("camera %s: epoch %d, want %d", cam.Hex(), epoch, b.epoch)
	}
	return nil
}

func (b *benchBackend) Chain(cam keys.Address, epoch uint64, stream feedchain.Stream) (link.ServerChain, error) {
	if stream != feedchain.StreamMain {
		return nil, fmt.Errorf("the bench's cameras have no %s stream", stream)
	}
	return b.chain(cam, epoch)
}

func (b *benchBackend) Alarm(cam keys.Address, kind audit.Kind, detail string, _ time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.alarms = append(b.alarms, cam.Hex()+": "+string(kind)+": "+detail)
	return nil
}

func (b *benchBackend) alarmList() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.alarms...)
}
