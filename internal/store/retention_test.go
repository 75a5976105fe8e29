package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
)

// checkKept asserts which segments of c are still on disk.
func checkKept(t *testing.T, c *Chain, want ...bool) {
	t.Helper()
	if uint64(len(want)) != c.Len() {
		t.Fatalf("chain has %d records, test expects %d", c.Len(), len(want))
	}
	for seq, keep := range want {
		_, err := c.Segment(uint64(seq))
		info, _ := c.Info(uint64(seq))
		if kept := err == nil; kept != keep || info.Pruned == keep {
			t.Fatalf("segment %d: kept %v (err %v, pruned %v), want kept %v", seq, kept, err, info.Pruned, keep)
		}
		if !keep && !errors.Is(err, ErrPruned) {
			t.Fatalf("segment %d: %v, want ErrPruned", seq, err)
		}
		if _, err := c.Record(uint64(seq)); err != nil {
			t.Fatalf("record %d gone with its segment: %v", seq, err)
		}
	}
}

// The agent's SD card: nothing unacknowledged is ever deleted to make
// room; when only unacknowledged segments fill it, Reserve says ErrFull.
func TestReserveNeverDeletesUnacked(t *testing.T) {
	dir := t.TempDir()
	var lb logBuffer
	s := openStore(t, dir, Options{MaxBytes: 5000, Logger: lb.logger()})
	cam := newCamera(t, 1)
	c := mustChain(t, s, cam)
	recs, _ := appendN(t, c, cam, 5, 1000) // 5000 bytes: full, nothing acked

	err := c.Reserve(1000)
	var fe *FullError
	if !errors.As(err, &fe) || !errors.Is(err, ErrFull) {
		t.Fatalf("Reserve on a card full of unacked segments: %v", err)
	}
	if *fe != (FullError{Dir: dir, Need: 1000, Stored: 5000, Unacked: 5000, Limit: 5000}) {
		t.Fatalf("FullError = %+v", *fe)
	}
	for _, want := range []string{"5000 bytes of unacknowledged", "5000-byte limit", "never deleted"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	if !strings.Contains(lb.String(), "level=ERROR") {
		t.Fatalf("ErrFull was not logged as an error:\n%s", lb.String())
	}
	checkKept(t, c, true, true, true, true, true)

	// The hub acknowledges #1: #0 goes (just enough), #1 stays.
	if err := c.SetAcked(feedchain.HeadOf(recs[1])); err != nil {
		t.Fatal(err)
	}
	if err := c.Reserve(1000); err != nil {
		t.Fatal(err)
	}
	checkKept(t, c, false, true, true, true, true)
	if s.Stored() != 4000 {
		t.Fatalf("stored %d", s.Stored())
	}
	// 2500 more would need #2, which is unacknowledged: #1 goes, then full.
	err = c.Reserve(2500)
	if !errors.As(err, &fe) || fe.Unacked != 3000 || fe.Stored != 3000 {
		t.Fatalf("Reserve(2500): %v", err)
	}
	checkKept(t, c, false, false, true, true, true)
	// A segment larger than the card never fits.
	if err := c.Reserve(6000); !errors.Is(err, ErrFull) {
		t.Fatalf("Reserve(6000): %v", err)
	}

	// The pruned state survives a reopen.
	s.Close()
	s = openStore(t, dir, Options{MaxBytes: 5000})
	c = mustChain(t, s, cam)
	checkKept(t, c, false, false, true, true, true)
	if s.Stored() != 3000 || c.Acked() != feedchain.HeadOf(recs[1]) {
		t.Fatalf("after reopen: stored %d, acked %s", s.Stored(), c.Acked())
	}
	verifyChain(t, c)
}

// Prune never deletes at or above protectFrom, whatever the limits say.
func TestPruneRespectsProtectFrom(t *testing.T) {
	now := t0.Add(24 * time.Hour)
	s := openStore(t, t.TempDir(), Options{MaxBytes: 1000, MaxAge: time.Hour, Clock: func() time.Time { return now }})
	cam := newCamera(t, 1)
	c := mustChain(t, s, cam)
	appendN(t, c, cam, 6, 500) // all a day old, 3000 bytes over a 1000-byte limit

	res, err := c.Prune(2)
	if err != nil || res.Deleted != 2 || res.Freed != 1000 || res.Stored != 2000 {
		t.Fatalf("Prune(2) = %+v, %v", res, err)
	}
	checkKept(t, c, false, false, true, true, true, true)
	if res, _ := c.Prune(0); res.Deleted != 0 {
		t.Fatalf("Prune(0) deleted %d", res.Deleted)
	}
	// The hub protects nothing it has: the age limit takes everything.
	if res, _ := c.Prune(c.Len()); res.Deleted != 4 || res.Stored != 0 {
		t.Fatalf("Prune(Len) = %+v", res)
	}
}

// MaxAge deletes segments that ended more than MaxAge ago, oldest first,
// and nothing newer.
func TestPruneByAge(t *testing.T) {
	var now time.Time
	s := openStore(t, t.TempDir(), Options{MaxAge: time.Hour, Clock: func() time.Time { return now }})
	cam := newCamera(t, 1)
	cam.every = 10 * time.Minute
	c := mustChain(t, s, cam)
	appendN(t, c, cam, 6, 100) // #i covers t0+10i min .. t0+10(i+1) min

	now = t0.Add(time.Hour + 30*time.Minute) // #0 and #1 ended over an hour ago; #2 exactly an hour ago
	res, err := c.Prune(c.Len())
	if err != nil || res.Deleted != 2 {
		t.Fatalf("Prune = %+v, %v", res, err)
	}
	checkKept(t, c, false, false, true, true, true, true)
	now = now.Add(time.Nanosecond)
	if res, _ := c.Prune(c.Len()); res.Deleted != 1 {
		t.Fatalf("a nanosecond later: %+v", res)
	}
}

// One byte limit for the whole card: the oldest epoch's acknowledged
// segments go first, then the current epoch's; another camera's and
// anything unacknowledged stay.
func TestReserveAcrossEpochs(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{MaxBytes: 10_000})
	old := newCamera(t, 1)
	cur := &camera{k: old.k, epoch: 2, every: old.every}
	c1 := mustChain(t, s, old)
	c2 := mustChain(t, s, cur)
	// Epoch 2's camera clock was reset: its segments claim to be older.
	// Epoch order, not the claimed time, decides within one camera.
	old.every = time.Hour
	r1, _ := appendN(t, c1, old, 3, 1000)
	r2, _ := appendN(t, c2, cur, 3, 1000)
	other := newCamera(t, 1)
	co := mustChain(t, s, other)
	appendN(t, co, other, 4, 1000) // never acked: never pruned
	if s.Stored() != 10_000 {
		t.Fatalf("stored %d", s.Stored())
	}
	c1.SetAcked(feedchain.HeadOf(r1[1]))
	c2.SetAcked(feedchain.HeadOf(r2[2]))

	if err := c2.Reserve(2000); err != nil {
		t.Fatal(err)
	}
	checkKept(t, c1, false, false, true)
	checkKept(t, c2, true, true, true)
	if err := c2.Reserve(3000); err != nil {
		t.Fatal(err)
	}
	checkKept(t, c1, false, false, true) // #2 of epoch 1 is not acknowledged
	checkKept(t, c2, false, true, true)
	err := c2.Reserve(5001)
	var fe *FullError
	if !errors.As(err, &fe) || fe.Unacked != 5000 || fe.Stored != 5000 {
		t.Fatalf("Reserve(5001): %v", err)
	}
	checkKept(t, c1, false, false, true)
	checkKept(t, c2, false, false, false)
	checkKept(t, co, true, true, true, true)

	// With a byte limit, Open loads every chain so the total is right.
	dir := s.Dir()
	s.Close()
	s = openStore(t, dir, Options{MaxBytes: 10_000})
	if s.Stored() != 5000 {
		t.Fatalf("after reopen the store counts %d bytes", s.Stored())
	}
}

