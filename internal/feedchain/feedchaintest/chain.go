// Package feedchaintest holds an in-memory feed chain for the tests and
// benchmarks of the camera link (internal/link's tests, tools/bench): one
// implementation, so the two cannot drift apart. The real store is
// exercised in the hub and agent tests.
//
// It imports nothing of internal/link, so link's own (internal) tests can
// use it; link.CameraChain and link.ServerChain are satisfied by shape, and
// the users assert that.
package feedchaintest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// Codec is the codec string of the records Add makes.
const Codec = "avc1.4d401e"

// Chain is one camera's feed chain in one epoch, in memory. A camera uses it
// as link.CameraChain (Add its records; the link reads them and stores the
// hub's acknowledgement), a hub as link.ServerChain (the link Appends what it
// receives, verified as the store verifies it). It remembers when each
// record was made and acknowledged.
type Chain struct {
	Camera keys.Address
	Epoch  uint64
	// Stream is the chain's stream; records of the sub stream are made in
	// record version 2 (the main stream's in version 1, as before).
	Stream feedchain.Stream
	// SkipSegmentHash makes Append check a segment's size but not its
	// SHA-256 (the store checks both; a benchmark measures the hash apart).
	SkipSegmentHash bool
	// DropSegments keeps no segment bytes once they are safe elsewhere:
	// Append keeps none, and SetAcked drops the acknowledged ones (the agent's
	// card keeps them instead; here they would only fill memory).
	DropSegments bool

	mu      sync.Mutex
	recs    []*feedchain.Record
	segs    [][]byte
	made    []time.Time
	ackedAt []time.Time // zero while not acknowledged
	acked   feedchain.Head
	bytes   int64  // segment bytes added or appended
	secret  []byte // the link's chain secret state (link.SecretStore)
	// whenAcked, if set, is closed once record wantSeq is acknowledged.
	wantSeq   uint64
	whenAcked chan struct{}
}

// Add signs, with k, the record of data as the camera's next one and keeps
// both (data itself, not a copy): what a camera does with each segment it
// cuts.
func (c *Chain) Add(k *keys.PrivateKey, data []byte, start time.Time, dur time.Duration) (*feedchain.Record, error) {
	return c.AddHashed(k, data, feedchain.SegmentHash(data), start, dur)
}

// AddHashed is Add for data whose segment hash h the caller computed
// already (simulated cameras sending the same bytes many times).
func (c *Chain) AddHashed(k *keys.PrivateKey, data []byte, h feedchain.Hash, start time.Time, dur time.Duration) (*feedchain.Record, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := &feedchain.Record{Camera: c.Camera, Epoch: c.Epoch, Seq: uint64(len(c.recs)),
		Segment: h, Start: start.UnixNano(), Duration: dur,
		Size: uint64(len(data)), Codec: Codec}
	if c.Stream != feedchain.StreamMain {
		r.Version, r.Stream, r.Clock = feedchain.Version2, c.Stream, feedchain.ClockArrival
	}
	if n := len(c.recs); n > 0 {
		r.Prev = c.recs[n-1].Hash()
	}
	if err := r.Sign(k); err != nil {
		return nil, err
	}
	c.keep(r, data)
	return r, nil
}

// AddNext adds a record of a fresh, unique little segment, failing t on error.
func (c *Chain) AddNext(t testing.TB, k *keys.PrivateKey) *feedchain.Record {
	t.Helper()
	data := []byte(fmt.Sprintf("segment %d of %s %d", c.Len(), k.Address().Hex(), time.Now().UnixNano()))
	r, err := c.Add(k, data, time.Now(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// keep appends r and its segment; c.mu is held.
func (c *Chain) keep(r *feedchain.Record, data []byte) {
	c.recs = append(c.recs, r)
	c.segs = append(c.segs, data)
	c.made = append(c.made, time.Now())
	c.ackedAt = append(c.ackedAt, time.Time{})
	c.bytes += int64(r.Size)
}

// ShareSegment makes record seq's kept segment data, which must hold the
// same bytes (a benchmark shares them with the frames that carry them).
func (c *Chain) ShareSegment(seq uint64, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq >= uint64(len(c.segs)) || !bytes.Equal(c.segs[seq], data) {
		return fmt.Errorf("segment %d: other bytes than the record's", seq)
	}
	c.segs[seq] = data
	return nil
}

// Len is how many records the chain holds.
func (c *Chain) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.recs)
}

// Unacked returns a chain holding the same records and segments with
// nothing acknowledged, as if the camera had recorded them offline.
func (c *Chain) Unacked() *Chain {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.recs)
	return &Chain{Camera: c.Camera, Epoch: c.Epoch, SkipSegmentHash: c.SkipSegmentHash, DropSegments: c.DropSegments,
		recs: c.recs[:n:n], segs: append([][]byte(nil), c.segs...), made: append([]time.Time(nil), c.made...),
		ackedAt: make([]time.Time, n), bytes: c.bytes}
}

