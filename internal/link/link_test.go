package link

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

func key(t testing.TB) *keys.PrivateKey {
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ident(t testing.TB) *Identity {
	id, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// rig is one camera paired with one hub, over real TLS on loopback.
type rig struct {
	t       *testing.T
	hubKey  *keys.PrivateKey
	hubID   *Identity
	camKey  *keys.PrivateKey
	camID   *Identity
	backend *memBackend
	chain   *memChain
	alarms  *memAlarms
	notify  chan struct{}
	addr    string
}

func newRig(t *testing.T) *rig {
	r := &rig{t: t, hubKey: key(t), hubID: ident(t), camKey: key(t), camID: ident(t),
		backend: newBackend(), alarms: &memAlarms{}, notify: make(chan struct{}, 1)}
	r.chain = &memChain{Camera: r.camKey.Address()}
	r.backend.pins[r.camKey.Address()] = r.camID.Pin
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = l.Addr().String()
	l.Close()
	return r
}

// serve starts a hub server on the rig's address with the given parts.
func (r *rig) serve(key *keys.PrivateKey, id *Identity, b Backend) *Server {
	r.t.Helper()
	var l net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may linger briefly after a Close
		if l, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatal(err)
	}
	s := &Server{Identity: id, Key: key, Backend: b}
	go s.Serve(l)
	r.t.Cleanup(func() { s.Close() })
	return s
}

func (r *rig) client(addr string, chain *memChain, alarms *memAlarms) *Client {
	return &Client{Addr: addr, Identity: r.camID, HubPin: r.hubID.Pin, Hub: r.hubKey.Address(), Key: r.camKey,
		Chain: chain, Alarms: alarms, Notify: r.notify, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
}

func (r *rig) run(c *Client) context.CancelFunc {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	r.t.Cleanup(func() { cancel(); <-done })
	return func() { cancel(); <-done }
}

func (r *rig) record(n int) {
	for i := 0; i < n; i++ {
		r.chain.AddNext(r.t, r.camKey)
	}
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *rig) hubChain() *memChain {
	c, _ := r.backend.Chain(r.camKey.Address(), 0, feedchain.StreamMain)
	return c.(*memChain)
}

func ackedSeq(c *memChain) int64 {
	h := c.Acked()
	if !h.Valid {
		return -1
	}
	return int64(h.Seq)
}

func TestHappyPathAndBackfill(t *testing.T) {
	r := newRig(t)
	r.serve(r.hubKey, r.hubID, r.backend)
	r.record(5)
	r.run(r.client(r.addr, r.chain, r.alarms))
	waitFor(t, "5 records acknowledged", func() bool { return ackedSeq(r.chain) == 4 })
	r.record(20)
	waitFor(t, "25 records acknowledged", func() bool { return ackedSeq(r.chain) == 24 })
	if h, mine := r.hubChain().Head(), r.chain.Head(); h != mine {
		t.Fatalf("hub head %v, camera head %v", h, mine)
	}
	if len(r.alarms.kinds()) != 0 || len(r.backend.alarmList()) != 0 {
		t.Fatalf("alarms on the happy path: %v %v", r.alarms.kinds(), r.backend.alarmList())
	}
}

// A camera's alarm counts as delivered only once the hub has persisted it:
// while the hub cannot, the session ends, the alarm stays queued on the
// camera, and it is delivered when the hub can again (issue 8, finding 3).
func TestAlarmIsDeliveredOnlyOncePersisted(t *testing.T) {
	r := newRig(t)
	r.serve(r.hubKey, r.hubID, r.backend)
	r.record(2)
	r.run(r.client(r.addr, r.chain, r.alarms))
	waitFor(t, "upload", func() bool { return ackedSeq(r.chain) == 1 })
	r.backend.failAlarms(errors.New("disk full"))
	r.alarms.Raise(audit.StorageFull, "card full")
	r.record(3)
	time.Sleep(300 * time.Millisecond)
	if len(r.alarms.Pending()) != 1 {
		t.Fatalf("the alarm left the camera's queue though the hub never persisted it: %d pending", len(r.alarms.Pending()))
	}
	r.backend.failAlarms(nil)
	waitFor(t, "the alarm persisted by the hub", func() bool {
		for _, a := range r.backend.alarmList() {
			if strings.HasPrefix(a, "camera/storage-full: card full") {
				return true
			}
		}
		return false
	})
	waitFor(t, "the camera to count it delivered", func() bool { return len(r.alarms.Pending()) == 0 })
	waitFor(t, "the records after it acknowledged", func() bool { return ackedSeq(r.chain) == 4 })
}

// An impostor holding the genuine hub's TLS key and ledger key, but not
// the chain, is refused; the camera keeps recording and later resumes with
// the real hub, losing nothing.
func TestImpostorHubWithStolenKeysIsRefused(t *testing.T) {
	r := newRig(t)
	real := r.serve(r.hubKey, r.hubID, r.backend)
	r.record(5)
	r.run(r.client(r.addr, r.chain, r.alarms))
	waitFor(t, "initial upload", func() bool { return ackedSeq(r.chain) == 4 })
	real.Close()

	impBackend := newBackend()
	impBackend.pins[r.camKey.Address()] = r.camID.Pin
	imp := r.serve(r.hubKey, r.hubID, impBackend)
	r.record(3) // recording goes on
	waitFor(t, "divergence alarm", func() bool {
		for _, k := range r.alarms.kinds() {
			if k == "chain-divergence" {
				return true
			}
		}
		return false
	})
	if h := impBackend.chains[memKey{r.camKey.Address(), feedchain.StreamMain}]; h != nil && h.Head().Valid {
		t.Fatalf("impostor received records: %v", h.Head())
	}
	if ackedSeq(r.chain) != 4 {
		t.Fatalf("acked moved to %d while talking to the impostor", ackedSeq(r.chain))
	}
	imp.Close()

	r.serve(r.hubKey, r.hubID, r.backend)
	waitFor(t, "backfill to the real hub", func() bool { return ackedSeq(r.chain) == 7 })
	if r.hubChain().Head() != r.chain.Head() {
		t.Fatal("real hub's chain differs after backfill")
	}
	// The alarm reached the real hub too.
	waitFor(t, "alarm forwarded to the hub", func() bool {
		for _, a := range r.backend.alarmList() {
			if strings.HasPrefix(a, "camera/chain-divergence: ") {
				return true
			}
		}
		return false
	})
}

func TestHubWithAnotherTLSKeyIsRefused(t *testing.T) {
	r := newRig(t)
	r.serve(r.hubKey, ident(t), r.backend) // right ledger key, wrong TLS key
	r.record(2)
	r.run(r.client(r.addr, r.chain, r.alarms))
	waitFor(t, "impostor alarm", func() bool {
		k := r.alarms.kinds()
		return len(k) > 0 && k[0] == "impostor-hub"
	})
	if r.hubChain().Head().Valid {
		t.Fatal("records sent to a hub with an unpinned TLS key")
	}
}

func TestHubWithAnotherLedgerKeyIsRefused(t *testing.T) {
	r := newRig(t)
	r.serve(key(t), r.hubID, r.backend) // stolen TLS key, but not the ledger key
	r.record(2)
	r.run(r.client(r.addr, r.chain, r.alarms))
	waitFor(t, "impostor alarm", func() bool {
		k := r.alarms.kinds()
		return len(k) > 0 && k[0] == "impostor-hub"
	})
	if r.hubChain().Head().Valid {
		t.Fatal("records sent to a hub that cannot sign as the paired hub")
	}
}

// A clone (same camera key, its own recordings) is refused while the
// original is live, and detected as a fork when it connects alone.
func TestClonedCameraIsDetected(t *testing.T) {
	r := newRig(t)
	r.serve(r.hubKey, r.hubID, r.backend)
	r.record(4)
	stopOriginal := r.run(r.client(r.addr, r.chain, r.alarms))
	waitFor(t, "original uploads", func() bool { return ackedSeq(r.chain) == 3 })

	clone := &memChain{Camera: r.camKey.Address()}
	for i := 0; i < 6; i++ {
		clone.AddNext(t, r.camKey)
	}
	cloneAlarms := &memAlarms{}
	r.run(r.client(r.addr, clone, cloneAlarms))
	waitFor(t, "busy refusal alarm", func() bool {
		for _, a := range r.backend.alarmList() {
			if strings.HasPrefix(a, "hub/clone-suspected: ") {
				return true
			}
		}
		return false
	})
	stopOriginal()
	n := len(r.backend.alarmList())
	waitFor(t, "divergence reported to the hub", func() bool {
		for _, a := range r.backend.alarmList()[n:] {
			if strings.HasPrefix(a, "hub/clone-suspected: ") {
				return true
			}
		}
		return false
	})
	// The clone raises its alarm when it reads the hub's refusal, which may
	// be just after the hub has reported the fork.
	waitFor(t, "the clone itself to see the divergence", func() bool {
		k := cloneAlarms.kinds()
		return len(k) > 0 && k[len(k)-1] == "chain-divergence"
	})

	// A malicious clone that skips the chain check — a Hello naming no
	// acknowledged record, its newest record ahead — is a fork at the
	// Hello: no Welcome reveals the hub's head (SPEC §7, step 3).
	n = len(r.backend.alarmList())
	if _, _, err := r.tryRaw(t, clone); err == nil {
		t.Fatal("a Hello without an acknowledged record was welcomed by a hub that holds records")
	} else if ref := (*RefusedError)(nil); !errors.As(err, &ref) || ref.Code != RefuseFork {
		t.Fatalf("unproven Hello: %v, want a fork refusal", err)
	}
	if !slices.ContainsFunc(r.backend.alarmList()[n:], func(a string) bool { return strings.HasPrefix(a, "hub/clone-suspected: ") }) {
		t.Fatal("the unproven Hello raised no clone-suspected alarm")
	}

	// A clone made from a copy of the camera's disk (records #0–#1, its
	// acknowledgement and chain secret) that records its own #2 forks the
	// chain: two records with one sequence number.
	copied := r.chain.CopyOf(2)
	copied.AddNext(t, r.camKey)
	copied.AddNext(t, r.camKey)
	copied.AddNext(t, r.camKey)
	c, tc := r.dialRaw(t, copied)
	defer tc.Close()
	forked := mustRec(t, copied, 2)
	seg, _ := copied.Segment(2)
	c.Write(TypeSegment, &Segment{Record: forked.Marshal(), Data: seg})
	var a Ack
	err := c.Expect(TypeAck, &a)
	var ref *RefusedError
	if !errors.As(err, &ref) || ref.Code != RefuseFork {
		t.Fatalf("forked record: %v, want a fork refusal", err)
	}
	waitFor(t, "fork alarm", func() bool {
		for _, a := range r.backend.alarmList() {
			if strings.Contains(a, "fork at record #2") {
				return true
			}
		}
		return false
	})
	if r.hubChain().Head() != feedchain.HeadOf(mustRec(t, r.chain, 3)) {
		t.Fatalf("clone changed the hub's chain: %v", r.hubChain().Head())
	}
}

func mustRec(t *testing.T, c *memChain, seq uint64) *feedchain.Record {
	rec, err := c.Record(seq)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// dialRaw performs the camera's handshake by hand, for attacks; it stores
// nothing on the camera's side.
func (r *rig) dialRaw(t *testing.T, chain *memChain) (*Conn, *tls.Conn) {
	t.Helper()
	// A session the test just stopped may not have ended on the hub's
	// side yet (a loaded machine): the hub then refuses the new one as
	// busy, before any chain check, and it is tried again.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, tc, err := r.tryRaw(t, chain)
		var ref *RefusedError
		if errors.As(err, &ref) && ref.Code == RefuseBusy && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return c, tc
	}
}

func (r *rig) tryRaw(t *testing.T, chain *memChain) (*Conn, *tls.Conn, error) {
	t.Helper()
	tc, err := tls.Dial("tcp", r.addr, ClientConfig(r.camID, r.hubID.Pin))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.Close() })
	exp, _ := Exporter(tc.ConnectionState())
	st, err := loadSecret(chain)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := SignHello(r.camKey, exp, 0, feedchain.StreamMain, st.Gen, st.Secret, chain, chain.Acked())
	c := NewConn(tc)
	if err := c.Write(TypeHello, &h); err != nil {
		t.Fatal(err)
	}
	var w Welcome
	if err := c.Expect(TypeWelcome, &w); err != nil {
		return nil, nil, err
	}
	return c, tc, nil
}

