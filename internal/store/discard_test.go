package store

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/camchain/camchain/internal/feedchain"
)

// Discard deletes a chain whole: it is no longer listed, its bytes no
// longer counted, the next StreamChain starts it afresh at #0, and other
// chains of the camera are untouched. What a crash inside Discard leaves
// (the renamed directory) is gone at the next Open.
func TestDiscard(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	cam, other := newCamera(t, 0), newCamera(t, 0)
	c := mustChain(t, s, cam)
	appendN(t, c, cam, 3, 1000)
	oc := mustChain(t, s, other)
	appendN(t, oc, other, 2, 500)
	if s.Stored() != 4000 {
		t.Fatalf("stored %d before, want 4000", s.Stored())
	}
	if err := s.Discard(c.ID()); err != nil {
		t.Fatal(err)
	}
	ids, err := s.Chains()
	if err != nil || len(ids) != 1 || ids[0] != oc.ID() {
		t.Fatalf("chains after the discard: %v, %v; want only the other camera's", ids, err)
	}
	if s.Stored() != 1000 {
		t.Fatalf("stored %d after, want the other chain's 1000", s.Stored())
	}
	if _, err := c.Segment(0); err == nil {
		t.Fatal("the discarded *Chain still reads")
	}
	fresh := mustChain(t, s, cam)
	if fresh.Head().Valid {
		t.Fatalf("the chain after a discard has head %v, want empty", fresh.Head())
	}
	cam.head = feedchain.Head{}
	appendN(t, fresh, cam, 1, 100)
	verifyChain(t, fresh)
	verifyChain(t, oc)
	if err := s.Discard(ChainRef{Camera: cam.addr(), Epoch: 9}); err != nil {
		t.Fatalf("discarding a chain that does not exist: %v", err)
	}
	// A crash after the rename: the next Open removes the leftover.
	s.Close()
	left := filepath.Join(dir, filepath.Dir(fresh.ID().dirName()), discardPrefix+"0-1")
	if err := os.MkdirAll(filepath.Join(left, "seg"), 0o700); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t, dir, Options{})
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Fatalf("the leftover of a discard survived Open: %v", err)
	}
	if ids, _ := s2.Chains(); len(ids) != 2 {
		t.Fatalf("chains after reopening: %v", ids)
	}
}
