package checkpoint

import (
	"errors"
	"strings"
	"testing"

	"github.com/camchain/camchain/internal/feedchain"
)

// hashChain is a chain with the records of the listed sequence numbers.
type hashChain map[uint64]feedchain.Hash

func (c hashChain) HashAt(seq uint64) (feedchain.Hash, bool) { h, ok := c[seq]; return h, ok }

// ExtendTo grows a tree from a chain to a size, in steps or at once, to the
// same root as appending by hand; it stops at the first record the chain
// lacks, naming it, with everything before it in the tree.
func TestExtendTo(t *testing.T) {
	rh := testRecordHashes(7)
	chain := hashChain{}
	for i, h := range rh {
		chain[uint64(i)] = h
	}
	want := NewTree()
	for _, h := range rh {
		want.Append(h)
	}
	tr := NewTree()
	for _, size := range []uint64{0, 3, 3, 2, 7} {
		before := tr.Size()
		if err := tr.ExtendTo(chain, size); err != nil {
			t.Fatal(err)
		}
		if got := tr.Size(); got != max(before, size) {
			t.Fatalf("ExtendTo(%d) from %d: size %d", size, before, got)
		}
	}
	if tr.Size() != 7 || tr.Root() != want.Root() {
		t.Fatalf("size %d root %x, want 7 and %x", tr.Size(), tr.Root(), want.Root())
	}

	delete(chain, 4)
	gappy := NewTree()
	err := gappy.ExtendTo(chain, 7)
	if !errors.Is(err, ErrMissingRecord) || !strings.Contains(err.Error(), "record #4") || gappy.Size() != 4 || gappy.Root() != rootOf(want, 4) {
		t.Fatalf("a chain without record 4: %v, size %d", err, gappy.Size())
	}
}