func TestReplayedRecordIsRefused(t *testing.T) {
	r := newRig(t)
	r.serve(r.hubKey, r.hubID, r.backend)
	r.record(3)
	stop := r.run(r.client(r.addr, r.chain, r.alarms))
	waitFor(t, "upload", func() bool { return ackedSeq(r.chain) == 2 })
	stop()

	c, tc := r.dialRaw(t, r.chain)
	defer tc.Close()
	old := mustRec(t, r.chain, 1)
	seg, _ := r.chain.Segment(1)
	if err := c.Write(TypeSegment, &Segment{Record: old.Marshal(), Data: seg}); err != nil {
		t.Fatal(err)
	}
	var a Ack
	err := c.Expect(TypeAck, &a)
	var ref *RefusedError
	if !errors.As(err, &ref) || ref.Code != RefuseReplay {
		t.Fatalf("replayed record: %v, want a replay refusal", err)
	}
	if r.hubChain().Head().Seq != 2 {
		t.Fatal("replay changed the hub's chain")
	}
}

// flipProxy forwards TCP, flipping one byte of the camera→hub stream at
// offset flipAt (if armed).
type flipProxy struct {
	ln     net.Listener
	target string
	flipAt int64
	armed  atomic.Bool
	flips  atomic.Int32
}

