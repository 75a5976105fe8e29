package hub

import (
	"sync"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// Live parts (SPEC §7.3, §15.5): the parts of each camera stream's open
// segment, as the link checked them, kept in memory until the next
// segment's part 0 replaces them, so that a live playback session that
// asked for parts can send them before the segment closes (and one that
// joins mid-segment can catch up). Never stored: the segment is.

// livePart is one checked part and its bytes.
type livePart struct {
	part *feedchain.Part
	data []byte
}

// partFeed is one camera stream's open segment.
type partFeed struct {
	epoch uint64
	seq   uint64
	parts []livePart
	grew  chan struct{} // closed when parts grow or change
}

type partKey struct {
	cam    keys.Address
	stream feedchain.Stream
}

// liveParts implements link.PartSink for the hub's playback sessions.
type liveParts struct {
	mu sync.Mutex
	m  map[partKey]*partFeed
}

func (l *liveParts) feed(k partKey) *partFeed {
	if l.m == nil {
		l.m = map[partKey]*partFeed{}
	}
	f := l.m[k]
	if f == nil {
		f = &partFeed{grew: make(chan struct{})}
		l.m[k] = f
	}
	return f
}

// Part takes a part the link checked: part 0 opens a new segment (the
// previous one's parts are dropped), later parts extend it in order.
func (l *liveParts) Part(cam keys.Address, p *feedchain.Part, data []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.feed(partKey{cam, p.Stream})
	switch {
	case p.Index == 0:
		f.epoch, f.seq, f.parts = p.Epoch, p.Seq, nil
	case f.epoch != p.Epoch || f.seq != p.Seq || len(f.parts) != int(p.Index):
		return // the link passes parts on in order; anything else is stale
	}
	f.parts = append(f.parts, livePart{p, data})
	close(f.grew)
	f.grew = make(chan struct{})
}

// since returns the open segment's parts of record seq in epoch from
// index from on, and a channel closed when the feed next changes.
func (l *liveParts) since(cam keys.Address, stream feedchain.Stream, epoch, seq uint64, from int) ([]livePart, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.feed(partKey{cam, stream})
	if f.epoch != epoch || f.seq != seq || from >= len(f.parts) {
		return nil, f.grew
	}
	return f.parts[from:], f.grew
}
