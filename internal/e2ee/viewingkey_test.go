package e2ee

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/hpke"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/wallet"
)

var update = flag.Bool("update", false, "rewrite testdata/viewing_key_vectors.json and the fuzz seed corpus")

// viewingKeyVectors is testdata/viewing_key_vectors.json (docs/SPEC.md
// §17.1): for test wallets, the message, the wallet's signature, the seed
// and the public key; then other encodings of one signature that give the
// same key, and inputs that must be refused, each with its expect.
type viewingKeyVectors struct {
	Comment string           `json:"comment"`
	Valid   []viewingVector  `json:"valid"`
	Same    []sameVector     `json:"same_key"`
	Invalid []invalidViewing `json:"invalid"`
}

type viewingVector struct {
	Name       string `json:"name"`
	Mnemonic   string `json:"mnemonic,omitempty"`
	Passphrase string `json:"passphrase,omitempty"`
	PrivateKey string `json:"private_key,omitempty"` // test keys only!
	Account    string `json:"account"`
	Message    string `json:"message"`
	Signature  string `json:"signature"`
	Seed       string `json:"seed"`
	PublicKey  string `json:"public_key"`
	KeyID      string `json:"key_id"`
}

type sameVector struct {
	Name      string `json:"name"`
	Account   string `json:"account"`
	Signature string `json:"signature"`
	Seed      string `json:"seed"` // the same as the canonical signature's
}

type invalidViewing struct {
	Name      string `json:"name"`
	Account   string `json:"account,omitempty"`
	Signature string `json:"signature,omitempty"`
	PublicKey string `json:"public_key,omitempty"`
	Expect    string `json:"expect"` // wrong_signer | public_key
}

const vectorsPath = "testdata/viewing_key_vectors.json"

