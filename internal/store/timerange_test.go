package store

import (
	"testing"
	"time"
)

// TestRangeTimeFindsTheWindow: a chain with a gap and a clock step back;
// RangeTime returns exactly the segments overlapping the window, the same
// after a reopen (the index is rebuilt from the log), and nothing for a
// window in the gap.
func TestRangeTimeFindsTheWindow(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	cam := newCamera(t, 0)
	c := mustChain(t, s, cam)
	// seq 0..9 at t0+2s·seq; then a 60 s outage; seq 10..14 after it;
	// seq 15 starts 1 s before seq 14 ended (a clock step back).
	offset := time.Duration(0)
	for seq := range 16 {
		if seq == 10 {
			offset = 60 * time.Second
		}
		if seq == 15 {
			offset -= time.Second
		}
		data := segment(uint64(seq), 64)
		r := cam.unsigned(data)
		r.Start += int64(offset)
		if err := r.Sign(cam.k); err != nil {
			t.Fatal(err)
		}
		if err := c.Append(r, data); err != nil {
			t.Fatal(err)
		}
		cam.head.Valid, cam.head.Seq, cam.head.Hash = true, r.Seq, r.Hash()
	}
	seqs := func(c *Chain, from, to time.Time) []uint64 {
		var out []uint64
		c.RangeTime(from, to, func(si SegmentInfo) bool { out = append(out, si.Seq); return true })
		return out
	}
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	cases := []struct {
		name     string
		from, to time.Time
		want     []uint64
	}{
		{"all", at(-time.Hour), at(time.Hour), []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}},
		{"inside one segment", at(2500 * time.Millisecond), at(3 * time.Second), []uint64{1}},
		{"boundaries are half-open", at(2 * time.Second), at(6 * time.Second), []uint64{1, 2}},
		{"in the outage", at(21 * time.Second), at(79 * time.Second), nil},
		{"across the outage", at(19 * time.Second), at(81 * time.Second), []uint64{9, 10}},
		{"the step back", at(88 * time.Second), at(90 * time.Second), []uint64{14, 15}},
		{"before everything", at(-time.Hour), at(0), nil},
		{"after everything", at(time.Hour), at(2 * time.Hour), nil},
	}
	check := func(c *Chain) {
		t.Helper()
		for _, tc := range cases {
			if got := seqs(c, tc.from, tc.to); !equalSeqs(got, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}
		var n int
		c.RangeTime(at(-time.Hour), at(time.Hour), func(SegmentInfo) bool { n++; return n < 3 })
		if n != 3 {
			t.Errorf("fn returning false did not stop the range: %d calls", n)
		}
	}
	check(c)
	s.Close()
	s2 := openStore(t, dir, Options{})
	c2, err := s2.Lookup(cam.addr(), 0)
	if err != nil {
		t.Fatal(err)
	}
	check(c2)
}

func equalSeqs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
