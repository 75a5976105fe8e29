package recipients

import (
	"errors"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

const chain = 4242

func key(t *testing.T) *keys.PrivateKey {
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func signed(t *testing.T, chainID uint64, m tx.Msg, by *keys.PrivateKey) []byte {
	t.Helper()
	s, err := tx.Sign(chainID, m, by)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func viewingKey(t *testing.T, k *keys.PrivateKey, expiry uint64) (*e2ee.PrivateKey, []byte) {
	vk, err := e2ee.Derive(k)
	if err != nil {
		t.Fatal(err)
	}
	return vk, signed(t, chain, &tx.ViewingKey{Account: k.Address(), KEM: e2ee.KEMID, PublicKey: vk.Public().Bytes(), Nonce: tx.NewNonce(), Expiry: expiry}, k)
}

func accounts(rs []e2ee.Recipient) []keys.Address {
	var out []keys.Address
	for _, r := range rs {
		out = append(out, r.Account)
	}
	return out
}

// The camera wraps to its owner and live grantees only, as the owner's own
// signatures say; a revoked viewer cannot open anything sealed after the
// revoke; the hub cannot add itself.
func TestRecipientsFollowTheOwnersSignatures(t *testing.T) {
	owner, cam, hub, viewer, stranger := key(t), key(t), key(t), key(t), key(t)
	s := &Set{Camera: cam.Address(), Epoch: 0, Owner: owner.Address(), EVMChainID: chain}
	now := uint64(1_800_000_000)
	exp := now + 120
	ownerVK, ownerReg := viewingKey(t, owner, exp)
	viewerVK, viewerReg := viewingKey(t, viewer, exp)
	_, hubReg := viewingKey(t, hub, exp)

	if err := s.Learn(ownerReg); err != nil {
		t.Fatal(err)
	}
	// The viewer's key before any grant names it: refused, nothing kept.
	if err := s.Learn(viewerReg); !errors.Is(err, ErrUnknownParty) {
		t.Fatalf("a viewing key before its grant: %v", err)
	}
	grant := func(by *keys.PrivateKey, viewer keys.Address, until, from, expiry uint64) []byte {
		return signed(t, chain, &tx.Grant{Camera: cam.Address(), Viewer: viewer, ValidUntil: until, HistoryFrom: from, Nonce: tx.NewNonce(), Expiry: expiry}, by)
	}
	revoke := func(by *keys.PrivateKey, viewer keys.Address, expiry uint64) []byte {
		return signed(t, chain, &tx.Revoke{Camera: cam.Address(), Viewer: viewer, Nonce: tx.NewNonce(), Expiry: expiry}, by)
	}

	// The hub adding its own key: a grant it signs, a key it signs for
	// the owner or the viewer, its own key unnamed by any grant.
	for name, c := range map[string]struct {
		raw  []byte
		want error
	}{
		"hub grants itself":             {grant(hub, hub.Address(), 0, 0, exp), ErrNotOwner},
		"hub grants the viewer":         {grant(hub, viewer.Address(), 0, 0, exp), ErrNotOwner},
		"camera grants the hub":         {grant(cam, hub.Address(), 0, 0, exp), ErrNotOwner},
		"hub's key for the owner":       {signed(t, chain, &tx.ViewingKey{Account: owner.Address(), KEM: e2ee.KEMID, PublicKey: mustPub(t, hub), Nonce: 1, Expiry: exp}, hub), ErrNotAccount},
		"hub's own key":                 {hubReg, ErrUnknownParty},
		"grant on another camera":       {signed(t, chain, &tx.Grant{Camera: stranger.Address(), Viewer: hub.Address(), Nonce: 2, Expiry: exp}, owner), ErrOtherCamera},
		"grant in another epoch":        {signed(t, chain, &tx.Grant{Camera: cam.Address(), Epoch: 1, Viewer: hub.Address(), Nonce: 3, Expiry: exp}, owner), ErrOtherCamera},
		"grant for another ledger":      {signed(t, chain+1, &tx.Grant{Camera: cam.Address(), Viewer: hub.Address(), Nonce: 4, Expiry: exp}, owner), ErrOtherChain},
		"not an access transaction":     {signed(t, chain, &tx.Retention{Camera: cam.Address(), Days: 3, Nonce: 5, Expiry: exp}, owner), ErrNotAccess},
		"bytes that are no transaction": {[]byte{0x85, 0x01}, tx.ErrEncoding},
	} {
		if err := s.Learn(c.raw); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if got := accounts(s.Recipients(now)); len(got) != 1 || got[0] != owner.Address() {
		t.Fatalf("recipients after the hub's attempts: %v", got)
	}

	// The owner grants; the viewer's key is now taken.
	if err := s.Learn(grant(owner, viewer.Address(), 0, 0, exp)); err != nil {
		t.Fatal(err)
	}
	if m := s.Missing(now); len(m) != 1 || m[0] != viewer.Address() {
		t.Fatalf("missing before the viewer's key: %v", m)
	}
	if err := s.Learn(viewerReg); err != nil {
		t.Fatal(err)
	}
	if got := s.Recipients(now); len(got) != 2 || len(s.Missing(now)) != 0 {
		t.Fatalf("recipients %v", accounts(got))
	}

	// Segments under the rotator: before the revoke both read it, after
	// it only the owner.
	r := &e2ee.Rotator{Signer: cam, Epoch: 0, Period: time.Hour}
	at := time.Unix(int64(now), 0)
	seal := func(seq uint64, t0 time.Time) ([]byte, *e2ee.Envelope) {
		ck, env, err := r.Key(t0, s.Recipients(uint64(t0.Unix())))
		if err != nil {
			t.Fatal(err)
		}
		sk, _ := ck.Segment(feedchain.StreamMain, seq)
		b, _ := sk.Seal(0, []byte("segment"))
		return b, env
	}
	seg1, env1 := seal(1, at)
	open := func(vk *e2ee.PrivateKey, env *e2ee.Envelope, seq uint64, sealed []byte) error {
		wire, _ := env.Encode()
		e, err := e2ee.DecodeEnvelope(wire, cam.Address()) // as a viewer gets it, from the hub
		if err != nil {
			return err
		}
		ck, err := vk.Open(e)
		if err != nil {
			return err
		}
		sk, _ := ck.Segment(feedchain.StreamMain, seq)
		_, err = sk.Open(sealed)
		return err
	}
	if open(viewerVK, env1, 1, seg1) != nil || open(ownerVK, env1, 1, seg1) != nil {
		t.Fatal("owner and viewer cannot read the segment before the revoke")
	}
	if err := s.Learn(revoke(owner, viewer.Address(), exp+10)); err != nil {
		t.Fatal(err)
	}
	seg2, env2 := seal(2, at.Add(time.Minute))
	if env2 == nil {
		t.Fatal("the revoke did not rotate the content key")
	}
	if err := open(viewerVK, env2, 2, seg2); !errors.Is(err, e2ee.ErrNotRecipient) {
		t.Fatalf("the revoked viewer and the segment after the revoke: %v", err)
	}
	// Nor with the old period's key.
	if err := open(viewerVK, env1, 2, seg2); !errors.Is(err, e2ee.ErrOpen) {
		t.Fatalf("the revoked viewer with the old content key: %v", err)
	}
	if open(ownerVK, env2, 2, seg2) != nil {
		t.Fatal("the owner cannot read the segment after the revoke")
	}

	// The hub replays the old grant: the revoke the camera saw stands.
	if err := s.Learn(grant(owner, viewer.Address(), 0, 0, exp)); err != nil {
		t.Fatal(err)
	}
	if got := s.Recipients(now + 60); len(got) != 1 {
		t.Fatalf("a replayed grant undid the revoke: %v", accounts(got))
	}
	// A later grant does.
	if err := s.Learn(grant(owner, viewer.Address(), now+3600, 0, exp+20)); err != nil {
		t.Fatal(err)
	}
	if got := s.Recipients(now + 60); len(got) != 2 {
		t.Fatalf("the new grant: %v", accounts(got))
	}
	// It ends when its validUntil passes, by the camera's own clock.
	if got := s.Recipients(now + 3600); len(got) != 1 {
		t.Fatalf("after the grant's end: %v", accounts(got))
	}
	// A grantee whose history starts later gets no key before then.
	if err := s.Learn(grant(owner, viewer.Address(), 0, now+600, exp+30)); err != nil {
		t.Fatal(err)
	}
	if got := s.Recipients(now + 599); len(got) != 1 {
		t.Fatalf("before history-from: %v", accounts(got))
	}
	if got := s.Recipients(now + 600); len(got) != 2 {
		t.Fatalf("from history-from: %v", accounts(got))
	}
}

func mustPub(t *testing.T, k *keys.PrivateKey) []byte {
	vk, err := e2ee.Derive(k)
	if err != nil {
		t.Fatal(err)
	}
	return vk.Public().Bytes()
}
