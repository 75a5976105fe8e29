package link

import (
	"fmt"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/feedchain/feedchaintest"
	"github.com/camchain/camchain/internal/keys"
)

// memChain is the in-memory chain of the protocol tests (the real store is
// exercised in the hub and agent tests): a camera's and a hub's.
type memChain = feedchaintest.Chain

var (
	_ CameraChain = (*memChain)(nil)
	_ ServerChain = (*memChain)(nil)
)

// memAlarms is an in-memory Alarms.
type memAlarms struct {
	mu      sync.Mutex
	raised  []string
	pending []Alarm
}

func (a *memAlarms) Raise(kind audit.Alarm, detail string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.raised = append(a.raised, string(kind))
	a.pending = append(a.pending, Alarm{Kind: kind, Detail: detail, At: time.Now().Unix()})
}
func (a *memAlarms) Pending() []Alarm {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Alarm(nil), a.pending...)
}
func (a *memAlarms) Sent(n int) { a.mu.Lock(); defer a.mu.Unlock(); a.pending = a.pending[n:] }
func (a *memAlarms) kinds() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.raised...)
}

// memBackend is an in-memory hub backend.
type memBackend struct {
	mu     sync.Mutex
	pins   map[keys.Address]Pin
	chains map[memKey]*memChain
	alarms []string
	epoch  uint64
	// alarmErr, when set, is what Alarm returns: the hub cannot persist.
	alarmErr error
}

func newBackend() *memBackend {
	return &memBackend{pins: map[keys.Address]Pin{}, chains: map[memKey]*memChain{}}
}

// memKey names one of the backend's chains.
type memKey struct {
	cam    keys.Address
	stream feedchain.Stream
}

func (b *memBackend) Authorize(cam keys.Address, epoch uint64, pin Pin) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.pins[cam]
	if !ok || !EqualPins(p, pin) {
		return fmt.Errorf("camera %s is not paired with this hub (or presents another TLS key)", cam.Hex())
	}
	if epoch != b.epoch {
		return fmt.Errorf("wrong epoch %d", epoch)
	}
	return nil
}

func (b *memBackend) Chain(cam keys.Address, epoch uint64, stream feedchain.Stream) (ServerChain, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.chains[memKey{cam, stream}]
	if !ok {
		c = &memChain{Camera: cam, Epoch: epoch, Stream: stream}
		b.chains[memKey{cam, stream}] = c
	}
	return c, nil
}

func (b *memBackend) Alarm(cam keys.Address, kind audit.Kind, detail string, at time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.alarmErr != nil {
		return b.alarmErr
	}
	b.alarms = append(b.alarms, string(kind)+": "+detail)
	return nil
}

func (b *memBackend) failAlarms(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.alarmErr = err
}

func (b *memBackend) alarmList() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.alarms...)
}
