package tx

import (
	"errors"
	"testing"

	"github.com/camchain/camchain/internal/keys"
)

// The camera believes an encryption policy only as the owner signed it,
// for its own camera, epoch and ledger; an On other than 0 or 1 is no
// Encryption at all.
func TestVerifyEncryption(t *testing.T) {
	owner, cam, hub := mustKey(t), mustKey(t), mustKey(t)
	mk := func(signer *keys.PrivateKey, chain uint64, m Msg) []byte {
		signed, err := Sign(chain, m, signer)
		if err != nil {
			t.Fatal(err)
		}
		b, err := signed.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	on := &Encryption{Camera: cam.Address(), Epoch: 2, On: 1, Nonce: 1, Expiry: 2000000000}
	p, err := VerifyEncryption(mk(owner, 9, on), cam.Address(), owner.Address(), 2, 9)
	if err != nil || !p.On || p.Expiry != 2000000000 {
		t.Fatalf("the owner's policy: %+v, %v", p, err)
	}
	off := &Encryption{Camera: cam.Address(), Epoch: 2, On: 0, Nonce: 2, Expiry: 2000000001}
	if p, err := VerifyEncryption(mk(owner, 9, off), cam.Address(), owner.Address(), 2, 9); err != nil || p.On {
		t.Fatalf("the owner's off: %+v, %v", p, err)
	}
	for _, tc := range []struct {
		name string
		raw  []byte
		want error
	}{
		{"signed by the hub", mk(hub, 9, on), keys.ErrBadSignature},
		{"signed by the camera", mk(cam, 9, on), keys.ErrBadSignature},
		{"another ledger", mk(owner, 10, on), nil},
		{"another epoch", mk(owner, 9, &Encryption{Camera: cam.Address(), Epoch: 3, On: 1, Nonce: 3, Expiry: 2000000000}), nil},
		{"another camera", mk(owner, 9, &Encryption{Camera: hub.Address(), Epoch: 2, On: 1, Nonce: 3, Expiry: 2000000000}), nil},
		{"on = 2", mk(owner, 9, &Encryption{Camera: cam.Address(), Epoch: 2, On: 2, Nonce: 3, Expiry: 2000000000}), ErrEncoding},
		{"another type", mk(owner, 9, &Retention{Camera: cam.Address(), Epoch: 2, Days: 1, Nonce: 3, Expiry: 2000000000}), ErrEncoding},
	} {
		_, err := VerifyEncryption(tc.raw, cam.Address(), owner.Address(), 2, 9)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := VerifyEncryption(mk(owner, 9, on), cam.Address(), keys.Address{}, 2, 9); err == nil {
		t.Error("a camera without an owner accepted a policy")
	}
}
