package ledger

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// A viewing key is registered by its account alone, once the account owns
// a camera or holds a grant in force; the same key again is a conflict, a
// different one replaces it; each registration is a viewing-key event;
// what is refused changes nothing, at CheckTx as in a block.
func TestViewingKey(t *testing.T) {
	h := newHarness(t)
	owner, viewer, stranger := h.key(), h.key(), h.key()
	reg := func(account keys.Address, pub []byte, by *keys.PrivateKey) []byte {
		return h.sign(&tx.ViewingKey{Account: account, KEM: e2ee.KEMID, PublicKey: pub, Nonce: tx.NewNonce(), Expiry: h.expiry()}, by)
	}
	vk := func(k *keys.PrivateKey) []byte {
		v, err := e2ee.Derive(k)
		if err != nil {
			t.Fatal(err)
		}
		return v.Public().Bytes()
	}
	ownerKey, viewerKey, strangerKey := vk(owner), vk(viewer), vk(stranger)

	// Before it owns anything, not even the owner registers.
	if r := h.check(reg(owner.Address(), ownerKey, owner)); r.Code != CodeUnauthorized {
		t.Fatalf("CheckTx before the imprint: %s (%s)", CodeName(r.Code), r.Log)
	}
	cam := h.imprint(owner)
	h.want(CodeUnauthorized, reg(owner.Address(), strangerKey, stranger)) // a key for someone else
	h.want(CodeUnauthorized, reg(owner.Address(), ownerKey, h.hubs[0]))   // the hub cannot register the owner's
	h.want(CodeUnauthorized, reg(stranger.Address(), strangerKey, stranger))
	h.want(CodeUnauthorized, reg(viewer.Address(), viewerKey, viewer)) // not granted yet
	if r, _ := h.app.ViewingKey(owner.Address()); r != nil {
		t.Fatalf("a refusal registered %+v", r)
	}
	h.want(CodeOK, reg(owner.Address(), ownerKey, owner))
	h.want(CodeConflict, reg(owner.Address(), ownerKey, owner))

	// A grantee registers once granted; after the revoke it may not.
	grant := func(until uint64) []byte {
		return h.sign(&tx.Grant{Camera: cam.Address(), Viewer: viewer.Address(), ValidUntil: until, Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner)
	}
	h.want(CodeOK, grant(0))
	h.want(CodeOK, h.sign(&tx.Revoke{Camera: cam.Address(), Viewer: viewer.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner))
	h.want(CodeUnauthorized, reg(viewer.Address(), viewerKey, viewer))
	h.want(CodeOK, grant(uint64(h.now.Add(time.Hour).Unix())))
	h.want(CodeOK, reg(viewer.Address(), viewerKey, viewer))

	// Another key replaces the owner's (a new derivation, say).
	h.want(CodeOK, reg(owner.Address(), strangerKey, owner))
	h.open() // the node restarts: keys are state
	r, err := h.app.ViewingKey(owner.Address())
	if err != nil || r == nil || !bytes.Equal(r.PublicKey, strangerKey) || r.KEM != e2ee.KEMID || r.TxHash.IsZero() || r.Height == 0 {
		t.Fatalf("owner's record %+v, %v", r, err)
	}
	if r, _ := h.app.ViewingKey(viewer.Address()); r == nil || !bytes.Equal(r.PublicKey, viewerKey) {
		t.Fatalf("viewer's record %+v", r)
	}
	evs, err := h.app.Events(EventFilter{Principal: owner.Address(), Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		if e.Kind == audit.ViewingKey {
			got = append(got, e.Detail)
		}
	}
	if len(got) != 2 || !strings.Contains(got[0], "replaces") || strings.Contains(got[1], "replaces") {
		t.Fatalf("owner's viewing-key events (newest first) %q", got)
	}
	// No hub can file one.
	h.want(CodeEncoding, h.sign(&tx.Audit{Hub: h.hubs[0].Address(), Kind: audit.ViewingKey,
		Detail: "viewing key", At: uint64(h.now.Unix()), Nonce: tx.NewNonce(), Expiry: h.expiry()}, h.hubs[0]))
}

// The decoder refuses a ViewingKey whose key is not X-Wing's: another KEM,
// a short key, a malformed ML-KEM half. No rule ever sees one.
func TestViewingKeyDecoding(t *testing.T) {
	h := newHarness(t)
	owner := h.key()
	h.imprint(owner)
	v, _ := e2ee.Derive(owner)
	good := v.Public().Bytes()
	bad := append([]byte(nil), good...)
	bad[0], bad[1] = 0xff, bad[1]|0x0f
	for name, m := range map[string]*tx.ViewingKey{
		"KEM X25519":    {Account: owner.Address(), KEM: 0x20, PublicKey: good},
		"short key":     {Account: owner.Address(), KEM: e2ee.KEMID, PublicKey: good[:1184]},
		"coefficient≥q": {Account: owner.Address(), KEM: e2ee.KEMID, PublicKey: bad},
		"empty key":     {Account: owner.Address(), KEM: e2ee.KEMID, PublicKey: []byte{}},
	} {
		m.Nonce, m.Expiry = tx.NewNonce(), h.expiry()
		signed, err := tx.Sign(testChainID, m, owner)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := signed.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Decode(raw); err == nil {
			t.Errorf("%s: decoded", name)
		}
		if r := h.check(raw); r.Code != CodeEncoding {
			t.Errorf("%s: CheckTx %s, want encoding", name, CodeName(r.Code))
		}
	}
}
