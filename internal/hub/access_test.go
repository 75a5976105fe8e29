package hub

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/e2ee/recipients"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// What the hub forwards to a camera (SPEC §7.4) is the ledger's own
// transactions, byte for byte: each viewer's latest Grant or Revoke, the
// viewing keys of the owner and of the viewers in force, the owner's
// latest Encryption policy. Learnt by a camera's recipients set, they
// give the owner and the granted viewer, not the revoked one. The hub
// keeps the camera's envelopes and serves each only as the camera signed
// it.
func TestHubForwardsTheLedgersTransactions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hub")
	lh := startLedgerHub(t, Config{DataDir: dir})
	h, c, ctx, st := lh.Hub, lh.c, lh.ctx, lh.status
	var err error
	owner, cam, kept, gone := recordsTestKey(t), recordsTestKey(t), recordsTestKey(t), recordsTestKey(t)
	submit := lh.mustSubmit(t)
	vkey := func(k *keys.PrivateKey) []byte {
		vk, err := e2ee.Derive(k)
		if err != nil {
			t.Fatal(err)
		}
		return submit(&tx.ViewingKey{Account: k.Address(), KEM: e2ee.KEMID, PublicKey: vk.Public().Bytes(), Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, k)
	}
	exp := func() uint64 { return tx.ExpiryIn(time.Minute) }
	submit(&tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Hub: h.Address(), Nonce: tx.NewNonce(), Expiry: exp()}, owner, cam)
	if txs, err := (hubAccess{h}).Access(cam.Address(), 0); err != nil || len(txs) != 0 {
		t.Fatalf("before anything: %d txs, %v", len(txs), err)
	}
	ownerKey := vkey(owner)
	submit(&tx.Grant{Camera: cam.Address(), Viewer: gone.Address(), Nonce: tx.NewNonce(), Expiry: exp()}, owner)
	vkey(gone)
	grantKept := submit(&tx.Grant{Camera: cam.Address(), Viewer: kept.Address(), Nonce: tx.NewNonce(), Expiry: exp()}, owner)
	keptKey := vkey(kept)
	revoke := submit(&tx.Revoke{Camera: cam.Address(), Viewer: gone.Address(), Nonce: tx.NewNonce(), Expiry: exp()}, owner)
	submit(&tx.Encryption{Camera: cam.Address(), On: 0, Nonce: tx.NewNonce(), Expiry: exp()}, owner)
	policy := submit(&tx.Encryption{Camera: cam.Address(), On: 1, Nonce: tx.NewNonce(), Expiry: exp()}, owner)

	// The ledger's tx index follows its blocks closely but not at once: a
	// set that cannot be read whole is not sent (nor kept), and is asked
	// for again at the next poll.
	var txs [][]byte
	deadline := time.Now().Add(20 * time.Second)
	for {
		if txs, err = (hubAccess{h}).Access(cam.Address(), 0); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	want := [][]byte{revoke, grantKept, ownerKey, keptKey, policy}
	if len(txs) != len(want) {
		t.Fatalf("%d transactions forwarded, want %d", len(txs), len(want))
	}
	for i := range want {
		if !bytes.Equal(txs[i], want[i]) {
			t.Errorf("transaction %d forwarded is not the ledger's (want the %s)", i, []string{"revoke", "grant", "owner's key", "viewer's key", "policy"}[i])
		}
	}
	// Another epoch's camera gets nothing.
	if other, _ := (hubAccess{h}).Access(cam.Address(), 1); len(other) != 0 {
		t.Fatalf("epoch 1: %d transactions", len(other))
	}
	s := &recipients.Set{Camera: cam.Address(), Epoch: 0, Owner: owner.Address(), EVMChainID: st.EVMChainID}
	for _, raw := range txs[:4] {
		if err := s.Learn(raw); err != nil {
			t.Fatal(err)
		}
	}
	rs := s.Recipients(uint64(time.Now().Unix()))
	if len(rs) != 2 || (rs[0].Account != owner.Address() && rs[1].Account != owner.Address()) ||
		(rs[0].Account != kept.Address() && rs[1].Account != kept.Address()) {
		t.Fatalf("recipients from what the hub forwarded: %v", rs)
	}
	if p, err := tx.VerifyEncryption(txs[4], cam.Address(), owner.Address(), 0, st.EVMChainID); err != nil || !p.On {
		t.Fatalf("the forwarded policy: %+v, %v", p, err)
	}

	c.WithCredentials(&api.KeyCredentials{Key: owner})
	if cs, err := c.CameraStatus(ctx, cam.Address().Hex()); err != nil || !cs.Encryption {
		t.Fatalf("camera status after the owner's policy on: %+v, %v", cs, err)
	}

	// Envelopes: stored once, served as the camera's; a file altered on
	// the disk is not served.
	okv, _ := e2ee.Derive(owner)
	ck, _ := e2ee.NewContentKey(cam.Address(), 0, 1)
	env, _ := ck.Wrap([]e2ee.Recipient{{Account: owner.Address(), Key: okv.Public()}}, cam)
	raw, _ := env.Encode()
	store := hubEnvelopes{h}
	if err := store.PutEnvelope(cam.Address(), 0, 1, raw); err != nil {
		t.Fatal(err)
	}
	if err := store.PutEnvelope(cam.Address(), 0, 1, raw); err != nil {
		t.Fatalf("the same envelope again: %v", err)
	}
	c.WithCredentials(&api.KeyCredentials{Key: owner})
	l, err := c.Envelopes(ctx, cam.Address().Hex(), 0, 0, 10)
	if err != nil || len(l.Items) != 1 || l.Items[0].Serial != 1 || len(l.Items[0].Recipients) != 1 {
		t.Fatalf("envelopes: %+v, %v", l, err)
	}
	p := filepath.Join(h.envelopeDir(cam.Address(), 0), envelopeName(1))
	bad := bytes.Clone(raw)
	bad[len(bad)-3] ^= 1
	os.WriteFile(p, bad, 0o600)
	if l, err := c.Envelopes(ctx, cam.Address().Hex(), 0, 0, 10); err != nil || len(l.Items) != 0 {
		t.Fatalf("an altered envelope was served: %+v, %v", l, err)
	}
}
