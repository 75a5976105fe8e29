package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
)

// The in-memory chains, alarms and backend of the link benchmarks, after
// internal/link/mem_test.go (which is test-only there).

// segmentCodec is the codec string of the benchmarks' records.
const segmentCodec = "avc1.4d401e"

// camChain is a simulated camera's own chain: link.CameraChain in memory.
// It remembers when each record was made and how long each took to be
// acknowledged, and drops a segment's bytes once the hub has acknowledged
// it (the agent's store keeps them on its card instead; here they would
// only fill the benchmark's memory).
type camChain struct {
	link.MemSecret
	key   *keys.PrivateKey
	epoch uint64

	mu      sync.Mutex
	recs    []*feedchain.Record
	segs    [][]byte
	made    []time.Time
	acked   feedchain.Head
	ackedAt []time.Time // when each record was acknowledged; zero if not yet
	// whenAcked, if set, is closed once record wantSeq is acknowledged.
	wantSeq   uint64
	whenAcked chan struct{}
}

var _ link.CameraChain = (*camChain)(nil)

func newCamChain(k *keys.PrivateKey, epoch uint64) *camChain {
	return &camChain{key: k, epoch: epoch}
}

// add signs the record of data as the camera's next one and appends it.
func (c *camChain) add(data []byte, start time.Time, dur time.Duration) error {
	return c.addHashed(data, feedchain.SegmentHash(data), start, dur)
}

// addHashed is add for data whose segment hash the caller computed
// already (simulated cameras sending the same bytes many times).
func (c *camChain) addHashed(data []byte, h feedchain.Hash, start time.Time, dur time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := &feedchain.Record{Camera: c.key.Address(), Epoch: c.epoch, Seq: uint64(len(c.recs)),
		Segment: h, Start: start.UnixNano(), Duration: dur,
		Size: uint64(len(data)), Codec: segmentCodec}
	if n := len(c.recs); n > 0 {
		r.Prev = c.recs[n-1].Hash()
	}
	if err := r.Sign(c.key); err != nil {
		return err
	}
	c.recs = append(c.recs, r)
	c.segs = append(c.segs, data)
	c.made = append(c.made, time.Now())
	c.ackedAt = append(c.ackedAt, time.Time{})
	return nil
}

// fresh returns a camera chain holding the same records and segments with
// nothing acknowledged, as if the camera had recorded them offline.
func (c *camChain) fresh() *camChain {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.recs)
	return &camChain{key: c.key, epoch: c.epoch, recs: c.recs[:n:n], segs: append([][]byte(nil), c.segs...),
		made: append([]time.Time(nil), c.made...), ackedAt: make([]time.Time, n)}
}

// notifyAt arranges for the returned channel to close once record seq is
// acknowledged.
func (c *camChain) notifyAt(seq uint64) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wantSeq, c.whenAcked = seq, make(chan struct{})
	return c.whenAcked
}

func (c *camChain) Head() feedchain.Head {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.recs) == 0 {
		return feedchain.Head{}
	}
	return feedchain.HeadOf(c.recs[len(c.recs)-1])
}

func (c *camChain) HashAt(seq uint64) (feedchain.Hash, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq >= uint64(len(c.recs)) {
		return feedchain.Hash{}, false
	}
	return c.recs[seq].Hash(), true
}

func (c *camChain) Record(seq uint64) (*feedchain.Record, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq >= uint64(len(c.recs)) {
		return nil, fmt.Errorf("no record %d", seq)
	}
	return c.recs[seq], nil
}

func (c *camChain) Segment(seq uint64) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq >= uint64(len(c.segs)) || c.segs[seq] == nil {
		return nil, fmt.Errorf("no segment %d (acknowledged segments are dropped)", seq)
	}
	return c.segs[seq], nil
}

func (c *camChain) Acked() feedchain.Head {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.acked
}

