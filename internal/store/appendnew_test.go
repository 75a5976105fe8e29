package store

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/camchain/camchain/internal/feedchain"
)

// TestAppendNew: the store hashes the segment and hands the hash and its
// head to the signer, and stores the record that comes back under every
// check Append makes — a record for other bytes, of another size, off the
// head or unsigned is refused and nothing is stored; a signer's error
// comes back as it is, nothing stored; what is stored reads back and
// verifies exactly like Append's.
func TestAppendNew(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	cam := newCamera(t, 1)
	c := mustChain(t, s, cam)

	sign := func(edit func(r *feedchain.Record)) func(feedchain.Hash, feedchain.Head) (*feedchain.Record, error) {
		return func(seg feedchain.Hash, head feedchain.Head) (*feedchain.Record, error) {
			if head != c.Head() {
				t.Errorf("signer given head %v, the chain's is %v", head, c.Head())
			}
			if head != cam.head {
				t.Errorf("signer given head %v, the camera's is %v", head, cam.head)
			}
			r := cam.unsigned(nil)
			r.Segment, r.Size = seg, 0 // size set by the caller's edit or below
			edit(r)
			if err := r.Sign(cam.k); err != nil {
				return nil, err
			}
			return r, nil
		}
	}
	var segs [][]byte
	for i := range 3 {
		data := segment(uint64(i), 3000+i)
		r, err := c.AppendNew(data, sign(func(r *feedchain.Record) { r.Size = uint64(len(data)) }))
		if err != nil {
			t.Fatalf("AppendNew %d: %v", i, err)
		}
		if r.Seq != uint64(i) || r.Segment != feedchain.SegmentHash(data) {
			t.Fatalf("AppendNew %d returned record #%d for segment %x, want #%d for %x", i, r.Seq, r.Segment, i, feedchain.SegmentHash(data))
		}
		cam.head = feedchain.HeadOf(r)
		segs = append(segs, data)
	}

	data := segment(3, 4000)
	other := segment(4, 4000)
	refused := []struct {
		name, want string
		edit       func(r *feedchain.Record)
	}{
		{"another segment's hash", "sha256", func(r *feedchain.Record) { r.Segment, r.Size = feedchain.SegmentHash(other), uint64(len(data)) }},
		{"another size", "size", func(r *feedchain.Record) { r.Size = uint64(len(data) + 1) }},
		{"off the head", "seq", func(r *feedchain.Record) { r.Seq, r.Size = r.Seq+1, uint64(len(data)) }},
		{"another chain's prev", "prev", func(r *feedchain.Record) { r.Prev[0] ^= 1; r.Size = uint64(len(data)) }},
	}
	for _, tc := range refused {
		if _, err := c.AppendNew(data, sign(tc.edit)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: AppendNew = %v, want a refusal naming %q", tc.name, err, tc.want)
		}
	}
	unsigned := func(seg feedchain.Hash, head feedchain.Head) (*feedchain.Record, error) {
		r := cam.unsigned(data)
		return r, nil
	}
	if _, err := c.AppendNew(data, unsigned); err == nil {
		t.Error("an unsigned record was stored")
	}
	boom := errors.New("the signer is down")
	if _, err := c.AppendNew(data, func(feedchain.Hash, feedchain.Head) (*feedchain.Record, error) { return nil, boom }); err != boom {
		t.Errorf("a signer's error came back as %v", err)
	}
	if h := c.Head(); h != cam.head {
		t.Fatalf("a refused AppendNew moved the head to %v (want %v)", h, cam.head)
	}

	// Stored like Append's.
	verifyChain(t, c)
	for i, want := range segs {
		if got, err := c.Segment(uint64(i)); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("segment %d: %v", i, err)
		}
	}
	r := cam.next(t, data)
	if err := c.Append(r, data); err != nil {
		t.Fatalf("Append after AppendNew: %v", err)
	}
}
