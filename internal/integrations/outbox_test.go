package integrations

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
)

func testEvent(i int) Event {
	var cam keys.Address
	cam[0] = byte(i % 3)
	return NewAlarm(keys.Address{1}, cam, audit.CloneSuspected, fmt.Sprintf("event %d", i), time.Unix(1_800_000_000+int64(i), 0), time.Unix(1_800_000_000, 0))
}

func drain(t *testing.T, o *Outbox, sink string) []string {
	t.Helper()
	var ids []string
	for {
		idx, id, _, ok := o.Next(sink)
		if !ok {
			return ids
		}
		ids = append(ids, id)
		if err := o.Done(sink, idx); err != nil {
			t.Fatal(err)
		}
	}
}

// The outbox keeps every event across a restart until each sink took it,
// in order, and a sink's cursor survives too: nothing lost, nothing twice
// (from the outbox; the network may still repeat one).
func TestOutboxKeepsEventsAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	o, err := OpenOutbox(dir, []string{"a", "b"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if ok, err := o.Append(testEvent(i)); err != nil || !ok {
			t.Fatalf("append %d: %v %v", i, ok, err)
		}
	}
	if ok, _ := o.Append(testEvent(3)); ok {
		t.Fatal("a repeated event id was appended again")
	}
	got := drain(t, o, "a")[:0]
	o.Close()
	o, err = OpenOutbox(dir, []string{"a", "b", "new"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if p, _ := o.Pending("a"); p != 0 {
		t.Fatalf("sink a took everything before the restart; %d pending after it", p)
	}
	if p, _ := o.Pending("new"); p != 0 {
		t.Fatalf("a new sink starts at the end; %d pending", p)
	}
	got = drain(t, o, "b")
	if len(got) != 10 {
		t.Fatalf("sink b after the restart: %d events, want 10", len(got))
	}
	for i, id := range got {
		if id != testEvent(i).ID {
			t.Fatalf("event %d: %s, want %s (order)", i, id, testEvent(i).ID)
		}
	}
}

// A crash mid-append leaves a torn entry: it is cut off on open, and the
// log goes on from the last whole entry; damage in the middle ends the log
// there (fsync makes that a disk fault).
func TestOutboxCutsATornTail(t *testing.T) {
	dir := t.TempDir()
	o, err := OpenOutbox(dir, []string{"a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		o.Append(testEvent(i))
	}
	o.Close()
	path := filepath.Join(dir, "outbox.log")
	b, _ := os.ReadFile(path)
	whole := len(b)
	torn := appendFrame(nil, []byte(`{"id":"x"}`))
	os.WriteFile(path, append(b, torn[:len(torn)-3]...), 0o600)
	o, err = OpenOutbox(dir, []string{"a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := o.Pending("a"); p != 3 {
		t.Fatalf("a took none of the 3: %d pending", p)
	}
	if _, err := o.Append(testEvent(9)); err != nil {
		t.Fatal(err)
	}
	o.Close()
	b, _ = os.ReadFile(path)
	_, entries, good, err := decodeOutbox(b)
	if err != nil || good != len(b) || len(entries) != 4 || entries[3].id != testEvent(9).ID {
		t.Fatalf("after the torn tail: %d entries, %d of %d bytes good (%v); whole was %d", len(entries), good, len(b), err, whole)
	}
}

// The outbox is bounded: past MaxOutboxEvents the oldest pending events
// go, counted for the sink that had not taken them.
func TestOutboxIsBounded(t *testing.T) {
	dir := t.TempDir()
	o, err := OpenOutbox(dir, []string{"stuck"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	o.maxEvents = 200 // the same rule as MaxOutboxEvents, at a size that runs fast
	n := o.maxEvents + 10
	for i := range n {
		e := testEvent(i)
		if _, err := o.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	pending, dropped := o.Pending("stuck")
	if pending > o.maxEvents || pending+int(dropped) != n || dropped == 0 {
		t.Fatalf("pending %d + dropped %d, want %d with pending ≤ %d", pending, dropped, n, o.maxEvents)
	}
	o.Close()
	// The drop is durable: the reopened outbox has the same entries.
	o, err = OpenOutbox(dir, []string{"stuck"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := o.Pending("stuck"); p != pending {
		t.Fatalf("after reopening: %d pending, want %d", p, pending)
	}
	_, id, _, _ := o.Next("stuck")
	if id != testEvent(int(dropped)).ID {
		t.Fatalf("the oldest kept is %s, want event %d", id, dropped)
	}
}

// FuzzDecodeOutbox: any bytes decode without panic, within the caps, and
// the entries read re-encode to exactly the bytes they were read from.
func FuzzDecodeOutbox(f *testing.F) {
	good := outboxHeader(7)
	for i := range 3 {
		p, _ := testEvent(i).encode()
		good = appendFrame(good, p)
	}
	f.Add(good)
	f.Add(good[:len(good)-5])
	f.Add(outboxHeader(0))
	f.Add([]byte("camchain-hub-outbox 1 01\n"))
	f.Add(append(outboxHeader(1), 0, 0, 0, 0, 0, 0, 0, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		first, entries, good, err := decodeOutbox(b)
		if err != nil {
			if good != 0 || entries != nil {
				t.Fatal("an error with entries")
			}
			return
		}
		re := outboxHeader(first)
		for _, e := range entries {
			if len(e.payload) == 0 || len(e.payload) > MaxEventBytes || e.id == "" {
				t.Fatalf("entry out of bounds: %d bytes, id %q", len(e.payload), e.id)
			}
			re = appendFrame(re, e.payload)
		}
		if good > len(b) || !bytes.Equal(re, b[:good]) {
			t.Fatalf("re-encoding differs from the %d bytes read", good)
		}
	})
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(0))
	f.Add(encodeCursor(1 << 40))
	f.Add([]byte("camchain-outbox-cursor 1 007\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := decodeCursor(b)
		if err == nil && !bytes.Equal(encodeCursor(n), b) {
			t.Fatalf("%q decodes to %d, which encodes otherwise", b, n)
		}
	})
}
