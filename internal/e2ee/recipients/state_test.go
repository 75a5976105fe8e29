package recipients

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpus")

func fixedKey(t testing.TB, b byte) *keys.PrivateKey {
	k, err := keys.FromBytes(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sampleState is a Set of fixed keys: an owner with its key, a viewer
// granted with its key, one revoked, one granted without a key yet.
func sampleState(t testing.TB) *Set {
	owner, cam, v1, v2, v3 := fixedKey(t, 1), fixedKey(t, 3), fixedKey(t, 4), fixedKey(t, 5), fixedKey(t, 6)
	s := &Set{Camera: cam.Address(), Epoch: 2, Owner: owner.Address(), EVMChainID: chain}
	learn := func(m tx.Msg, by *keys.PrivateKey) {
		signed, err := tx.Sign(chain, m, by)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := signed.Encode()
		if err := s.Learn(raw); err != nil {
			t.Fatal(err)
		}
	}
	reg := func(k *keys.PrivateKey, exp uint64) {
		vk, err := e2ee.Derive(k)
		if err != nil {
			t.Fatal(err)
		}
		learn(&tx.ViewingKey{Account: k.Address(), KEM: e2ee.KEMID, PublicKey: vk.Public().Bytes(), Nonce: 1, Expiry: exp}, k)
	}
	reg(owner, 1000)
	learn(&tx.Grant{Camera: cam.Address(), Epoch: 2, Viewer: v1.Address(), ValidUntil: 5000, HistoryFrom: 100, Nonce: 2, Expiry: 1001}, owner)
	reg(v1, 1002)
	learn(&tx.Grant{Camera: cam.Address(), Epoch: 2, Viewer: v2.Address(), Nonce: 3, Expiry: 1003}, owner)
	learn(&tx.Revoke{Camera: cam.Address(), Epoch: 2, Viewer: v2.Address(), Nonce: 4, Expiry: 1004}, owner)
	learn(&tx.Grant{Camera: cam.Address(), Epoch: 2, Viewer: v3.Address(), Nonce: 5, Expiry: 1005}, owner)
	return s
}

func TestStateRoundTrip(t *testing.T) {
	s := sampleState(t)
	b, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		dir := filepath.Join("testdata", "fuzz", "FuzzDecodeSet")
		os.MkdirAll(dir, 0o755)
		seeds := map[string][]byte{"valid": b, "empty": mustEncode(t, &Set{Camera: s.Camera, Owner: s.Owner, EVMChainID: chain}),
			"trailing": append(append([]byte(nil), b...), 0), "cut": b[:len(b)-1]}
		for name, seed := range seeds {
			os.WriteFile(filepath.Join(dir, name), []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", seed)), 0o644)
		}
	}
	got, err := DecodeSet(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, now := range []uint64{50, 100, 4999, 5000} {
		a, z := accounts(s.Recipients(now)), accounts(got.Recipients(now))
		if fmt.Sprint(a) != fmt.Sprint(z) || fmt.Sprint(s.Missing(now)) != fmt.Sprint(got.Missing(now)) {
			t.Fatalf("at %d: recipients %v vs %v after the round trip", now, a, z)
		}
	}
	if len(got.Recipients(100)) != 2 || len(got.Missing(100)) != 1 {
		t.Fatalf("recipients at 100: %v, missing %v", accounts(got.Recipients(100)), got.Missing(100))
	}
	// The revoke survives the restart: an older grant replayed stays revoked.
	v2 := fixedKey(t, 5)
	signed, _ := tx.Sign(chain, &tx.Grant{Camera: s.Camera, Epoch: 2, Viewer: v2.Address(), Nonce: 9, Expiry: 1003}, fixedKey(t, 1))
	raw, _ := signed.Encode()
	if err := got.Learn(raw); err != nil {
		t.Fatal(err)
	}
	for _, r := range got.Recipients(200) {
		if r.Account == v2.Address() {
			t.Fatal("a replayed grant undid a revoke kept across a restart")
		}
	}
	// Refusals.
	for name, bad := range map[string][]byte{
		"trailing byte": append(append([]byte(nil), b...), 0),
		"cut":           b[:len(b)-1],
		"version 2":     append([]byte{b[0], 0x02}, b[2:]...),
		"empty":         {},
	} {
		if _, err := DecodeSet(bad); !errors.Is(err, ErrState) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func mustEncode(t testing.TB, s *Set) []byte {
	b, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecodeSet: a state that decodes re-encodes to its bytes; anything
// else is refused.
func FuzzDecodeSet(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSet(b)
		if err != nil {
			if !errors.Is(err, ErrState) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		again, err := s.Encode()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatal("a decoded state does not re-encode to its bytes")
		}
	})
}
