package integrations

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/camchain/camchain/internal/atomicfile"
)

// Outbox is the on-disk queue every sink delivers from
// (<data>/integrations/outbox.log and one <sink>.cursor per sink). Append
// returns once the event is fsynced; each sink takes the entries in order
// from its cursor and moves the cursor only after a delivery succeeded, so
// an event is delivered at least once, across crashes and restarts.
type Outbox struct {
	dir string
	log *slog.Logger

	mu      sync.Mutex
	f       *os.File
	size    int64
	first   uint64  // index of entries[0]
	entries []entry // the log's entries, in order
	bytes   int64   // their payload bytes
	sinks   map[string]*sinkCursor
	closed  bool
	// the bound: MaxOutboxEvents and MaxOutboxBytes
	maxEvents int
	maxBytes  int64
}

type sinkCursor struct {
	next    uint64
	wake    chan struct{}
	dropped uint64 // entries dropped from the bound before this sink took them
}

func (o *Outbox) logPath() string               { return filepath.Join(o.dir, "outbox.log") }
func (o *Outbox) cursorPath(sink string) string { return filepath.Join(o.dir, sink+".cursor") }

// OpenOutbox opens (or creates) the outbox in dir for the named sinks. A
// sink without a cursor file starts at the end: it is sent what happens
// from now on, not the history.
func OpenOutbox(dir string, sinks []string, log *slog.Logger) (*Outbox, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	o := &Outbox{dir: dir, log: log, sinks: map[string]*sinkCursor{}, maxEvents: MaxOutboxEvents, maxBytes: MaxOutboxBytes}
	b, err := os.ReadFile(o.logPath())
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := o.rewrite(0, nil); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	default:
		first, entries, good, err := decodeOutbox(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.logPath(), err)
		}
		if good < len(b) {
			log.Warn("integrations: outbox: cutting a torn or damaged tail", "bytes", len(b)-good)
		}
		// Copy the kept entries out of b (it is released) and rewrite
		// nothing: truncating the tail is enough.
		o.first = first
		for _, e := range entries {
			o.entries = append(o.entries, entry{id: e.id, payload: append([]byte(nil), e.payload...)})
			o.bytes += int64(len(e.payload))
		}
		if o.f, err = os.OpenFile(o.logPath(), os.O_WRONLY, 0o600); err != nil {
			return nil, err
		}
		if good < len(b) {
			if err := o.f.Truncate(int64(good)); err != nil {
				o.f.Close()
				return nil, err
			}
			if err := o.f.Sync(); err != nil {
				o.f.Close()
				return nil, err
			}
		}
		if _, err := o.f.Seek(int64(good), io.SeekStart); err != nil {
			o.f.Close()
			return nil, err
		}
		o.size = int64(good)
	}
	for _, s := range sinks {
		if err := o.addSink(s); err != nil {
			o.f.Close()
			return nil, err
		}
	}
	return o, nil
}

func (o *Outbox) end() uint64 { return o.first + uint64(len(o.entries)) }

func (o *Outbox) addSink(name string) error {
	if name == "" || filepath.Base(name) != name {
		return fmt.Errorf("integrations: bad sink name %q", name)
	}
	c := &sinkCursor{wake: make(chan struct{}, 1)}
	b, err := os.ReadFile(o.cursorPath(name))
	switch {
	case errors.Is(err, os.ErrNotExist):
		c.next = o.end()
		if err := atomicfile.Write(o.cursorPath(name), encodeCursor(c.next), 0o600); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		if c.next, err = decodeCursor(b); err != nil {
			return fmt.Errorf("%s: %w", o.cursorPath(name), err)
		}
		if c.next < o.first {
			// The bound dropped entries this sink had not taken.
			c.dropped = o.first - c.next
			o.log.Warn("integrations: outbox: events dropped before this sink took them", "sink", name, "dropped", c.dropped)
			c.next = o.first
		}
		c.next = min(c.next, o.end())
	}
	o.sinks[name] = c
	return nil
}