func mustKey(t testing.TB, b byte) *keys.PrivateKey {
	k, err := keys.FromBytes(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func h(b []byte) string { return "0x" + hex.EncodeToString(b) }

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// highS returns the other valid ECDSA encoding of sig: (r, n − s) with the
// recovery id flipped.
func highS(sig keys.Signature) keys.Signature {
	s := new(big.Int).SetBytes(sig[32:64])
	s.Sub(secp256k1N, s)
	out := sig
	s.FillBytes(out[32:64])
	out[64] ^= 27 ^ 28
	return out
}

func buildViewingVectors(t testing.TB) viewingKeyVectors {
	vf := viewingKeyVectors{Comment: "camchain viewing keys (docs/SPEC.md §17.1): message, personal_sign signature, HKDF seed, X-Wing public key. " +
		"Regenerate: go test ./internal/e2ee -run TestViewingKeyVectors -update"}
	type src struct {
		name, mnemonic, pass string
		key                  *keys.PrivateKey
	}
	var srcs []src
	for i := byte(1); i <= 3; i++ {
		srcs = append(srcs, src{name: fmt.Sprintf("key 0x%02x…%02x", i, i), key: mustKey(t, i)})
	}
	m := strings.Repeat("abandon ", 23) + "art"
	for _, p := range []string{"", "TREZOR", "pässwörd"} {
		k, err := wallet.DeriveKey(m, p)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, src{name: fmt.Sprintf("abandon…art, passphrase %q", p), mnemonic: m, pass: p, key: k})
	}
	for _, s := range srcs {
		vk, err := Derive(s.key)
		if err != nil {
			t.Fatal(err)
		}
		sig, _ := s.key.SignText(Message(s.key.Address()))
		v := viewingVector{Name: s.name, Mnemonic: s.mnemonic, Passphrase: s.pass, Account: s.key.Address().Hex(),
			Message: string(Message(s.key.Address())), Signature: sig.Hex(), Seed: h(vk.seed[:]),
			PublicKey: h(vk.Public().Bytes()), KeyID: vk.Public().ID().String()}
		if s.mnemonic == "" {
			v.PrivateKey = h(crypto.FromECDSA(s.key.ECDSA()))
		}
		vf.Valid = append(vf.Valid, v)
	}
	k1 := mustKey(t, 1)
	sig, _ := k1.SignText(Message(k1.Address()))
	vk, _ := FromSignature(k1.Address(), sig)
	v01 := sig
	v01[64] -= 27
	hi := highS(sig)
	hi01 := hi
	hi01[64] -= 27
	for _, c := range []struct {
		name string
		sig  keys.Signature
	}{{"v as 0/1", v01}, {"high s (its twin)", hi}, {"high s, v as 0/1", hi01}} {
		vf.Same = append(vf.Same, sameVector{Name: c.name, Account: k1.Address().Hex(), Signature: c.sig.Hex(), Seed: h(vk.seed[:])})
	}
	k2 := mustKey(t, 2)
	other, _ := k2.SignText(Message(k1.Address()))
	wrongMsg, _ := k1.SignText(append(Message(k1.Address()), '\n'))
	flipped := sig
	flipped[10] ^= 1
	badV := sig
	badV[64] = 29
	pub := vk.Public().Bytes()
	coeff := append([]byte(nil), pub...)
	coeff[0], coeff[1] = 0xff, coeff[1]|0x0f // the first ML-KEM coefficient is 4095 ≥ q = 3329
	vf.Invalid = []invalidViewing{
		{Name: "another account's signature of this account's message", Account: k1.Address().Hex(), Signature: other.Hex(), Expect: "wrong_signer"},
		{Name: "the account's signature of another message", Account: k1.Address().Hex(), Signature: wrongMsg.Hex(), Expect: "wrong_signer"},
		{Name: "signature with a bit of r flipped", Account: k1.Address().Hex(), Signature: flipped.Hex(), Expect: "wrong_signer"},
		{Name: "signature with v = 29", Account: k1.Address().Hex(), Signature: badV.Hex(), Expect: "wrong_signer"},
		{Name: "the signature for another account", Account: k2.Address().Hex(), Signature: sig.Hex(), Expect: "wrong_signer"},
		{Name: "public key one byte short", PublicKey: h(pub[:len(pub)-1]), Expect: "public_key"},
		{Name: "public key with a trailing byte", PublicKey: h(append(append([]byte(nil), pub...), 0)), Expect: "public_key"},
		{Name: "public key with an ML-KEM coefficient ≥ q", PublicKey: h(coeff), Expect: "public_key"},
		{Name: "empty public key", PublicKey: "0x", Expect: "public_key"},
	}
	return vf
}

func TestViewingKeyVectors(t *testing.T) {
	if *update {
		vf := buildViewingVectors(t)
		b, _ := json.MarshalIndent(vf, "", "  ")
		if err := os.WriteFile(vectorsPath, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		writeSeedCorpus(t, vf)
	}
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var vf viewingKeyVectors
	if err := json.Unmarshal(b, &vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Valid) < 6 || len(vf.Same) < 3 || len(vf.Invalid) < 9 {
		t.Fatalf("vectors incomplete: %d valid, %d same, %d invalid", len(vf.Valid), len(vf.Same), len(vf.Invalid))
	}
	for _, v := range vf.Valid {
		var k *keys.PrivateKey
		if v.Mnemonic != "" {
			k, err = wallet.DeriveKey(v.Mnemonic, v.Passphrase)
		} else {
			k, err = keys.FromBytes(unhex(t, v.PrivateKey))
		}
		if err != nil {
			t.Fatal(err)
		}
		if k.Address().Hex() != v.Account {
			t.Fatalf("%s: account %s, vector %s", v.Name, k.Address().Hex(), v.Account)
		}
		if string(Message(k.Address())) != v.Message {
			t.Errorf("%s: message differs from the vector", v.Name)
		}
		sig, _ := k.SignText([]byte(v.Message))
		if sig.Hex() != v.Signature {
			t.Errorf("%s: signature %s, vector %s", v.Name, sig.Hex(), v.Signature)
		}
		vk, err := Derive(k)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		if h(vk.seed[:]) != v.Seed || h(vk.Public().Bytes()) != v.PublicKey || vk.Public().ID().String() != v.KeyID {
			t.Errorf("%s: seed/public key/id differ from the vector", v.Name)
		}
		// The public key follows from the seed alone.
		sk, err := hpke.MLKEM768X25519().NewPrivateKey(unhex(t, v.Seed))
		if err != nil || h(sk.PublicKey().Bytes()) != v.PublicKey {
			t.Errorf("%s: the seed does not load as the vector's public key (%v)", v.Name, err)
		}
	}
	for _, v := range vf.Same {
		acct, _ := keys.ParseAddress(v.Account)
		sig, _ := keys.ParseSignature(v.Signature)
		vk, err := FromSignature(acct, sig)
		if err != nil {
			t.Errorf("%s: %v", v.Name, err)
			continue
		}
		if h(vk.seed[:]) != v.Seed {
			t.Errorf("%s: seed %x, want the canonical signature's %s", v.Name, vk.seed, v.Seed)
		}
	}
	for _, v := range vf.Invalid {
		var err error
		switch v.Expect {
		case "wrong_signer":
			acct, _ := keys.ParseAddress(v.Account)
			sig, _ := keys.ParseSignature(v.Signature)
			_, err = FromSignature(acct, sig)
			if !errors.Is(err, ErrWrongSigner) {
				t.Errorf("%s: err %v, want ErrWrongSigner", v.Name, err)
			}
		case "public_key":
			_, err = ParsePublicKey(unhex(t, v.PublicKey))
			if !errors.Is(err, ErrPublicKey) {
				t.Errorf("%s: err %v, want ErrPublicKey", v.Name, err)
			}
		default:
			t.Errorf("%s: unknown expect %q", v.Name, v.Expect)
		}
	}
}

func writeSeedCorpus(t testing.TB, vf viewingKeyVectors) {
	write := func(target, name string, args ...[]byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		os.MkdirAll(dir, 0o755)
		var b strings.Builder
		b.WriteString("go test fuzz v1\n")
		for _, a := range args {
			fmt.Fprintf(&b, "[]byte(%q)\n", a)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("FuzzParsePublicKey", "valid", unhex(t, vf.Valid[0].PublicKey))
	for i, v := range vf.Invalid {
		if v.PublicKey != "" {
			write("FuzzParsePublicKey", fmt.Sprintf("invalid-%02d", i), unhex(t, v.PublicKey))
		}
		if v.Signature != "" {
			write("FuzzFromSignature", fmt.Sprintf("invalid-%02d", i), unhex(t, v.Account), unhex(t, v.Signature))
		}
	}
	write("FuzzFromSignature", "valid", unhex(t, vf.Valid[0].Account), unhex(t, vf.Valid[0].Signature))
	for i, v := range vf.Same {
		write("FuzzFromSignature", fmt.Sprintf("same-%02d", i), unhex(t, v.Account), unhex(t, v.Signature))
	}
}

// randomKSigner signs with a fresh random nonce each time (crypto/ecdsa's
// generic path): valid, canonical signatures that differ on every call,
// as a wallet that does not follow RFC 6979 gives.
type randomKSigner struct{ k *keys.PrivateKey }

func (r randomKSigner) Address() keys.Address { return r.k.Address() }

func (r randomKSigner) SignDigest(d [32]byte) (keys.Signature, error) {
	rr, s, err := ecdsa.Sign(rand.Reader, r.k.ECDSA(), d[:])
	if err != nil {
		return keys.Signature{}, err
	}
	if s.Cmp(secp256k1HalfN) > 0 {
		s.Sub(secp256k1N, s)
	}
	var sig keys.Signature
	rr.FillBytes(sig[:32])
	s.FillBytes(sig[32:64])
	for _, v := range []byte{27, 28} {
		sig[64] = v
		if a, err := keys.Recover(d, sig); err == nil && a == r.k.Address() {
			return sig, nil
		}
	}
	return keys.Signature{}, errors.New("no recovery id recovers the key")
}

func TestDeriveRefusesANondeterministicWallet(t *testing.T) {
	k := mustKey(t, 1)
	r := randomKSigner{k}
	a, err := r.SignDigest(keys.TextDigest(Message(k.Address())))
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.VerifyText(k.Address(), Message(k.Address()), a); err != nil {
		t.Fatalf("the random-k signer makes bad signatures: %v", err)
	}
	_, err = Derive(r)
	if !errors.Is(err, ErrNondeterministic) {
		t.Fatalf("Derive with a random-k wallet: %v, want ErrNondeterministic", err)
	}
	if !strings.Contains(err.Error(), "does not sign deterministically") {
		t.Errorf("the refusal does not say why: %v", err)
	}
	// Each of its signatures is a valid signature of the message, and each
	// gives another key: exactly why Derive refuses.
	b, _ := r.SignDigest(keys.TextDigest(Message(k.Address())))
	ka, errA := FromSignature(k.Address(), a)
	kb, errB := FromSignature(k.Address(), b)
	if errA != nil || errB != nil || ka.Public().Equal(kb.Public()) {
		t.Fatalf("two random-k signatures: %v, %v, same key %v", errA, errB, errA == nil && errB == nil && ka.Public().Equal(kb.Public()))
	}
}

func TestViewingKeyOpensWhatIsSealedToIt(t *testing.T) {
	vk, err := Derive(mustKey(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := Derive(mustKey(t, 2))
	suite := func() (hpke.KDF, hpke.AEAD) { return hpke.HKDFSHA256(), hpke.AES256GCM() }
	kdf, aead := suite()
	ct, err := hpke.Seal(vk.Public().pk, kdf, aead, []byte("info"), []byte("content key"))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := hpke.Open(vk.sk, kdf, aead, []byte("info"), ct)
	if err != nil || string(pt) != "content key" {
		t.Fatalf("open: %q, %v", pt, err)
	}
	if _, err := hpke.Open(other.sk, kdf, aead, []byte("info"), ct); err == nil {
		t.Fatal("another viewing key opened it")
	}
}

func TestViewingKeyNeverPrints(t *testing.T) {
	vk, _ := Derive(mustKey(t, 1))
	for _, s := range []string{vk.String(), fmt.Sprintf("%v %+v %#v %s", vk, vk, vk, vk)} {
		if strings.Contains(s, hex.EncodeToString(vk.seed[:])) || strings.Contains(s, hex.EncodeToString(vk.seed[:8])) {
			t.Fatalf("the seed printed: %s", s)
		}
	}
	if !strings.HasPrefix(vk.Public().String(), "viewkey:0x") {
		t.Errorf("public key prints as %s", vk.Public())
	}
}

func TestMessageIsDomainSeparated(t *testing.T) {
	a := mustKey(t, 1).Address()
	m := string(Message(a))
	if !strings.HasPrefix(m, MessageTitle+"\n") || !strings.Contains(m, "Account: "+a.Hex()+"\n") || !strings.HasSuffix(m, "Version: 1") {
		t.Fatalf("message:\n%s", m)
	}
	if IsViewingKeyMessage([]byte("hello")) || !IsViewingKeyMessage(Message(a)) || !IsViewingKeyMessage([]byte(MessageTitle+"\nanything")) {
		t.Fatal("IsViewingKeyMessage")
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
