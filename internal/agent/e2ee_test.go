package agent

import (
	"bytes"
	"log/slog"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

func signedTx(t *testing.T, chain uint64, m tx.Msg, k *keys.PrivateKey) []byte {
	t.Helper()
	return signedInChain(t, tx.DomainV1, chain, m, k)
}

// signedInChain is m signed by k in domain dom on chain, as wire bytes.
func signedInChain(t *testing.T, dom tx.Domain, chain uint64, m tx.Msg, k *keys.PrivateKey) []byte {
	t.Helper()
	s, err := tx.SignIn(dom, chain, m, k)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func viewingKeyTx(t *testing.T, chain uint64, k *keys.PrivateKey, expiry uint64) []byte {
	t.Helper()
	vk, err := e2ee.Derive(k)
	if err != nil {
		t.Fatal(err)
	}
	return signedTx(t, chain, &tx.ViewingKey{Account: k.Address(), KEM: e2ee.KEMID, PublicKey: vk.Public().Bytes(), Nonce: tx.NewNonce(), Expiry: expiry}, k)
}

// envelopeOn reads the envelope of the key sealing a new segment.
func envelopeOn(t *testing.T, c *camE2EE, cam keys.Address, seq uint64) *e2ee.Envelope {
	t.Helper()
	sk, err := c.segmentKey(feedchain.StreamMain, seq)
	if err != nil || sk == nil {
		t.Fatalf("no segment key: %v", err)
	}
	raw, err := c.Envelope(0, sk.Serial)
	if err != nil {
		t.Fatal(err)
	}
	e, err := e2ee.DecodeEnvelope(raw, cam)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// The camera's recipients come from owner-signed transactions only: a
// Grant the hub or a stranger signs, with that party's own viewing key,
// adds nobody; a policy the hub signs turns nothing on. A revoke the
// camera saw stays seen across a restart, even against the grant replayed
// after it; a change of recipients draws a new content key at once, and a
// segment number given a key twice gets a new content key.
func TestCameraBelievesOnlyTheOwner(t *testing.T) {
	const chain = 77
	cam, owner, hub, stranger, viewer := mustKeyT(t), mustKeyT(t), mustKeyT(t), mustKeyT(t), mustKeyT(t)
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	c, err := openE2EE(dir, cam, 0, owner.Address(), chain, log)
	if err != nil {
		t.Fatal(err)
	}
	exp := uint64(time.Now().Add(time.Minute).Unix())
	policy := func(by *keys.PrivateKey, on uint64, expiry uint64) []byte {
		return signedTx(t, chain, &tx.Encryption{Camera: cam.Address(), Epoch: 0, On: on, Nonce: tx.NewNonce(), Expiry: expiry}, by)
	}
	grant := func(by, to *keys.PrivateKey, expiry uint64) []byte {
		return signedTx(t, chain, &tx.Grant{Camera: cam.Address(), Epoch: 0, Viewer: to.Address(), Nonce: tx.NewNonce(), Expiry: expiry}, by)
	}
	// The hub turns it on: nothing happens.
	c.Learn([][]byte{policy(hub, 1, exp), viewingKeyTx(t, chain, owner, exp)})
	if s := c.state(); s != e2eeOff {
		t.Fatalf("a hub-signed policy: e2ee %q", s)
	}
	if sk, _ := c.segmentKey(feedchain.StreamMain, 0); sk != nil {
		t.Fatal("a segment key with the policy off")
	}
	c.Learn([][]byte{policy(owner, 1, exp)})
	if s := c.state(); s != e2eeOn {
		t.Fatalf("the owner's policy: e2ee %q", s)
	}
	// Grants by the hub and by a stranger, with their own viewing keys.
	c.Learn([][]byte{grant(hub, hub, exp), viewingKeyTx(t, chain, hub, exp), grant(stranger, stranger, exp), viewingKeyTx(t, chain, stranger, exp),
		grant(hub, viewer, exp), viewingKeyTx(t, chain, viewer, exp)})
	e := envelopeOn(t, c, cam.Address(), 0)
	if a := e.Accounts(); len(a) != 1 || a[0] != owner.Address() {
		t.Fatalf("envelope after forged grants lists %v, want the owner only", a)
	}
	// The owner's grant: the next segment is under a new key listing the viewer.
	granted := grant(owner, viewer, exp)
	c.Learn([][]byte{granted, viewingKeyTx(t, chain, viewer, exp)})
	e2 := envelopeOn(t, c, cam.Address(), 1)
	if e2.Serial == e.Serial || len(e2.Accounts()) != 2 {
		t.Fatalf("envelope after the owner's grant: serial %d (before %d), %v", e2.Serial, e.Serial, e2.Accounts())
	}
	// The same segment number again (its segment was dropped): a new key.
	if e3 := envelopeOn(t, c, cam.Address(), 1); e3.Serial == e2.Serial {
		t.Fatal("a segment number given a key twice got the same content key")
	}
	// A revoke, then a restart, then the grant replayed: revoked.
	c.Learn([][]byte{signedTx(t, chain, &tx.Revoke{Camera: cam.Address(), Epoch: 0, Viewer: viewer.Address(), Nonce: tx.NewNonce(), Expiry: exp + 1}, owner)})
	last := c.rot.Serial()
	c2, err := openE2EE(dir, cam, 0, owner.Address(), chain, log)
	if err != nil {
		t.Fatal(err)
	}
	c2.Learn([][]byte{granted})
	e4 := envelopeOn(t, c2, cam.Address(), 2)
	if a := e4.Accounts(); len(a) != 1 || a[0] != owner.Address() || e4.Serial != last+1 {
		t.Fatalf("after the revoke, a restart and the grant replayed: serial %d (last %d), %v", e4.Serial, last, a)
	}
	// The owner turns it off, and a replayed older "on" does not undo it.
	on := policy(owner, 1, exp)
	c2.Learn([][]byte{policy(owner, 0, exp+10)})
	c2.Learn([][]byte{on})
	if s := c2.state(); s != e2eeOff {
		t.Fatalf("after off and an older on replayed: e2ee %q", s)
	}
}

func mustKeyT(t *testing.T) *keys.PrivateKey {
	t.Helper()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A segment whose parts went out sealed is those parts followed by the
// rest, so the record seals the parts; it opens whole. A segment whose
// plaintext the parts do not begin is sealed whole, under an index no part
// used.
func TestSealSegmentKeepsItsParts(t *testing.T) {
	cam := mustKeyT(t)
	ck, _ := e2ee.NewContentKey(cam.Address(), 0, 1)
	k, _ := ck.Segment(feedchain.StreamMain, 4)
	plain := bytes.Repeat([]byte("frame "), 500)
	sp := &sealedParts{seq: 4, key: k}
	for i, p := range [][]byte{plain[:1000], plain[1000:1500]} {
		s, err := k.Seal(uint32(i+1), p)
		if err != nil {
			t.Fatal(err)
		}
		sp.plain, sp.sealed, sp.n = append(sp.plain, p...), append(sp.sealed, s...), sp.n+1
	}
	sealed, err := sealSegment(k, sp, plain)
	if err != nil || !bytes.HasPrefix(sealed, sp.sealed) {
		t.Fatalf("the sealed segment does not begin with its sealed parts: %v", err)
	}
	if got, err := k.OpenSegment(sealed); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open: %v", err)
	}
	other := bytes.Repeat([]byte("other "), 500)
	whole, err := sealSegment(k, sp, other)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := e2ee.ParseSealedHeader(whole); h.Index != 0 {
		t.Fatalf("a segment its parts do not begin sealed from index %d, want 0 (whole)", h.Index)
	}
	if got, err := k.OpenSegment(whole); err != nil || !bytes.Equal(got, other) {
		t.Fatalf("open whole: %v", err)
	}
}
