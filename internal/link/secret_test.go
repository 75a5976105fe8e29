package link

import (
	"crypto/tls"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
)

// copyBackend is a copy of a hub's disk: pins, every chain with its
// chain secret state.
func (b *memBackend) copyOf() *memBackend {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := newBackend()
	c.epoch = b.epoch
	for k, v := range b.pins {
		c.pins[k] = v
	}
	for k, v := range b.chains {
		c.chains[k] = v.CopyOf(v.Len())
	}
	return c
}

func hasAlarm(b *memBackend, prefix string) bool {
	return slices.ContainsFunc(b.alarmList(), func(a string) bool { return strings.HasPrefix(a, prefix) })
}

// The proofs on connect need the chain secret, and it moves on with every
// session: an impostor with the hub's keys, a stale copy of its disk and
// every public record — here it skips the hub's own checks and answers
// with the right head — is refused by the camera, which sends it nothing.
func TestStaleHubCopyWithEveryPublicRecordIsRefusedByTheCamera(t *testing.T) {
	r := newRig(t)
	real := r.serve(r.hubKey, r.hubID, r.backend)
	r.record(3)
	stop := r.run(r.client(r.addr, r.chain, r.alarms))
	waitFor(t, "upload", func() bool { return ackedSeq(r.chain) == 2 })
	stop()
	stale := r.backend.copyOf() // yesterday's backup of the hub's disk
	stop = r.run(r.client(r.addr, r.chain, r.alarms))
	r.record(2)
	waitFor(t, "more upload", func() bool { return ackedSeq(r.chain) == 4 })
	stop()
	real.Close()
	// Every public record: the hub's whole chain as /records serves it.
	rebuilt := stale.chains[memKey{r.camKey.Address(), feedchain.StreamMain}]
	for seq := uint64(3); seq <= 4; seq++ {
		rec := mustRec(t, r.hubChain(), seq)
		seg, _ := r.hubChain().Segment(seq)
		if err := rebuilt.Append(rec, seg); err != nil {
			t.Fatal(err)
		}
	}
	st, err := loadSecret(rebuilt)
	if err != nil {
		t.Fatal(err)
	}
	camGen := mustState(t, r.chain).Gen

	// The impostor: the camera's Hello names generation camGen; the
	// impostor claims it, with the newest secret it has, and the true head.
	l, err := net.Listen("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	received := make(chan byte, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
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
				if h.Gen != camGen {
					t.Errorf("Hello names generation %d, camera is at %d", h.Gen, camGen)
				}
				secret := st.Secret
				if st.Next.Valid {
					secret = st.Next.Secret
				}
				at, _ := rebuilt.HashAt(h.Acked.Seq)
				w, _ := SignWelcome(r.hubKey, exp, secret, at, rebuilt.Head(), nil)
				conn.Write(TypeWelcome, &w)
				for {
					typ, _, err := conn.Read()
					if err != nil {
						return
					}
					received <- typ
				}
			}()
		}
	}()
	before := mustState(t, r.chain)
	r.record(1)
	r.run(r.client(r.addr, r.chain, r.alarms))
	waitFor(t, "the camera to refuse the stale copy", func() bool {
		k := r.alarms.kinds()
		return len(k) > 0 && k[len(k)-1] == "chain-divergence"
	})
	time.Sleep(100 * time.Millisecond)
	for len(received) > 0 {
		if typ := <-received; typ == TypeSegment {
			t.Fatal("the camera sent a segment to the stale copy")
		}
	}
	if ackedSeq(r.chain) != 4 {
		t.Fatalf("acked moved to %d while talking to the stale copy", ackedSeq(r.chain))
	}
	if after := mustState(t, r.chain); after.Gen != before.Gen || !after.Secret.Equal(before.Secret) {
		t.Fatal("the camera moved its chain secret on a session with the stale copy")
	}
}

func mustState(t *testing.T, s SecretStore) SecretState {
	t.Helper()
	st, err := loadSecret(s)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// A live copy of the hub (keys, chains, chain secrets, taken while it
// runs) that reaches the camera first is a perfect copy: the camera cannot
// tell. But the session moves the camera's secret on, so at the next
// contact with the genuine hub the two diverge and both sides raise an
// alarm; the genuine hub's chain is untouched.
func TestLiveHubCopyDivergesAtTheNextContact(t *testing.T) {
	r := newRig(t)
	real := r.serve(r.hubKey, r.hubID, r.backend)
	r.record(3)
	stop := r.run(r.client(r.addr, r.chain, r.alarms))
	waitFor(t, "upload", func() bool { return ackedSeq(r.chain) == 2 })
	stop()
	copied := r.backend.copyOf()
	real.Close()

	imp := r.serve(r.hubKey, r.hubID, copied)
	r.record(1)
	stop = r.run(r.client(r.addr, r.chain, r.alarms))
	waitFor(t, "the copy receives the new record", func() bool {
		c, _ := copied.Chain(r.camKey.Address(), 0, feedchain.StreamMain)
		return c.Head().Valid && c.Head().Seq == 3
	})
	stop()
	imp.Close()

	realHead := r.hubChain().Head()
	r.serve(r.hubKey, r.hubID, r.backend)
	r.run(r.client(r.addr, r.chain, r.alarms))
	waitFor(t, "the genuine hub's divergence alarm", func() bool { return hasAlarm(r.backend, "hub/chain-divergence: ") })
	waitFor(t, "the camera's divergence alarm", func() bool { return slices.Contains(r.alarms.kinds(), "chain-divergence") })
	if r.hubChain().Head() != realHead {
		t.Fatal("the genuine hub accepted records after the divergence")
	}
}

// A camera that crashed after the hub's Welcome but before storing the
// new generation comes back with the old one: the hub still holds it
// (its current generation) and the session proceeds.
func TestCameraCrashBeforeStoringTheNextSecret(t *testing.T) {
	r := newRig(t)
	r.serve(r.hubKey, r.hubID, r.backend)
	r.record(2)
	stop := r.run(r.client(r.addr, r.chain, r.alarms))
	waitFor(t, "upload", func() bool { return ackedSeq(r.chain) == 1 })
	stop()
	before := mustState(t, r.chain)
	c, tc := r.dialRaw(t, r.chain) // a whole handshake; the camera stores nothing
	_ = c
	tc.Close()
	if !mustState(t, r.chain).Secret.Equal(before.Secret) {
		t.Fatal("dialRaw stored a secret")
	}
	r.record(2)
	r.run(r.client(r.addr, r.chain, r.alarms))
	waitFor(t, "upload after the crash", func() bool { return ackedSeq(r.chain) == 3 })
	if k := r.alarms.kinds(); len(k) != 0 {
		t.Fatalf("alarms %v after a crash the protocol must absorb", k)
	}
}
