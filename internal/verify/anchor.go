package verify

import (
	"fmt"

	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
)

// commitment is what the valid checkpoints say of one sequence number.
type commitment struct {
	hash  feedchain.Hash // the record hash the camera committed for it, if known
	known bool
	by    int // the checkpoint (index in cps) that gives hash; -1 if none
	cite  int // the earliest checkpoint that proves the record on hand; -1 if none
}

// set records that checkpoint k commits hash h.
func (c *commitment) set(h feedchain.Hash, k int) { c.hash, c.known, c.by = h, true, k }

// anchors is the commitment of every sequence number with a record on
// hand, indexed by seq.
type anchors []commitment

// anchor works out, for every sequence number it can, the record hash the
// camera committed, which checkpoint says so, and which checkpoint proves
// each record on hand, and sets each valid checkpoint's verdict.
//
// A valid checkpoint's chain head is the committed hash of its last record;
// walking down from it, every record on hand that has the committed hash
// gives, by its prev field, the committed hash of the one before. Where a
// record differs, the walk stops; the committed hash then stands in for it
// in the tree, so that a checkpoint whose root matches proves every other
// record below it, and the replaced record alone is named.
func anchor(recs []record, cps []*ckpt) anchors {
	n := uint64(len(recs))
	// Only sequence numbers with a record on hand matter here; a
	// checkpoint beyond them cannot be checked (and its size, which the
	// camera chose, must not size an allocation).
	a := make(anchors, n)
	for i := range a {
		a[i].by, a[i].cite = -1, -1
	}
	for k, c := range cps { // ascending, so each record is cited by the earliest proof
		if !c.valid || c.msg.LastSeq >= n {
			continue
		}
		i := c.msg.LastSeq
		if a[i].known && a[i].hash != c.msg.ChainHead {
			c.fail("its chain head %s contradicts the history an earlier checkpoint committed", c.msg.ChainHead.Short())
			c.valid = false
			continue
		}
		a[i].set(c.msg.ChainHead, k)
		for recs[i].hash == a[i].hash && a[i].cite < 0 {
			a[i].cite = k
			if i == 0 {
				break
			}
			p := recs[i].r.Prev
			if a[i-1].known && a[i-1].hash != p {
				break
			}
			if !a[i-1].known {
				a[i-1].set(p, k)
			}
			i--
		}
	}

	// The tree over the records on hand, committed hashes standing in
	// for the records that differ.
	tree := checkpoint.NewTree()
	for i := range n {
		if a[i].known {
			tree.Append(a[i].hash)
		} else {
			tree.Append(recs[i].hash)
		}
	}
	filled := uint64(0) // every seq below has its committed hash
	proved := uint64(0) // records below this are all cited already
	for k, c := range cps {
		if !c.valid {
			continue
		}
		m := c.msg
		if m.TreeSize > n {
			c.res.Status = Unchecked
			c.res.Detail = fmt.Sprintf("covers seq %d–%d, but the records here end at seq %s: its tree cannot be rebuilt", m.FirstSeq, m.LastSeq, lastSeq(n))
			continue
		}
		root, err := tree.RootAt(m.TreeSize)
		if err != nil { // unreachable: TreeSize ≤ n
			c.fail("%v", err)
			continue
		}
		if root != m.Root {
			c.fail("its root %s is not the root %s of the tree of the first %d records here: history rewritten",
				m.Root.Short(), root.Short(), m.TreeSize)
			continue
		}
		for ; filled < m.TreeSize; filled++ {
			if !a[filled].known {
				a[filled].set(recs[filled].hash, k)
			}
		}
		for ; proved < m.TreeSize; proved++ {
			if a[proved].cite < 0 && recs[proved].hash == a[proved].hash {
				a[proved].cite = k
			}
		}
	}
	return a
}