// rewrite replaces the log by one holding entries from index first on.
func (o *Outbox) rewrite(first uint64, keep []entry) error {
	buf := outboxHeader(first)
	var n int64
	for _, e := range keep {
		buf = appendFrame(buf, e.payload)
		n += int64(len(e.payload))
	}
	if err := atomicfile.Write(o.logPath(), buf, 0o600); err != nil {
		return err
	}
	f, err := os.OpenFile(o.logPath(), os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if o.f != nil {
		o.f.Close()
	}
	o.f, o.size, o.first, o.entries, o.bytes = f, int64(len(buf)), first, keep, n
	return nil
}

// Append persists e (write + fsync) for every sink. It reports false, and
// appends nothing, for an event whose id is among the last ones appended.
func (o *Outbox) Append(e Event) (bool, error) {
	payload, err := e.encode()
	if err != nil {
		return false, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return false, errors.New("integrations: outbox closed")
	}
	for i := max(0, len(o.entries)-dedupWindow); i < len(o.entries); i++ {
		if o.entries[i].id == e.ID {
			return false, nil
		}
	}
	if err := o.makeRoom(int64(len(payload))); err != nil {
		return false, err
	}
	frame := appendFrame(nil, payload)
	if _, err := o.f.Write(frame); err != nil {
		return false, fmt.Errorf("integrations: outbox: %w", err)
	}
	if err := o.f.Sync(); err != nil {
		return false, fmt.Errorf("integrations: outbox: %w", err)
	}
	o.size += int64(len(frame))
	o.entries = append(o.entries, entry{id: e.ID, payload: payload})
	o.bytes += int64(len(payload))
	for _, c := range o.sinks {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	return true, nil
}

// makeRoom compacts the log: it drops what every sink has taken once that
// is most of the file, and the oldest pending entries when one more of n
// bytes would pass the bound (a tenth of the bound at once, so that a full
// outbox is not rewritten on every append).
func (o *Outbox) makeRoom(n int64) error {
	low := o.end()
	for _, c := range o.sinks {
		low = min(low, c.next)
	}
	drop := int(low - o.first) // taken by every sink
	over := len(o.entries)+1 > o.maxEvents || o.bytes+n > o.maxBytes
	if !over && (drop == 0 || o.size < outboxCompactAt) {
		return nil
	}
	if over {
		var freed int64
		for drop < len(o.entries) && (len(o.entries)-drop+1 > o.maxEvents*9/10 || o.bytes-freed+n > o.maxBytes*9/10) {
			freed += int64(len(o.entries[drop].payload))
			drop++
		}
		// what is not taken by every sink but dropped
		for name, c := range o.sinks {
			if newFirst := o.first + uint64(drop); c.next < newFirst {
				lost := newFirst - c.next
				c.dropped += lost
				o.log.Error("integrations: outbox full; oldest undelivered events dropped (they are on the ledger)", "sink", name, "dropped", lost)
				c.next = newFirst
			}
		}
	}
	keep := append([]entry(nil), o.entries[drop:]...)
	return o.rewrite(o.first+uint64(drop), keep)
}

// Next returns the next entry sink has not taken: its index, id and JSON.
func (o *Outbox) Next(sink string) (idx uint64, id string, payload []byte, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.sinks[sink]
	if c == nil || c.next >= o.end() {
		return 0, "", nil, false
	}
	e := o.entries[c.next-o.first]
	return c.next, e.id, e.payload, true
}

// Wake is signalled when an entry is appended.
func (o *Outbox) Wake(sink string) <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.sinks[sink].wake
}

// Done records that sink took the entry at idx (and every one before).
func (o *Outbox) Done(sink string, idx uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.sinks[sink]
	if c == nil || idx+1 <= c.next {
		return nil
	}
	next := min(idx+1, o.end())
	if err := atomicfile.Write(o.cursorPath(sink), encodeCursor(next), 0o600); err != nil {
		return fmt.Errorf("integrations: outbox cursor of %s: %w", sink, err)
	}
	c.next = next
	return nil
}

// Pending is how many entries sink has not taken, and how many were
// dropped before it could.
func (o *Outbox) Pending(sink string) (pending int, dropped uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.sinks[sink]
	if c == nil {
		return 0, 0
	}
	return int(o.end() - c.next), c.dropped
}

// Close closes the log file.
func (o *Outbox) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	return o.f.Close()
}
