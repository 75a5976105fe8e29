package keys

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
)

func TestSignRecoverRoundTrip(t *testing.T) {
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	d := TextDigest([]byte("hello"))
	sig, err := k.SignDigest(d)
	if err != nil {
		t.Fatal(err)
	}
	if v := sig[64]; v != 27 && v != 28 {
		t.Fatalf("v = %d, want 27 or 28", v)
	}
	got, err := Recover(d, sig)
	if err != nil || got != k.Address() {
		t.Fatalf("Recover = %s, %v; want %s", got.Hex(), err, k.Address().Hex())
	}
	if err := VerifyText(k.Address(), []byte("hello"), sig); err != nil {
		t.Fatal(err)
	}
	if err := VerifyText(k.Address(), []byte("hellO"), sig); err == nil {
		t.Fatal("signature verified for a different message")
	}
}

func TestRecoverRejectsHighS(t *testing.T) {
	k, _ := Generate()
	d := TextDigest([]byte("x"))
	sig, _ := k.SignDigest(d)
	// s' = n - s is the malleable twin; it must be refused.
	n, _ := new(big.Int).SetString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16)
	s := new(big.Int).SetBytes(sig[32:64])
	hs := new(big.Int).Sub(n, s).FillBytes(make([]byte, 32))
	twin := sig
	copy(twin[32:64], hs)
	twin[64] ^= 1 // 27<->28
	if _, err := Recover(d, twin); err == nil {
		t.Fatal("high-s twin signature accepted")
	}
	bad := sig
	bad[64] = 29
	if _, err := Recover(d, bad); err == nil {
		t.Fatal("v=29 accepted")
	}
}

func TestPrivateKeyNeverPrints(t *testing.T) {
	k, _ := Generate()
	secret := fmt.Sprintf("%x", k.ECDSA().D.Bytes())
	for _, f := range []string{"%v", "%s", "%+v", "%#v"} {
		if out := fmt.Sprintf(f, k); strings.Contains(out, secret) {
			t.Fatalf("%s leaked the key: %s", f, out)
		}
	}
	k2, _ := FromBytes(k.ECDSA().D.FillBytes(make([]byte, 32)))
	if !k.Equal(k2) {
		t.Fatal("Equal(false) for the same key")
	}
	k3, _ := Generate()
	if k.Equal(k3) {
		t.Fatal("Equal(true) for different keys")
	}
}

func TestParseAddress(t *testing.T) {
	good := "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed" // EIP-55 test vector
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{good, true},
		{strings.ToLower(good), true},
		{"0x" + strings.ToUpper(good[2:]), true},
		{"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", false}, // checksum broken
		{"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae", false},  // 39 digits
		{"hello", false},
	} {
		_, err := ParseAddress(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseAddress(%q) err = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

// v ∈ {0, 1} is the second encoding of every signature (SPEC §1): refused,
// so a relay cannot re-encode a transaction under another hash.
func TestRecoverRefusesSecondVEncoding(t *testing.T) {
	k, _ := Generate()
	d := TextDigest([]byte("x"))
	sig, _ := k.SignDigest(d)
	alt := sig
	alt[64] -= 27
	if _, err := Recover(d, alt); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("v=%d (the 0/1 form of a valid signature) accepted: %v", alt[64], err)
	}
	if got, err := Recover(d, sig); err != nil || got != k.Address() {
		t.Fatalf("canonical signature: %s %v", got.Hex(), err)
	}
}