// CopyOf is a copy of the chain's "disk" as it is now, cut to its first n
// records: records, segments, acknowledgement (cut too) and chain secret.
func (c *Chain) CopyOf(n int) *Chain {
	c.mu.Lock()
	defer c.mu.Unlock()
	cp := &Chain{Camera: c.Camera, Epoch: c.Epoch, SkipSegmentHash: c.SkipSegmentHash, DropSegments: c.DropSegments,
		recs: append([]*feedchain.Record(nil), c.recs[:n]...), segs: append([][]byte(nil), c.segs[:n]...),
		made: append([]time.Time(nil), c.made[:n]...), ackedAt: append([]time.Time(nil), c.ackedAt[:n]...),
		acked: c.acked, secret: bytes.Clone(c.secret)}
	if cp.acked.Valid && cp.acked.Seq >= uint64(n) {
		cp.acked = feedchain.Head{}
		if n > 0 {
			cp.acked = feedchain.HeadOf(c.recs[n-1])
		}
	}
	for _, r := range cp.recs {
		cp.bytes += int64(r.Size)
	}
	return cp
}

// ChainSecret is the link's chain secret state as last set (link.SecretStore).
func (c *Chain) ChainSecret() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.secret), nil
}

// SetChainSecret keeps the link's chain secret state (link.SecretStore).
func (c *Chain) SetChainSecret(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.secret = bytes.Clone(b)
	return nil
}

// AckedUpTo returns a channel that closes once record seq is acknowledged.
func (c *Chain) AckedUpTo(seq uint64) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wantSeq, c.whenAcked = seq, make(chan struct{})
	if c.acked.Valid && c.acked.Seq >= seq {
		close(c.whenAcked)
		c.whenAcked = nil
	}
	return c.whenAcked
}

// Head is the last record's head.
func (c *Chain) Head() feedchain.Head {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.recs) == 0 {
		return feedchain.Head{}
	}
	return feedchain.HeadOf(c.recs[len(c.recs)-1])
}

// HashAt is record seq's hash.
func (c *Chain) HashAt(seq uint64) (feedchain.Hash, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq >= uint64(len(c.recs)) {
		return feedchain.Hash{}, false
	}
	return c.recs[seq].Hash(), true
}

// Record is record seq.
func (c *Chain) Record(seq uint64) (*feedchain.Record, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq >= uint64(len(c.recs)) {
		return nil, fmt.Errorf("no record %d", seq)
	}
	return c.recs[seq], nil
}

// Segment is record seq's segment bytes.
func (c *Chain) Segment(seq uint64) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq >= uint64(len(c.segs)) || c.segs[seq] == nil {
		return nil, fmt.Errorf("no segment %d (dropped, or never kept)", seq)
	}
	return c.segs[seq], nil
}

// Acked is the last acknowledged head.
func (c *Chain) Acked() feedchain.Head {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.acked
}

// SetAcked checks h against the chain as the agent's store does, and stamps
// every newly acknowledged record.
func (c *Chain) SetAcked(h feedchain.Head) error {
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
		if c.DropSegments {
			c.segs[s] = nil
		}
	}
	c.acked = h
	if c.whenAcked != nil && h.Seq >= c.wantSeq {
		close(c.whenAcked)
		c.whenAcked = nil
	}
	return nil
}

// Append verifies r as the hub's store does (signature, link to the head,
// segment size and, unless SkipSegmentHash, the segment's SHA-256) and keeps
// it. data is copied (the link reuses its buffer), unless DropSegments.
func (c *Chain) Append(r *feedchain.Record, data []byte) error {
	if err := feedchain.Verify(r); err != nil {
		return err
	}
	if err := feedchain.VerifyNext(c.Camera, c.Epoch, c.Head(), r); err != nil {
		return err
	}
	if err := feedchain.VerifyStream(c.Stream, r); err != nil {
		return err
	}
	if uint64(len(data)) != r.Size {
		return fmt.Errorf("record #%d: segment of %d bytes, record says %d", r.Seq, len(data), r.Size)
	}
	if !c.SkipSegmentHash {
		if err := feedchain.VerifySegment(r, data); err != nil {
			return err
		}
	}
	var kept []byte
	if !c.DropSegments {
		kept = bytes.Clone(data)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keep(r, kept)
	return nil
}

// Bytes is the segment bytes added or appended so far.
func (c *Chain) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// Stamp is when one record was made (added or appended) and acknowledged.
type Stamp struct {
	Size  uint64
	Made  time.Time
	Acked time.Time // zero while not acknowledged
}

// Stamps returns every record's stamp, by sequence number.
func (c *Chain) Stamps() []Stamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Stamp, len(c.recs))
	for i, r := range c.recs {
		out[i] = Stamp{Size: r.Size, Made: c.made[i], Acked: c.ackedAt[i]}
	}
	return out
}
