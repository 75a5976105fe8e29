package link

import (
	"bytes"
	"testing"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// FuzzDecode: every message decoder refuses or round-trips exactly, and a
// Conn reading arbitrary bytes never panics. Seeds: testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	for _, m := range []any{
		&Hello{Version: 2, Acked: WireSeq{Valid: true, Seq: 3}, Last: WireSeq{Valid: true, Seq: 9}, Gen: 4},
		&Welcome{Version: 2, Head: WireHead{Valid: true, Seq: 9, Hash: feedchain.Hash{1}}, Resync: []byte{1}},
		&Segment{Record: []byte{1, 2, 3}, Data: []byte("data")},
		&Ack{Seq: 4},
		&Alarm{Kind: "alarm", Detail: "x", At: 1},
		&Refuse{Code: "fork", Reason: "r"},
		&Access{Txs: [][]byte{{1, 2}, {3}}},
		&KeyEnvelope{Data: []byte{0x86, 1}},
	} {
		b, _ := encMode.Marshal(m)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range []any{&Hello{}, &Welcome{}, &Segment{}, &Ack{}, &Alarm{}, &Refuse{}, &Access{}, &KeyEnvelope{}} {
			if Decode(b, m) == nil {
				again, err := encMode.Marshal(m)
				if err != nil || !bytes.Equal(again, b) {
					t.Fatalf("%T accepted a non-canonical encoding", m)
				}
			}
		}
		c := NewConn(&rwBuf{r: bytes.NewReader(b)})
		for i := 0; i < 4; i++ {
			if _, _, err := c.Read(); err != nil {
				break
			}
		}
	})
}

type rwBuf struct{ r *bytes.Reader }

func (b *rwBuf) Read(p []byte) (int, error)  { return b.r.Read(p) }
func (b *rwBuf) Write(p []byte) (int, error) { return len(p), nil }

// FuzzDecodeSegment: the fast decoder accepts exactly what the generic
// strict decoder accepts, with the same contents.
func FuzzDecodeSegment(f *testing.F) {
	b, _ := encMode.Marshal(&Segment{Record: []byte{1, 2, 3}, Data: bytes.Repeat([]byte{4}, 300)})
	f.Add(b)
	f.Add([]byte{0x82, 0x40, 0x40})
	f.Fuzz(func(t *testing.T, body []byte) {
		r, d, err := DecodeSegment(body)
		var g Segment
		gerr := Decode(body, &g)
		if (err == nil) != (gerr == nil) {
			t.Fatalf("fast %v, generic %v", err, gerr)
		}
		if err == nil && (!bytes.Equal(r, g.Record) || !bytes.Equal(d, g.Data)) {
			t.Fatal("fast and generic decoders disagree")
		}
	})
}

// FuzzParseSecretState: the stored chain secret state is parsed strictly
// (bounded before decoding): what it accepts re-encodes to the same bytes.
// Seeds: testdata/fuzz/FuzzParseSecretState.
func FuzzParseSecretState(f *testing.F) {
	for _, s := range []SecretState{
		{Gen: 0},
		{Gen: 7, Secret: Secret{1, 2, 3}},
		{Gen: 7, Secret: Secret{1}, Next: NextSecret{Valid: true, Gen: 8, Secret: Secret{9}}},
		{Gen: 7, Secret: Secret{1}, Spent: []ResyncMark{{Nonce: 3, Expiry: 4}}},
	} {
		b, _ := s.Marshal()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSecretState(b)
		if err != nil || len(b) == 0 {
			return
		}
		again, err := s.Marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted a state that does not re-encode to itself: %x", b)
		}
		if s.Next.Valid && s.Next.Gen <= s.Gen {
			t.Fatal("accepted a next generation that does not follow")
		}
	})
}

// FuzzParseResync: the signed resync decoder is bounded and strict: what
// it accepts re-encodes to the same bytes. Seeds:
// testdata/fuzz/FuzzParseResync.
func FuzzParseResync(f *testing.F) {
	b, _ := (&SignedResync{Msg: tx.Resync{Camera: keys.Address{1}, Hub: keys.Address{2}, Epoch: 3, Nonce: 4, Expiry: 5}}).Marshal()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResync(b)
		if err != nil {
			return
		}
		again, err := r.Marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted a resync that does not re-encode to itself: %x", b)
		}
	})
}

// FuzzDecodePart: a Part frame body (SPEC §7.3) decodes strictly — what
// the fast decoder accepts the generic one accepts too — and the statement
// inside parses strictly: what ParsePart accepts re-encodes to itself.
// Seeds: testdata/fuzz/FuzzDecodePart (a real part of the parts vectors).
func FuzzDecodePart(f *testing.F) {
	p := feedchain.Part{Seq: 1, Prev: feedchain.Hash{1}, Index: 1, PrevPart: feedchain.Hash{2}, Offset: 700, Size: 4, Data: feedchain.SegmentHash([]byte("part"))}
	b, _ := encMode.Marshal(&Segment{Record: p.Marshal(), Data: []byte("part")})
	f.Add(b)
	f.Fuzz(func(t *testing.T, body []byte) {
		st, data, err := DecodePart(body)
		var g Segment
		if gerr := Decode(body, &g); (err == nil) != (gerr == nil) {
			t.Fatalf("fast %v, generic %v", err, gerr)
		}
		if err != nil {
			return
		}
		p, err := feedchain.ParsePart(st)
		if err != nil {
			return
		}
		if !bytes.Equal(p.Marshal(), st) {
			t.Fatal("accepted a statement that does not re-encode to itself")
		}
		_ = feedchain.VerifyPart(p)
		_ = feedchain.VerifyPartData(p, data)
	})
}
