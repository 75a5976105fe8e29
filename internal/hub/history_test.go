package hub

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// History envelopes on the hub (SPEC §17.6): only the owner uploads one,
// only one signed by the ledger's owner for a viewer's grant in force is
// stored, a viewer lists only its own, and one altered on the disk, or
// made for an earlier grant, is not served.
func TestHistoryEnvelopesOnTheHub(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hub")
	lh := startLedgerHub(t, Config{DataDir: dir})
	h, c, ctx, _ := lh.Hub, lh.c, lh.ctx, lh.status
	owner, cam, a, b, stranger := recordsTestKey(t), recordsTestKey(t), recordsTestKey(t), recordsTestKey(t), recordsTestKey(t)
	submit := lh.mustSubmit(t)
	exp := func() uint64 { return tx.ExpiryIn(time.Minute) }
	histFrom := uint64(time.Now().Add(-time.Hour).Unix())
	submit(&tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Hub: h.Address(), Nonce: tx.NewNonce(), Expiry: exp()}, owner, cam)
	submit(&tx.Grant{Camera: cam.Address(), Viewer: a.Address(), HistoryFrom: histFrom, Nonce: tx.NewNonce(), Expiry: exp()}, owner)
	submit(&tx.Grant{Camera: cam.Address(), Viewer: b.Address(), HistoryFrom: histFrom, Nonce: tx.NewNonce(), Expiry: exp()}, owner)
	d, err := h.node.App.Device(cam.Address())
	if err != nil || len(d.Grants) != 2 {
		t.Fatalf("device %+v, %v", d, err)
	}
	grantOf := func(v keys.Address) e2ee.HistoryGrant {
		d, _ := h.node.App.Device(cam.Address())
		for _, g := range d.Grants {
			if g.Viewer == v && g.Active(now()) {
				return e2ee.HistoryGrant{HistoryFrom: g.HistoryFrom, GrantedAt: g.GrantedAt}
			}
		}
		t.Fatalf("no grant of %s", v.Hex())
		return e2ee.HistoryGrant{}
	}
	ck, _ := e2ee.NewContentKey(cam.Address(), 0, 3)
	mk := func(signer *keys.PrivateKey, to *keys.PrivateKey, g e2ee.HistoryGrant, epoch uint64) []byte {
		t.Helper()
		vk, _ := e2ee.Derive(to)
		k := ck
		if epoch != 0 {
			k, _ = e2ee.NewContentKey(cam.Address(), epoch, 3)
		}
		he, err := e2ee.NewHistory(cam.Address(), epoch, e2ee.Recipient{Account: to.Address(), Key: vk.Public()}, g, e2ee.HistoryKeys{Content: []*e2ee.ContentKey{k}}, signer)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := he.Encode()
		return raw
	}
	as := func(k *keys.PrivateKey) *api.Client { return c.WithCredentials(&api.KeyCredentials{Key: k}) }
	code := func(err error) api.ErrorCode {
		var ae *api.Error
		if errors.As(err, &ae) {
			return ae.Code
		}
		return ""
	}
	camera := cam.Address().Hex()
	forA := mk(owner, a, grantOf(a.Address()), 0)
	for _, c := range []struct {
		name string
		by   *keys.PrivateKey
		raw  []byte
		want api.ErrorCode
	}{
		{"uploaded by the grantee", a, forA, api.ErrForbidden},
		{"uploaded by a stranger", stranger, forA, api.ErrForbidden},
		{"signed by the hub in the owner's name", owner, mk(h.key, a, grantOf(a.Address()), 0), api.ErrBadRequest},
		{"for a viewer without a grant", owner, mk(owner, stranger, grantOf(a.Address()), 0), api.ErrRefused},
		{"for another grant than the viewer's", owner, mk(owner, a, e2ee.HistoryGrant{HistoryFrom: histFrom - 1, GrantedAt: grantOf(a.Address()).GrantedAt}, 0), api.ErrRefused},
		{"of another epoch", owner, mk(owner, a, grantOf(a.Address()), 1), api.ErrRefused},
		{"one byte changed", owner, func() []byte { x := append([]byte(nil), forA...); x[len(x)-70] ^= 1; return x }(), api.ErrBadRequest},
	} {
		if _, err := as(c.by).UploadHistory(ctx, camera, c.raw); code(err) != c.want {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
	got, err := as(owner).UploadHistory(ctx, camera, forA)
	if err != nil || got.Keys != 1 || got.Viewer != a.Address().Hex() {
		t.Fatalf("the owner's upload: %+v, %v", got, err)
	}
	if again, err := as(owner).UploadHistory(ctx, camera, forA); err != nil || again.Hash != got.Hash {
		t.Fatalf("the same upload again: %+v, %v", again, err)
	}
	if l, err := as(a).HistoryEnvelopes(ctx, camera, -1, ""); err != nil || len(l.Items) != 1 || l.Items[0].Envelope != "0x"+hex.EncodeToString(forA) {
		t.Fatalf("the grantee's list: %+v, %v", l, err)
	}
	if l, err := as(b).HistoryEnvelopes(ctx, camera, -1, ""); err != nil || len(l.Items) != 0 {
		t.Fatalf("the other grantee's list: %+v, %v", l, err)
	}
	if _, err := as(b).HistoryEnvelopes(ctx, camera, -1, a.Address().Hex()); code(err) != api.ErrForbidden {
		t.Errorf("a grantee asking for another's: %v", err)
	}
	if _, err := as(stranger).HistoryEnvelopes(ctx, camera, -1, ""); code(err) != api.ErrForbidden {
		t.Errorf("a stranger: %v", err)
	}
	if l, err := as(owner).HistoryEnvelopes(ctx, camera, -1, ""); err != nil || len(l.Items) != 1 {
		t.Fatalf("the owner's list: %+v, %v", l, err)
	}
	// A re-grant: the envelope made for the earlier grant is not served.
	time.Sleep(1100 * time.Millisecond) // a later block time
	submit(&tx.Grant{Camera: cam.Address(), Viewer: a.Address(), HistoryFrom: histFrom + 60, Nonce: tx.NewNonce(), Expiry: exp()}, owner)
	if g := grantOf(a.Address()); g.HistoryFrom != histFrom+60 {
		t.Fatalf("re-grant not in force: %+v", g)
	}
	if l, err := as(a).HistoryEnvelopes(ctx, camera, -1, ""); err != nil || len(l.Items) != 0 {
		t.Fatalf("after a re-grant the earlier grant's envelope is served: %+v, %v", l, err)
	}
	forA2 := mk(owner, a, grantOf(a.Address()), 0)
	if _, err := as(owner).UploadHistory(ctx, camera, forA2); err != nil {
		t.Fatal(err)
	}
	// Altered on the disk: not served.
	names, _ := filepath.Glob(filepath.Join(h.historyDir(cam.Address(), 0, a.Address()), "*"))
	for _, n := range names {
		raw, _ := os.ReadFile(n)
		raw[len(raw)-5] ^= 1
		os.WriteFile(n, raw, 0o600)
	}
	if l, err := as(a).HistoryEnvelopes(ctx, camera, -1, ""); err != nil || len(l.Items) != 0 {
		t.Fatalf("an altered envelope was served: %+v, %v", l, err)
	}
	// Revoked: the grantee lists nothing.
	submit(&tx.Revoke{Camera: cam.Address(), Viewer: a.Address(), Nonce: tx.NewNonce(), Expiry: exp()}, owner)
	if _, err := as(a).HistoryEnvelopes(ctx, camera, -1, ""); code(err) != api.ErrForbidden {
		t.Errorf("after the revoke: %v", err)
	}
	// Each upload is on the ledger's audit trail, about the grantee.
	deadline := time.Now().Add(30 * time.Second)
	for n := 0; n < 2; {
		evs, err := as(owner).Audit(ctx, api.AuditQuery{Camera: camera})
		if err != nil {
			t.Fatal(err)
		}
		n = 0
		for _, e := range evs.Items {
			if e.Kind == "hub/history-keys" && strings.Contains(e.Detail, "re-wrapped 1 past key") {
				n++
			}
		}
		if n < 2 && time.Now().After(deadline) {
			t.Fatalf("%d hub/history-keys audit events, want 2", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