func newFlipProxy(t *testing.T, target string, flipAt int64) *flipProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &flipProxy{ln: l, target: target, flipAt: flipAt}
	p.armed.Store(true)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.handle(c)
		}
	}()
	t.Cleanup(func() { l.Close() })
	return p
}

func (p *flipProxy) handle(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // camera → hub, with the flip
		defer wg.Done()
		var off int64
		buf := make([]byte, 32<<10)
		flip := p.armed.Load()
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if flip && off <= p.flipAt && p.flipAt < off+int64(n) {
					buf[p.flipAt-off] ^= 0x01
					p.flips.Add(1)
				}
				off += int64(n)
				if _, werr := up.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		up.Close()
	}()
	go func() {
		defer wg.Done()
		io.Copy(c, up)
		c.Close()
	}()
	wg.Wait()
}

func TestManInTheMiddleFlippingOneByte(t *testing.T) {
	r := newRig(t)
	r.serve(r.hubKey, r.hubID, r.backend)
	r.record(10) // segments are tiny here; the flip lands in the segment stream
	p := newFlipProxy(t, r.addr, 3000)
	r.run(r.client(p.ln.Addr().String(), r.chain, r.alarms))
	waitFor(t, "the flip", func() bool { return p.flips.Load() > 0 })
	time.Sleep(200 * time.Millisecond)
	// Whatever the hub stored is intact.
	hc := r.hubChain()
	if h := hc.Head(); h.Valid {
		for s := uint64(0); s <= h.Seq; s++ {
			rec := mustRec(t, hc, s)
			seg, _ := hc.Segment(s)
			if err := feedchain.Verify(rec); err != nil {
				t.Fatal(err)
			}
			if err := feedchain.VerifySegment(rec, seg); err != nil {
				t.Fatal(err)
			}
		}
	}
	if ackedSeq(r.chain) == 9 {
		t.Fatal("every record acknowledged although a byte was flipped on every connection")
	}
	p.armed.Store(false)
	waitFor(t, "full upload after the MITM stops", func() bool { return ackedSeq(r.chain) == 9 })
	if hc.Head() != r.chain.Head() {
		t.Fatal("chains differ after recovery")
	}
}

