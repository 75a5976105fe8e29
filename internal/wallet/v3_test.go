package wallet

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/google/uuid"

	"github.com/camchain/camchain/internal/keys"
)

// go-ethereum's accounts/keystore is the reference for v3.go: these tests
// hold the two side by side. (A test's imports do not reach the camera
// agent's binary.)

func newV3Key(t testing.TB) *keys.PrivateKey {
	t.Helper()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// gethDecrypt is go-ethereum's DecryptKey, a panic (which it has on some
// malformed files: a short IV, dklen under 32, a kdf parameter that is
// not a number) counted as a refusal.
func gethDecrypt(data []byte, pass string) (k *keystore.Key, err error) {
	defer func() {
		if r := recover(); r != nil {
			k, err = nil, errors.New("go-ethereum panicked")
		}
	}()
	return keystore.DecryptKey(data, pass)
}

// TestV3OursOpensInGoEthereum: a file encryptV3 writes opens in
// go-ethereum with the same key and id, has go-ethereum's layout, and a
// wrong passphrase fails in both.
func TestV3OursOpensInGoEthereum(t *testing.T) {
	for _, pass := range []string{"correct horse", "", "pässwörd \u00e9\u0301"} {
		k, id := newV3Key(t), uuid.New()
		blob, err := encryptV3(k, id, pass, LightScrypt.N, LightScrypt.P)
		if err != nil {
			t.Fatal(err)
		}
		gk, err := keystore.DecryptKey(blob, pass)
		if err != nil {
			t.Fatalf("%q: go-ethereum: %v", pass, err)
		}
		if gk.Address != k.Address() || !keysEqual(gk, k) || gk.Id != id {
			t.Fatalf("%q: go-ethereum opened %s id %s, want %s id %s", pass, gk.Address.Hex(), gk.Id, k.Address().Hex(), id)
		}
		if _, err := keystore.DecryptKey(blob, pass+"x"); !errors.Is(err, keystore.ErrDecrypt) {
			t.Fatalf("%q: go-ethereum with a wrong passphrase: %v", pass, err)
		}
		if _, _, err := decryptV3(blob, pass+"x"); !errors.Is(err, errV3Decrypt) {
			t.Fatalf("%q: ours with a wrong passphrase: %v", pass, err)
		}
		// The same members in the same order as go-ethereum writes them.
		ref, err := keystore.EncryptKey(gk, pass, LightScrypt.N, LightScrypt.P)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := shape(t, blob), shape(t, ref); a != b {
			t.Fatalf("layout\n ours %s\n geth %s", a, b)
		}
	}
}

// TestV3GoEthereumsOpensInOurs: files go-ethereum writes (scrypt at two
// costs) and a PBKDF2 file (which go-ethereum reads but does not write,
// made here and checked by go-ethereum) open with the same key and id.
func TestV3GoEthereumsOpensInOurs(t *testing.T) {
	for _, c := range []ScryptParams{LightScrypt, {N: 1 << 10, P: 1}} {
		k := newV3Key(t)
		gk := &keystore.Key{Id: uuid.New(), Address: k.Address(), PrivateKey: k.ECDSA()}
		blob, err := keystore.EncryptKey(gk, "pw", c.N, c.P)
		if err != nil {
			t.Fatal(err)
		}
		got, id, err := decryptV3(blob, "pw")
		if err != nil || !got.Equal(k) || id != gk.Id {
			t.Fatalf("scrypt %+v: %v, id %s", c, err, id)
		}
		if _, _, err := decryptV3(blob, "pW"); !errors.Is(err, errV3Decrypt) {
			t.Fatalf("scrypt %+v, wrong passphrase: %v", c, err)
		}
	}
	k := newV3Key(t)
	blob := pbkdf2File(t, k, "pw", 1000)
	if gk, err := keystore.DecryptKey(blob, "pw"); err != nil || !keysEqual(gk, k) {
		t.Fatalf("the PBKDF2 file in go-ethereum: %v", err)
	}
	if got, _, err := decryptV3(blob, "pw"); err != nil || !got.Equal(k) {
		t.Fatalf("the PBKDF2 file in ours: %v", err)
	}
	if _, _, err := decryptV3(blob, "px"); !errors.Is(err, errV3Decrypt) {
		t.Fatalf("the PBKDF2 file, wrong passphrase: %v", err)
	}
}

// TestV3RefusesTampering: a changed byte of the ciphertext or the MAC, or
// another salt, is a wrong passphrase to both (the MAC covers them), never
// another key.
func TestV3RefusesTampering(t *testing.T) {
	k := newV3Key(t)
	blob, err := encryptV3(k, uuid.New(), "pw", LightScrypt.N, LightScrypt.P)
	if err != nil {
		t.Fatal(err)
	}
	var f v3File
	if err := json.Unmarshal(blob, &f); err != nil {
		t.Fatal(err)
	}
	flip := func(h string) string {
		b, _ := hex.DecodeString(h)
		b[len(b)/2] ^= 1
		return hex.EncodeToString(b)
	}
	for name, mut := range map[string]func(*v3File){
		"ciphertext": func(f *v3File) { f.Crypto.CipherText = flip(f.Crypto.CipherText) },
		"mac":        func(f *v3File) { f.Crypto.MAC = flip(f.Crypto.MAC) },
		"salt":       func(f *v3File) { f.Crypto.KDFParams["salt"] = flip(f.Crypto.KDFParams["salt"].(string)) },
	} {
		g := f
		g.Crypto.KDFParams = map[string]any{}
		for k, v := range f.Crypto.KDFParams {
			g.Crypto.KDFParams[k] = v
		}
		mut(&g)
		b, _ := json.Marshal(g)
		if _, _, err := decryptV3(b, "pw"); !errors.Is(err, errV3Decrypt) {
			t.Errorf("%s changed: ours %v", name, err)
		}
		if _, err := keystore.DecryptKey(b, "pw"); !errors.Is(err, keystore.ErrDecrypt) {
			t.Errorf("%s changed: go-ethereum %v", name, err)
		}
	}
}

// FuzzV3Decrypt: on any file, ours opens it only if go-ethereum opens it,
// to the same key and id; and what go-ethereum opens, ours opens, except
// the malformed parameters ours refuses where go-ethereum truncates (a
// fractional number) or panics, and the version 1 files ours does not
// read. Costly KDF parameters are not run. Seeds:
// testdata/fuzz/FuzzV3Decrypt (an scrypt and a PBKDF2 file, both with
// passphrase "pw", and corruptions of them).
func FuzzV3Decrypt(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, pass string) {
		if costly(data) {
			return
		}
		ours, oid, oerr := decryptV3(data, pass)
		geth, gerr := gethDecrypt(data, pass)
		switch {
		case oerr == nil && gerr != nil:
			t.Fatalf("ours opened a file go-ethereum refuses (%v)", gerr)
		case oerr == nil && (!keysEqual(geth, ours) || geth.Id != oid):
			t.Fatalf("ours opened %s id %s, go-ethereum %s id %s", ours.Address().Hex(), oid, geth.Address.Hex(), geth.Id)
		case oerr != nil && gerr == nil && !strings.Contains(oerr.Error(), "want"):
			t.Fatalf("go-ethereum opened a file ours refuses: %v", oerr)
		case errors.Is(oerr, errV3Decrypt) && !errors.Is(gerr, keystore.ErrDecrypt):
			t.Fatalf("ours says wrong passphrase, go-ethereum %v", gerr)
		case errors.Is(gerr, keystore.ErrDecrypt) && oerr != nil && !errors.Is(oerr, errV3Decrypt) && !strings.Contains(oerr.Error(), "version 1") && !strings.Contains(oerr.Error(), "want"):
			t.Fatalf("go-ethereum says wrong passphrase, ours %v", oerr)
		}
	})
}

