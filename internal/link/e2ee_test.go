package link

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

type memAccess struct {
	mu  sync.Mutex
	txs [][]byte
}

func (m *memAccess) set(txs ...[]byte) { m.mu.Lock(); m.txs = txs; m.mu.Unlock() }
func (m *memAccess) Access(keys.Address, uint64) ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.txs, nil
}

type memEnvelopes struct {
	mu   sync.Mutex
	envs map[uint64][]byte
	// order records, for each envelope stored, how many records the
	// hub's chain held then.
	order map[uint64]int
	chain func() int
}

func (m *memEnvelopes) PutEnvelope(_ keys.Address, _ uint64, serial uint64, raw []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.envs[serial]; ok && !bytes.Equal(old, raw) {
		return errors.New("another envelope for this serial")
	}
	m.envs[serial] = bytes.Clone(raw)
	if _, ok := m.order[serial]; !ok {
		m.order[serial] = m.chain()
	}
	return nil
}

func (m *memEnvelopes) get(serial uint64) ([]byte, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.envs[serial], m.order[serial]
}

type camE2EE struct {
	mu      sync.Mutex
	learnt  [][][]byte
	envs    map[uint64][]byte
	fetched int
}

func (c *camE2EE) Learn(txs [][]byte) { c.mu.Lock(); c.learnt = append(c.learnt, txs); c.mu.Unlock() }
func (c *camE2EE) Envelope(_ uint64, serial uint64) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fetched++
	if b, ok := c.envs[serial]; ok {
		return b, nil
	}
	return nil, errors.New("none")
}
func (c *camE2EE) learns() [][][]byte { c.mu.Lock(); defer c.mu.Unlock(); return c.learnt }

// With version 5 the hub forwards its Access set at the start of a session
// and again when it changes, and stores a content key's envelope, checked
// as the camera's, before the first segment sealed under it: a viewer who
// finds the segment finds its key's envelope.
func TestAccessAndEnvelopes(t *testing.T) {
	r := newRig(t)
	acc := &memAccess{}
	acc.set([]byte("tx one"))
	envs := &memEnvelopes{envs: map[uint64][]byte{}, order: map[uint64]int{}}
	s := r.serve(r.hubKey, r.hubID, r.backend)
	s.Access, s.Envelopes = acc, envs
	envs.chain = func() int { return r.hubChain().Len() }

	viewer, _ := keys.Generate()
	vk, err := e2ee.Derive(viewer)
	if err != nil {
		t.Fatal(err)
	}
	ck, _ := e2ee.NewContentKey(r.camKey.Address(), 0, 1)
	env, err := ck.Wrap([]e2ee.Recipient{{Account: viewer.Address(), Key: vk.Public()}}, r.camKey)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := env.Encode()
	cam := &camE2EE{envs: map[uint64][]byte{1: raw}}
	c := r.client(r.addr, r.chain, r.alarms)
	c.E2EE = cam
	// Record 0 in the clear, record 1 sealed under content key 1.
	r.record(1)
	sk, _ := ck.Segment(feedchain.StreamMain, 1)
	sealed, _ := sk.Seal(0, []byte("the frames of record 1"))
	if _, err := r.chain.Add(r.camKey, sealed, time.Now(), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	r.run(c)
	waitFor(t, "2 records acknowledged", func() bool { return ackedSeq(r.chain) == 1 })
	got, before := envs.get(1)
	if !bytes.Equal(got, raw) {
		t.Fatal("the hub did not store the envelope of the sealed segment's key")
	}
	if before != 1 {
		t.Fatalf("the envelope was stored with %d records on the hub, want 1 (before the sealed record 1)", before)
	}
	waitFor(t, "the first access set", func() bool { return len(cam.learns()) >= 1 })
	if l := cam.learns(); string(l[0][0]) != "tx one" {
		t.Fatalf("learnt %q", l[0])
	}
	acc.set([]byte("tx one"), []byte("tx two"))
	waitFor(t, "the changed access set", func() bool {
		l := cam.learns()
		return len(l) >= 2 && len(l[len(l)-1]) == 2
	})
	if n := len(cam.learns()); n != 2 {
		t.Fatalf("%d access frames for two sets, want 2 (an unchanged set is not sent again)", n)
	}
	time.Sleep(AccessPoll + 500*time.Millisecond)
	if n := len(cam.learns()); n != 2 {
		t.Fatalf("%d access frames after an unchanged poll", n)
	}
}

// An envelope the camera did not sign is refused and closes the session;
// nothing is stored.
func TestEnvelopeOfAnotherSignerRefused(t *testing.T) {
	r := newRig(t)
	envs := &memEnvelopes{envs: map[uint64][]byte{}, order: map[uint64]int{}, chain: func() int { return 0 }}
	s := r.serve(r.hubKey, r.hubID, r.backend)
	s.Envelopes = envs
	viewer, _ := keys.Generate()
	vk, _ := e2ee.Derive(viewer)
	// Signed by the hub's key, in the camera's name: DecodeEnvelope refuses.
	other, _ := e2ee.NewContentKey(r.hubKey.Address(), 0, 1)
	env, err := other.Wrap([]e2ee.Recipient{{Account: viewer.Address(), Key: vk.Public()}}, r.hubKey)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := env.Encode()
	c, _ := r.dialRaw(t, r.chain)
	if err := c.Write(TypeEnvelope, &KeyEnvelope{Data: raw}); err != nil {
		t.Fatal(err)
	}
	for {
		typ, body, err := c.Read()
		if err != nil {
			t.Fatalf("session ended without a refusal: %v", err)
		}
		if typ == TypeRefuse {
			var rf Refuse
			Decode(body, &rf)
			if rf.Code != RefuseProtocol {
				t.Fatalf("refused %s: %s", rf.Code, rf.Reason)
			}
			break
		}
	}
	if got, _ := envs.get(1); got != nil {
		t.Fatal("an envelope not signed by the camera was stored")
	}
}