// A hub that acknowledges with a head other than the camera's is treated
// as diverged: the camera disconnects and raises an alarm.
func TestWrongAckHeadIsDivergence(t *testing.T) {
	r := newRig(t)
	l, err := net.Listen("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		tc := tls.Server(c, ServerConfig(r.hubID))
		defer tc.Close()
		if tc.Handshake() != nil {
			return
		}
		exp, _ := Exporter(tc.ConnectionState())
		conn := NewConn(tc)
		var h Hello
		if conn.Expect(TypeHello, &h) != nil {
			return
		}
		w, _ := SignWelcome(r.hubKey, exp, Secret{}, feedchain.Hash{}, feedchain.Head{}, nil)
		conn.Write(TypeWelcome, &w)
		var s Segment
		if conn.Expect(TypeSegment, &s) != nil {
			return
		}
		rec, _ := feedchain.Parse(s.Record)
		bad := feedchain.Hash{0xba, 0xd}
		a, _ := feedchain.SignAck(r.hubKey, rec.Camera, rec.Epoch, rec.Seq, bad)
		conn.Write(TypeAck, &Ack{Seq: a.Seq, Head: a.Head, Sig: a.Sig})
		io.Copy(io.Discard, tc)
	}()
	r.record(1)
	r.run(r.client(r.addr, r.chain, r.alarms))
	waitFor(t, "divergence alarm", func() bool {
		k := r.alarms.kinds()
		return len(k) > 0 && k[0] == "chain-divergence"
	})
	if r.chain.Acked().Valid {
		t.Fatal("a wrong acknowledgement was accepted")
	}
}

