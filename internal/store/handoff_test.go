package store

import (
	"bytes"
	"os"
	"testing"
)

// TestHandOff: with Options.HandOff the first Segment call after Append
// takes the appended bytes without reading the card (the file is gone
// and it still answers); the next reads the file; and bytes changed after
// Append are never served: the card's copy is (or the damage is reported).
func TestHandOff(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{HandOff: true})
	cam := newCamera(t, 1)
	c := mustChain(t, s, cam)
	_, segs := appendN(t, c, cam, 2, 4096)

	moved := c.segPath(1) + ".moved"
	if err := os.Rename(c.segPath(1), moved); err != nil {
		t.Fatal(err)
	}
	got, err := c.Segment(1)
	if err != nil || !bytes.Equal(got, segs[1]) {
		t.Fatalf("handed-off segment: %v", err)
	}
	if _, err := c.Segment(1); err == nil {
		t.Fatal("the second read served the hand-off again, not the card")
	}
	if err := os.Rename(moved, c.segPath(1)); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Segment(1); err != nil || !bytes.Equal(got, segs[1]) {
		t.Fatalf("the card's copy: %v", err)
	}
	if got, err := c.Segment(0); err != nil || !bytes.Equal(got, segs[0]) {
		t.Fatalf("an older segment: %v", err)
	}

	// Changed after Append: the card's bytes are served.
	_, more := appendN(t, c, cam, 1, 4096)
	want := bytes.Clone(more[0])
	more[0][100] ^= 0xff
	if got, err := c.Segment(2); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("a hand-off changed after Append: %v (served the changed bytes: %v)", err, bytes.Equal(got, more[0]))
	}

	// Without the option, nothing is kept.
	s2 := openStore(t, t.TempDir(), Options{})
	cam2 := newCamera(t, 1)
	c2 := mustChain(t, s2, cam2)
	appendN(t, c2, cam2, 1, 4096)
	if err := os.Remove(c2.segPath(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Segment(0); err == nil {
		t.Fatal("without HandOff a removed file was served")
	}
}
