package pairing

import (
	"bytes"
	"testing"

	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// policyRequest is a request of owner (key 0x0101…01) for camera
// (0x0202…02) carrying the owner's policy on and viewing key.
func policyRequest(t testing.TB) (*Request, keys.Address) {
	t.Helper()
	owner, _ := keys.FromBytes(bytes.Repeat([]byte{1}, 32))
	cam, _ := keys.FromBytes(bytes.Repeat([]byte{2}, 32))
	wire := func(m tx.Msg) []byte {
		s, err := tx.Sign(4242, m, owner)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := s.Encode()
		return b
	}
	vk, err := e2ee.Derive(owner)
	if err != nil {
		t.Fatal(err)
	}
	r := &Request{EVMChainID: 4242, Owner: owner.Address(), Epoch: 3, Nonce: 1, Expiry: 2000000000}
	r.Encryption = wire(&tx.Encryption{Camera: cam.Address(), Epoch: 3, On: 1, Nonce: 2, Expiry: r.Expiry})
	r.ViewingKey = wire(&tx.ViewingKey{Account: owner.Address(), KEM: e2ee.KEMID, PublicKey: vk.Public().Bytes(), Nonce: 3, Expiry: r.Expiry})
	return r, cam.Address()
}

// FuzzRequestPolicy: whatever bytes a relay puts in a request's policy and
// viewing key, Policy does not panic, and it accepts only a policy that
// tx.VerifyEncryption takes as the owner's for this camera and epoch, with
// the imprint's expiry.
func FuzzRequestPolicy(f *testing.F) {
	r, cam := policyRequest(f)
	if p, err := r.Policy(cam); err != nil || !p.On {
		f.Fatalf("the valid seed: %+v, %v", p, err)
	}
	f.Add(r.Encryption, r.ViewingKey)
	f.Add(r.Encryption, []byte(nil))
	f.Add([]byte(nil), r.ViewingKey)
	f.Fuzz(func(t *testing.T, enc, vk []byte) {
		q := *r
		q.Encryption, q.ViewingKey = enc, vk
		p, err := q.Policy(cam)
		if err != nil {
			return
		}
		want, verr := tx.VerifyEncryption(enc, cam, q.Owner, q.Epoch, q.EVMChainID)
		if verr != nil || *want != *p || p.Expiry != q.Expiry {
			t.Fatalf("Policy took %+v, VerifyEncryption says %+v, %v", p, want, verr)
		}
		if p.On && len(vk) == 0 {
			t.Fatal("on without a viewing key")
		}
	})
}