func TestUnpairedCameraIsRefused(t *testing.T) {
	r := newRig(t)
	delete(r.backend.pins, r.camKey.Address())
	r.serve(r.hubKey, r.hubID, r.backend)
	r.record(1)
	var last atomic.Value
	c := r.client(r.addr, r.chain, r.alarms)
	c.OnState = func(s State, err error) {
		if err != nil {
			last.Store(err.Error())
		}
	}
	r.run(c)
	waitFor(t, "refusal", func() bool {
		s, _ := last.Load().(string)
		return strings.Contains(s, "not-paired")
	})
}

// Each stream of a camera is its own chain on its own session: the main
// and the sub stream's sessions are live at once (neither is "busy"), each
// chain is acknowledged and backfilled on its own, and the hub keeps them
// apart.
func TestStreamsAreSeparateChainsWithTheirOwnSessions(t *testing.T) {
	r := newRig(t)
	r.serve(r.hubKey, r.hubID, r.backend)
	sub := &memChain{Camera: r.camKey.Address(), Stream: feedchain.StreamSub}
	r.record(3)
	for range 5 {
		sub.AddNext(t, r.camKey)
	}
	r.run(r.client(r.addr, r.chain, r.alarms))
	sc := r.client(r.addr, sub, r.alarms)
	sc.Stream, sc.Alarms = feedchain.StreamSub, NoDelivery(r.alarms)
	stopSub := r.run(sc)
	waitFor(t, "both chains acknowledged", func() bool { return ackedSeq(r.chain) == 2 && ackedSeq(sub) == 4 })
	hubSub, _ := r.backend.Chain(r.camKey.Address(), 0, feedchain.StreamSub)
	if h := hubSub.Head(); h != sub.Head() {
		t.Fatalf("hub's sub chain head %v, camera's %v", h, sub.Head())
	}
	if h := r.hubChain().Head(); h != r.chain.Head() {
		t.Fatalf("hub's main chain head %v, camera's %v", h, r.chain.Head())
	}
	// The sub stream's session goes away; its records wait on the camera
	// and are backfilled when it is back, while main goes on.
	stopSub()
	for range 4 {
		sub.AddNext(t, r.camKey)
	}
	r.record(2)
	waitFor(t, "main acknowledged alone", func() bool { return ackedSeq(r.chain) == 4 })
	if ackedSeq(sub) != 4 {
		t.Fatalf("sub acknowledged to %d with no session", ackedSeq(sub))
	}
	sc2 := r.client(r.addr, sub, r.alarms)
	sc2.Stream, sc2.Alarms = feedchain.StreamSub, NoDelivery(r.alarms)
	r.run(sc2)
	waitFor(t, "sub backfilled", func() bool { return ackedSeq(sub) == 8 })
	if len(r.alarms.kinds()) != 0 || len(r.backend.alarmList()) != 0 {
		t.Fatalf("alarms: %v %v", r.alarms.kinds(), r.backend.alarmList())
	}
}

// A record of one stream is refused on another stream's session, as an
// attacker holding the camera's key but replaying its sub records into
// the main chain would try: the hub's main chain takes none of them.
func TestARecordOfAnotherStreamIsRefused(t *testing.T) {
	r := newRig(t)
	r.serve(r.hubKey, r.hubID, r.backend)
	// The camera's "main" chain here is made of sub-stream records.
	r.chain = &memChain{Camera: r.camKey.Address(), Stream: feedchain.StreamSub}
	r.record(2)
	c := r.client(r.addr, r.chain, r.alarms) // Stream: main
	var mu sync.Mutex
	var refused []string
	c.OnState = func(_ State, err error) {
		var ref *RefusedError
		if errors.As(err, &ref) {
			mu.Lock()
			refused = append(refused, string(ref.Code)+": "+ref.Reason)
			mu.Unlock()
		}
	}
	r.run(c)
	waitFor(t, "a refusal", func() bool { mu.Lock(); defer mu.Unlock(); return len(refused) > 0 })
	mu.Lock()
	got := refused[0]
	mu.Unlock()
	if !strings.HasPrefix(got, string(RefuseBadRecord)+": ") || !strings.Contains(got, "stream is sub, expected main") {
		t.Fatalf("refusal %q, want bad-record naming the stream", got)
	}
	if h := r.hubChain().Head(); h.Valid {
		t.Fatalf("the hub's main chain took a sub-stream record: head %v", h)
	}
	if ackedSeq(r.chain) != -1 {
		t.Fatalf("camera saw an acknowledgement: %d", ackedSeq(r.chain))
	}
}
