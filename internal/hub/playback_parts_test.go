package hub

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/verify/verifytest"
	"github.com/camchain/camchain/internal/viewchain"
)

// cameraParts signs data as the parts of the record after chain's last,
// cut at the given offsets, as the camera does while it records.
func cameraParts(t *testing.T, chain *verifytest.Chain, data []byte, cuts ...int) []livePart {
	t.Helper()
	last := chain.Records[len(chain.Records)-1]
	var out []livePart
	var prev *feedchain.Part
	bounds := append(append([]int{0}, cuts...), len(data))
	for i := 0; i+1 < len(bounds); i++ {
		b := data[bounds[i]:bounds[i+1]]
		p := &feedchain.Part{Camera: last.Camera, Epoch: last.Epoch, Seq: last.Seq + 1, Prev: last.Hash(), Index: uint32(i),
			Offset: uint64(bounds[i]), Size: uint32(len(b)), Data: feedchain.SegmentHash(b)}
		if prev != nil {
			p.PrevPart = prev.Hash()
		}
		if err := p.Sign(chain.Key); err != nil {
			t.Fatal(err)
		}
		out, prev = append(out, livePart{p, b}), p
	}
	return out
}

// TestPlaybackLiveParts: a live session that asked for parts gets the
// open segment's parts as the link hands them over, before the segment
// closes, then the record as a tail with the bytes after them; the
// viewer's verifier checks each part on arrival and the record seals
// them. A session that did not ask gets the same segments whole, in the
// frames it always had.
func TestPlaybackLiveParts(t *testing.T) {
	a, chain, start := playHub(t, 2, func(now uint64) *tx.Grant { return &tx.Grant{ValidUntil: now + 3600} })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, st, err := ticketPlay(t, ctx, a, a.viewerTok, "parts=1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	plain, pst, err := ticketPlay(t, ctx, a, a.viewerTok, "")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.CloseNow()
	if !st.Parts || pst.Parts {
		t.Fatalf("start messages: parts %v with parts=1, %v without", st.Parts, pst.Parts)
	}
	v := viewchain.NewVerifier(a.h.Address(), a.cam.Address(), viewchain.Nonce{}, feedchain.StreamMain)
	next := wsNext(c)
	// frame reads the next binary frame of the parts session.
	frame := func() viewchain.Frame {
		t.Helper()
		for {
			m, err := next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if m.Frame == nil {
				continue
			}
			f, err := viewchain.DecodeFrame(m.Frame)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	if f := frame(); f.Type != viewchain.FrameSegment {
		t.Fatalf("live starts with frame type %d, want the newest segment", f.Type)
	} else if _, err := v.Segment(f.Link, f.Record, f.Data); err != nil {
		t.Fatal(err)
	}
	sc, _ := a.h.Store().Chain(a.cam.Address(), 0)
	rng := rand.New(rand.NewPCG(1, 2))
	record := func(data []byte) {
		t.Helper()
		if err := chain.Append(data, start.Add(time.Duration(len(chain.Records))*2*time.Second), 2*time.Second, verifytest.Codec); err != nil {
			t.Fatal(err)
		}
		n := len(chain.Records) - 1
		if err := sc.Append(chain.Records[n], chain.Segments[n]); err != nil {
			t.Fatal(err)
		}
		a.h.appends.notify(a.cam.Address())
	}
	for _, tc := range []struct {
		name  string
		cuts  []int
		given int // parts the link hands over before the record
	}{
		{"every part, then the record", []int{1000, 2000}, 3},
		{"two parts of three, then the record", []int{500, 2500}, 2},
	} {
		data := make([]byte, 3000)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		parts := cameraParts(t, chain, data, tc.cuts...)
		var got []byte
		for i := 0; i < tc.given; i++ {
			a.h.parts.Part(a.cam.Address(), parts[i].part, parts[i].data)
			f := frame()
			if f.Type != viewchain.FramePart {
				t.Fatalf("%s: part %d came as frame type %d", tc.name, i, f.Type)
			}
			cp, err := v.Part(f.Link, f.Record, f.Data)
			if err != nil {
				t.Fatalf("%s: part %d: %v", tc.name, i, err)
			}
			if cp.Part.Index != uint32(i) || cp.Part.Seq != uint64(len(chain.Records)) {
				t.Fatalf("%s: got part %d of record %d", tc.name, cp.Part.Index, cp.Part.Seq)
			}
			got = append(got, f.Data...)
		}
		if p, n := v.Open(); p == nil || n != tc.given {
			t.Fatalf("%s: %d parts open before the record", tc.name, n)
		}
		record(data)
		f := frame()
		if f.Type != viewchain.FrameTail {
			t.Fatalf("%s: the record came as frame type %d, want a tail", tc.name, f.Type)
		}
		ck, err := v.Tail(f.Link, f.Record, f.Data)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !bytes.Equal(append(got, f.Data...), data) || ck.Record.Seq != uint64(len(chain.Records)-1) {
			t.Fatalf("%s: parts and tail are not the segment", tc.name)
		}
	}
	// The session without parts saw the same segments, whole.
	pv := viewchain.NewVerifier(a.h.Address(), a.cam.Address(), viewchain.Nonce{}, feedchain.StreamMain)
	var got received
	if err := consume(ctx, wsNext(plain), pv, &got, chain, func(g *received) bool { return len(g.seqs) == 3 }); err != nil {
		t.Fatal(err)
	}
	if !equalSeqs(got.seqs, []uint64{1, 2, 3}) {
		t.Fatalf("the session without parts got records %v", got.seqs)
	}
}