// SetAcked checks h against the chain as the agent's store does, and
// stamps every newly acknowledged record.
func (c *camChain) SetAcked(h feedchain.Head) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case !h.Valid || h.Seq >= uint64(len(c.recs)):
		return fmt.Errorf("acknowledged %v is not a record of this chain", h)
	case c.recs[h.Seq].Hash() != h.Hash:
		return fmt.Errorf("acknowledged %v has another hash here", h)
	case c.acked.Valid && h.Seq < c.acked.Seq:
		return fmt.Errorf("acknowledgement moved backwards from %v to %v", c.acked, h)
	}
	from := uint64(0)
	if c.acked.Valid {
		from = c.acked.Seq + 1
	}
	now := time.Now()
	for s := from; s <= h.Seq; s++ {
		c.ackedAt[s] = now
		c.segs[s] = nil
	}
	c.acked = h
	if c.whenAcked != nil && h.Seq >= c.wantSeq {
		close(c.whenAcked)
		c.whenAcked = nil
	}
	return nil
}

// ackLatencies returns, for every acknowledged record made at or after
// since, the time from its making to its acknowledgement.
func (c *camChain) ackLatencies(since time.Time) []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for i, at := range c.ackedAt {
		if !at.IsZero() && !c.made[i].Before(since) {
			out = append(out, at.Sub(c.made[i]))
		}
	}
	return out
}

// madeBytesBetween returns the segment bytes made in [from, to).
func (c *camChain) madeBytesBetween(from, to time.Time) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for i, r := range c.recs {
		if !c.made[i].Before(from) && c.made[i].Before(to) {
			n += int64(r.Size)
		}
	}
	return n
}

// ackedBytesBetween returns the segment bytes acknowledged in [from, to).
func (c *camChain) ackedBytesBetween(from, to time.Time) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for i, at := range c.ackedAt {
		if !at.IsZero() && !at.Before(from) && at.Before(to) {
			n += int64(c.recs[i].Size)
		}
	}
	return n
}

// ackedCount is how many records are acknowledged.
func (c *camChain) ackedCount() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.acked.Valid {
		return 0
	}
	return int64(c.acked.Seq) + 1
}

// memHubChain is a hub's chain kept in memory: link.ServerChain verifying
// what the store verifies (signature, link to the head, segment size and,
// with hashSegments, the segment's SHA-256) but writing nothing.
type memHubChain struct {
	link.MemSecret
	camera       keys.Address
	epoch        uint64
	hashSegments bool // check each segment's SHA-256, as store.Chain.Append does

	mu    sync.Mutex
	recs  []*feedchain.Record
	bytes int64 // segment bytes appended
}

var _ link.ServerChain = (*memHubChain)(nil)

func (m *memHubChain) Head() feedchain.Head {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.recs) == 0 {
		return feedchain.Head{}
	}
	return feedchain.HeadOf(m.recs[len(m.recs)-1])
}

func (m *memHubChain) HashAt(seq uint64) (feedchain.Hash, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if seq >= uint64(len(m.recs)) {
		return feedchain.Hash{}, false
	}
	return m.recs[seq].Hash(), true
}

// Append verifies like the hub's store and keeps the record, but not the
// segment bytes (the link reuses its buffer; disk is measured elsewhere).
func (m *memHubChain) Append(r *feedchain.Record, data []byte) error {
	if err := feedchain.Verify(r); err != nil {
		return err
	}
	if err := feedchain.VerifyNext(m.camera, m.epoch, m.Head(), r); err != nil {
		return err
	}
	if uint64(len(data)) != r.Size {
		return fmt.Errorf("record #%d: segment of %d bytes, record says %d", r.Seq, len(data), r.Size)
	}
	if m.hashSegments {
		if err := feedchain.VerifySegment(r, data); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, r)
	m.bytes += int64(len(data))
	return nil
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

func (b *benchBackend) Chain(cam keys.Address, epoch uint64) (link.ServerChain, error) {
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