// costly: a file whose KDF would take a fuzz run long (scrypt n·r·p over
// 2^14, PBKDF2 over 2000 rounds, a derived key over 1 KiB).
func costly(data []byte) bool {
	var f struct {
		Crypto struct {
			KDFParams map[string]any `json:"kdfparams"`
		} `json:"crypto"`
	}
	if json.Unmarshal(data, &f) != nil {
		return false
	}
	num := func(k string) float64 { v, _ := f.Crypto.KDFParams[k].(float64); return v }
	n, r, p := num("n"), num("r"), num("p")
	return n*max(r, 1)*max(p, 1) > 1<<14 || num("c") > 2000 || num("dklen") > 1024 || n < 0 || r < 0 || p < 0
}

// pbkdf2File is a v3 file sealed with PBKDF2-HMAC-SHA256 (c rounds), laid
// out as the Web3 Secret Storage definition's PBKDF2 test vector is.
func pbkdf2File(t testing.TB, k *keys.PrivateKey, pass string, c int) []byte {
	salt, iv := make([]byte, 32), make([]byte, 16)
	rand.Read(salt)
	rand.Read(iv)
	dk, err := pbkdf2.Key(sha256.New, pass, salt, c, 32)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := aesCTR(dk[:16], iv, crypto.FromECDSA(k.ECDSA()))
	if err != nil {
		t.Fatal(err)
	}
	addr := k.Address()
	b, err := json.Marshal(v3File{Address: hex.EncodeToString(addr[:]), ID: uuid.New().String(), Version: 3, Crypto: v3Crypto{
		Cipher: v3Cipher, CipherText: hex.EncodeToString(ct), CipherParams: v3CipherParams{IV: hex.EncodeToString(iv)},
		KDF: v3KDFPBKDF2, KDFParams: map[string]any{"c": c, "dklen": 32, "prf": "hmac-sha256", "salt": hex.EncodeToString(salt)},
		MAC: hex.EncodeToString(crypto.Keccak256(dk[16:32], ct)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keysEqual(g *keystore.Key, k *keys.PrivateKey) bool {
	return g != nil && k != nil && g.PrivateKey.D.Cmp(k.ECDSA().D) == 0 && g.Address == k.Address()
}

// shape is a key file with every hex value and the id blanked: its
// members, their order and the KDF parameters.
func shape(t *testing.T, blob []byte) string {
	t.Helper()
	return blankHex.ReplaceAllString(string(blob), `""`)
}

var blankHex = regexp.MustCompile(`"[0-9a-f-]{32,}"`)

var updateV3Seeds = flag.Bool("update-v3-seeds", false, "rewrite testdata/fuzz/FuzzV3Decrypt")

// TestV3Seeds writes FuzzV3Decrypt's seed corpus with -update-v3-seeds
// (go test -run TestV3Seeds -update-v3-seeds ./internal/wallet): an scrypt
// file (n = 2^10) and a PBKDF2 file, passphrase "pw", each as it is, with
// the wrong passphrase, and with one member broken each way the decoder
// checks. Without the flag it checks the corpus is there.
func TestV3Seeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzV3Decrypt")
	if !*updateV3Seeds {
		if es, err := os.ReadDir(dir); err != nil || len(es) < 10 {
			t.Fatalf("the seed corpus %s is missing: %v", dir, err)
		}
		return
	}
	k := newV3Key(t)
	sc, err := encryptV3(k, uuid.New(), "pw", 1<<10, 1)
	if err != nil {
		t.Fatal(err)
	}
	pb := pbkdf2File(t, k, "pw", 1000)
	edit := func(blob []byte, f func(m map[string]any, c map[string]any, kp map[string]any)) []byte {
		var m map[string]any
		json.Unmarshal(blob, &m)
		c := m["crypto"].(map[string]any)
		f(m, c, c["kdfparams"].(map[string]any))
		b, _ := json.Marshal(m)
		return b
	}
	seeds := map[string]struct {
		data []byte
		pass string
	}{
		"scrypt":          {sc, "pw"},
		"scrypt-wrong-pw": {sc, "px"},
		"pbkdf2":          {pb, "pw"},
		"pbkdf2-wrong-pw": {pb, "pw "},
		"version-1":       {edit(sc, func(m, c, kp map[string]any) { m["version"] = "1" }), "pw"},
		"version-4":       {edit(sc, func(m, c, kp map[string]any) { m["version"] = 4 }), "pw"},
		"cipher":          {edit(sc, func(m, c, kp map[string]any) { c["cipher"] = "aes-128-cbc" }), "pw"},
		"short-iv":        {edit(sc, func(m, c, kp map[string]any) { c["cipherparams"] = map[string]any{"iv": "00"} }), "pw"},
		"dklen-16":        {edit(sc, func(m, c, kp map[string]any) { kp["dklen"] = 16 }), "pw"},
		"n-fraction":      {edit(sc, func(m, c, kp map[string]any) { kp["n"] = 1024.5 }), "pw"},
		"n-string":        {edit(sc, func(m, c, kp map[string]any) { kp["n"] = "1024" }), "pw"},
		"kdf":             {edit(sc, func(m, c, kp map[string]any) { c["kdf"] = "argon2" }), "pw"},
		"prf":             {edit(pb, func(m, c, kp map[string]any) { kp["prf"] = "hmac-sha512" }), "pw"},
		"id":              {edit(sc, func(m, c, kp map[string]any) { m["id"] = "not-a-uuid" }), "pw"},
		"mac-hex":         {edit(sc, func(m, c, kp map[string]any) { c["mac"] = "zz" }), "pw"},
		"short-secret":    {edit(sc, func(m, c, kp map[string]any) { c["ciphertext"] = c["ciphertext"].(string)[:62] }), "pw"},
		"not-json":        {[]byte(`{"version":3,`), "pw"},
	}
	os.MkdirAll(dir, 0o755)
	for name, s := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nstring(%q)\n", s.data, s.pass)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
