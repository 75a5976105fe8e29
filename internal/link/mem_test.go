package link

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// memChain is an in-memory chain for protocol tests (the real store is
// exercised in the hub and agent tests).
type memChain struct {
	MemSecret
	mu     sync.Mutex
	recs   []*feedchain.Record
	segs   [][]byte
	acked  feedchain.Head
	camera keys.Address
	epoch  uint64
}

func (m *memChain) Head() feedchain.Head {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.recs) == 0 {
		return feedchain.Head{}
	}
	return feedchain.HeadOf(m.recs[len(m.recs)-1])
}

func (m *memChain) HashAt(seq uint64) (feedchain.Hash, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if seq >= uint64(len(m.recs)) {
		return feedchain.Hash{}, false
	}
	return m.recs[seq].Hash(), true
}

func (m *memChain) Record(seq uint64) (*feedchain.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if seq >= uint64(len(m.recs)) {
		return nil, fmt.Errorf("no record %d", seq)
	}
	return m.recs[seq], nil
}

func (m *memChain) Segment(seq uint64) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.segs[seq], nil
}

func (m *memChain) Acked() feedchain.Head { m.mu.Lock(); defer m.mu.Unlock(); return m.acked }

func (m *memChain) SetAcked(h feedchain.Head) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.acked = h
	return nil
}

func (m *memChain) Append(r *feedchain.Record, data []byte) error {
	if err := feedchain.Verify(r); err != nil {
		return err
	}
	if err := feedchain.VerifyNext(m.camera, m.epoch, m.Head(), r); err != nil {
		return err
	}
	if err := feedchain.VerifySegment(r, data); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, r)
	m.segs = append(m.segs, bytes.Clone(data))
	return nil
}

// copyOf is a copy of m's disk as it is now, cut to its first n records
// (everything: records, segments, acknowledgement, chain secret).
func (m *memChain) copyOf(n int) *memChain {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := &memChain{camera: m.camera, epoch: m.epoch, recs: append([]*feedchain.Record(nil), m.recs[:n]...),
		segs: append([][]byte(nil), m.segs[:n]...), acked: m.acked}
	if c.acked.Valid && c.acked.Seq >= uint64(n) {
		c.acked = feedchain.HeadOf(m.recs[n-1])
	}
	b, _ := m.MemSecret.ChainSecret()
	if len(b) > 0 {
		c.MemSecret.SetChainSecret(b)
	}
	return c
}

// record makes and appends the camera's next record.
func (m *memChain) record(t testing.TB, k *keys.PrivateKey) {
	t.Helper()
	data := []byte(fmt.Sprintf("segment %d of %s %d", len(m.recs), k.Address().Hex(), time.Now().UnixNano()))
	r := &feedchain.Record{Camera: k.Address(), Epoch: m.epoch, Seq: uint64(len(m.recs)), Segment: feedchain.SegmentHash(data),
		Start: time.Now().UnixNano(), Duration: 2 * time.Second, Size: uint64(len(data)), Codec: "avc1.4d401e"}
	if h := m.Head(); h.Valid {
		r.Prev = h.Hash
	}
	if err := r.Sign(k); err != nil {
		t.Fatal(err)
	}
	if err := m.Append(r, data); err != nil {
		t.Fatal(err)
	}
}

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
	chains map[keys.Address]*memChain
	alarms []string
	epoch  uint64
	// alarmErr, when set, is what Alarm returns: the hub cannot persist.
	alarmErr error
}

func newBackend() *memBackend {
	return &memBackend{pins: map[keys.Address]Pin{}, chains: map[keys.Address]*memChain{}}
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

func (b *memBackend) Chain(cam keys.Address, epoch uint64) (ServerChain, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.chains[cam]
	if !ok {
		c = &memChain{camera: cam, epoch: epoch}
		b.chains[cam] = c
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
