package hub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/pairing"
	"github.com/camchain/camchain/internal/tx"
)

// TestPairRelay: the hub relays only its caller's own, validly signed
// imprint, and opens no connection otherwise; an unreachable camera is 503.
// (The relay to a real camera, and the page's check of its answer, are in
// test/e2e TestWebUI.)
func TestPairRelay(t *testing.T) {
	a := startAuthzHub(t, func(now uint64) *tx.Grant { return &tx.Grant{} })
	cam := recordsTestKey(t)
	code, err := pairing.NewCode(cam.Address(), "127.0.0.1:1", link.Pin{1}, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wire := func(m tx.Msg, k *keys.PrivateKey) string {
		s, err := tx.SignIn(tx.DomainV2, a.chainID, m, k)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := s.Encode()
		return fmt.Sprintf("0x%x", b)
	}
	vk, err := e2ee.Derive(a.owner)
	if err != nil {
		t.Fatal(err)
	}
	expiry := tx.ExpiryIn(time.Minute)
	// policySigner signs the encryption policy (nil: none is sent).
	bodyWith := func(owner, signer, policySigner *keys.PrivateKey, dom tx.Domain) string {
		imp := &tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Hub: a.h.Address(), Nonce: 77, Expiry: expiry}
		d, _ := tx.DigestIn(dom, a.chainID, imp)
		sig, _ := signer.SignDigest(d)
		m := map[string]any{"code": code.String(), "domain": dom, "owner": owner.Address().Hex(), "epoch": 0,
			"nonce": "77", "expiry": imp.Expiry, "owner_sig": sig.Hex(),
			"viewing_key_tx": wire(&tx.ViewingKey{Account: a.owner.Address(), KEM: e2ee.KEMID, PublicKey: vk.Public().Bytes(), Nonce: 78, Expiry: expiry}, a.owner)}
		if policySigner != nil {
			m["encryption_tx"] = wire(&tx.Encryption{Camera: cam.Address(), On: 1, Nonce: 79, Expiry: expiry}, policySigner)
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	body := func(owner, signer *keys.PrivateKey, dom tx.Domain) string {
		return bodyWith(owner, signer, a.owner, dom)
	}
	cases := []struct {
		name, body, token string
		status            int
		msg               string
	}{
		{"no login", body(a.owner, a.owner, tx.DomainV2), "", http.StatusUnauthorized, ""},
		{"another owner's imprint", body(a.owner, a.owner, tx.DomainV2), a.strangerTok, http.StatusForbidden, "may relay only its own"},
		{"signed by someone else", body(a.owner, a.stranger, tx.DomainV2), a.ownerTok, http.StatusBadRequest, "owner_sig is not"},
		{"signed in v1, called v2", strings.Replace(body(a.owner, a.owner, tx.DomainV1), `"domain":1`, `"domain":2`, 1), a.ownerTok, http.StatusBadRequest, "owner_sig is not"},
		{"unknown domain", strings.Replace(body(a.owner, a.owner, tx.DomainV2), `"domain":2`, `"domain":3`, 1), a.ownerTok, http.StatusBadRequest, "domain must be"},
		{"not a code", strings.Replace(body(a.owner, a.owner, tx.DomainV2), "CCPAIR1:", "CCPAIR9:", 1), a.ownerTok, http.StatusBadRequest, "code:"},
		{"no encryption policy", bodyWith(a.owner, a.owner, nil, tx.DomainV2), a.ownerTok, http.StatusBadRequest, "no encryption policy"},
		{"a policy someone else signed", bodyWith(a.owner, a.owner, a.stranger, tx.DomainV2), a.ownerTok, http.StatusBadRequest, "not the owner's"},
		{"camera unreachable", body(a.owner, a.owner, tx.DomainV2), a.ownerTok, http.StatusServiceUnavailable, "cannot reach the camera"},
	}
	for _, c := range cases {
		status, resp := a.status(t, "POST", "/api/v1/pairings/relay", c.body, c.token)
		if status != c.status || !strings.Contains(resp, c.msg) {
			t.Errorf("%s: %d %s, want %d %q", c.name, status, resp, c.status, c.msg)
		}
		if strings.Contains(resp, fmt.Sprintf("%x", code.Secret[:])) {
			t.Errorf("%s: the answer carries the pairing secret", c.name)
		}
	}
}