func TestPickOldestAcrossCameras(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	a, b := newCamera(t, 1), newCamera(t, 1)
	ca1, cb := mustChain(t, s, a), mustChain(t, s, b)
	a2 := &camera{k: a.k, epoch: 2, every: a.every}
	ca2 := mustChain(t, s, a2)
	a.every = 90 * time.Second // a's epoch 1 starts at t0, its #1 at t0+90s
	appendN(t, ca1, a, 2, 10)
	appendN(t, ca2, a2, 1, 10) // t0: as old as a's epoch 1, but a later epoch
	b.every = time.Minute
	appendN(t, cb, b, 2, 10) // t0, t0+1m

	// Walk retention's order to the end: s.loaded() is sorted by camera
	// and epoch, as prune's cursors are.
	chains := s.loaded()
	at := make([]uint64, len(chains))
	var got []string
	for {
		var cs []cursor
		for i, c := range chains {
			cs = append(cs, cursor{c: c, at: at[i], bound: c.Len()})
		}
		i, ok := pickOldest(cs)
		if !ok {
			break
		}
		name := "a"
		if chains[i].ID().Camera == b.addr() {
			name = "b"
		}
		got = append(got, fmt.Sprintf("%s%d#%d", name, chains[i].ID().Epoch, at[i]))
		at[i]++
	}
	// a1#0 (t0) ties b1#0 (t0): whichever camera sorts first; then the
	// rest by start time, a's epoch 2 only after its epoch 1.
	want1 := "a1#0 b1#0 b1#1 a1#1 a2#0"
	want2 := "b1#0 a1#0 b1#1 a1#1 a2#0"
	if g := strings.Join(got, " "); g != want1 && g != want2 {
		t.Fatalf("retention order %q", g)
	}
}
