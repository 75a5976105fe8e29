package link

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// partSink collects the parts the hub accepted.
type partSink struct {
	mu    sync.Mutex
	parts []*feedchain.Part
	data  [][]byte
}

func (s *partSink) Part(_ keys.Address, p *feedchain.Part, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.parts = append(s.parts, p)
	s.data = append(s.data, data)
}

func (s *partSink) got() []*feedchain.Part {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*feedchain.Part(nil), s.parts...)
}

// splitParts signs data as the parts of the record after head, cut every n
// bytes.
func splitParts(t *testing.T, k *keys.PrivateKey, head feedchain.Head, data []byte, n int) []LivePart {
	var out []LivePart
	var prev *feedchain.Part
	for off := 0; off < len(data); off += n {
		b := data[off:min(off+n, len(data))]
		p := &feedchain.Part{Camera: k.Address(), Index: uint32(len(out)), Offset: uint64(off), Size: uint32(len(b)), Data: feedchain.SegmentHash(b)}
		if head.Valid {
			p.Seq, p.Prev = head.Seq+1, head.Hash
		}
		if prev != nil {
			p.PrevPart = prev.Hash()
		}
		if err := p.Sign(k); err != nil {
			t.Fatal(err)
		}
		out, prev = append(out, LivePart{Part: p, Data: b}), p
	}
	return out
}

// TestPartsReachTheHub: a version 4 camera's parts of its open segment
// reach the hub's sink once checked; a part with altered bytes, and the
// rest of its segment's, are dropped while the session and the records go
// on; the record that closes the segment binds the parts' bytes.
func TestPartsReachTheHub(t *testing.T) {
	r := newRig(t)
	s := r.serve(r.hubKey, r.hubID, r.backend)
	sink := &partSink{}
	s.Parts = sink
	r.record(2)
	parts := make(chan LivePart, 16)
	c := r.client(r.addr, r.chain, r.alarms)
	c.Parts = parts
	r.run(c)
	waitFor(t, "2 records acknowledged", func() bool { return ackedSeq(r.chain) == 1 })

	seg := bytes.Repeat([]byte("open segment "), 40)
	for _, lp := range splitParts(t, r.camKey, r.chain.Head(), seg, 100) {
		parts <- lp
	}
	waitFor(t, "6 parts at the hub", func() bool { return len(sink.got()) == 6 })
	var joined []byte
	for i, p := range sink.got() {
		if p.Seq != 2 || p.Index != uint32(i) {
			t.Fatalf("part %d: record %d index %d", i, p.Seq, p.Index)
		}
		joined = append(joined, sink.data[i]...)
	}
	rec, err := r.chain.Add(r.camKey, joined, time.Now(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r.record(0)
	waitFor(t, "the record of the parts acknowledged", func() bool { return ackedSeq(r.chain) == int64(rec.Seq) })
	if !bytes.Equal(joined, seg) {
		t.Fatal("the hub's parts are not the segment")
	}

	// The next segment's part 1 has altered bytes: it and part 2 are
	// dropped; the record still goes through.
	lps := splitParts(t, r.camKey, r.chain.Head(), seg, 200)
	lps[1].Data = append([]byte{lps[1].Data[0] ^ 1}, lps[1].Data[1:]...)
	for _, lp := range lps {
		parts <- lp
	}
	r.chain.Add(r.camKey, seg, time.Now(), 2*time.Second)
	r.record(0)
	waitFor(t, "record 3 acknowledged", func() bool { return ackedSeq(r.chain) == 3 })
	if got := sink.got(); len(got) != 7 || got[6].Seq != 3 || got[6].Index != 0 {
		t.Fatalf("after an altered part the hub passed on %d parts (last %+v), want 7 ending with part 0 of record 3", len(got), got[len(got)-1])
	}

	// Parts of a record the hub does not follow yet (the camera is ahead)
	// are not sent.
	r.chain.AddNext(t, r.camKey) // record 4, not yet notified
	ahead := feedchain.HeadOf(mustRecord(t, r.chain, 4))
	for _, lp := range splitParts(t, r.camKey, ahead, seg, 500) {
		parts <- lp // parts of record 5 while record 4 is unsent
	}
	time.Sleep(100 * time.Millisecond)
	if got := sink.got(); len(got) != 7 {
		t.Fatalf("parts of a record after an unsent one reached the hub (%d parts)", len(got))
	}
}

func mustRecord(t *testing.T, c *memChain, seq uint64) *feedchain.Record {
	r, err := c.Record(seq)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestVersion3CameraIsServed: a camera of the previous release (protocol
// version 3) is answered in version 3 and streams as before.
func TestVersion3CameraIsServed(t *testing.T) {
	r := newRig(t)
	r.serve(r.hubKey, r.hubID, r.backend)
	r.record(3)
	c := r.client(r.addr, r.chain, r.alarms)
	c.version = 3
	r.run(c)
	waitFor(t, "3 records acknowledged", func() bool { return ackedSeq(r.chain) == 2 })
}

// TestFallsBackForAnOlderHub: a hub of an earlier release refuses a
// Hello of a later version with `protocol`; the camera steps down one
// version at each next attempt (5 → 4 → 3) and no further.
func TestFallsBackForAnOlderHub(t *testing.T) {
	r := newRig(t)
	l, err := net.Listen("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	versions := make(chan uint64, 8)
	go func() {
		for {
			raw, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				tc := tlsServer(raw, r.hubID)
				defer tc.Close()
				if tc.Handshake() != nil {
					return
				}
				c := NewConn(tc)
				var h Hello
				if err := c.Expect(TypeHello, &h); err != nil {
					return
				}
				versions <- h.Version
				// What a version 3 hub says to anything else.
				c.Write(TypeRefuse, &Refuse{Code: RefuseProtocol, Reason: fmt.Sprintf("not a version 3 Hello: protocol version %d", h.Version)})
			}()
		}
	}()
	defer l.Close()
	r.run(r.client(r.addr, r.chain, r.alarms))
	for i, want := range []uint64{5, 4, 3, 3} {
		select {
		case v := <-versions:
			if v != want {
				t.Fatalf("attempt %d: Hello version %d, want %d", i, v, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("attempt %d: no Hello", i)
		}
	}
}

func tlsServer(c net.Conn, id *Identity) *tls.Conn { return tls.Server(c, ServerConfig(id)) }
