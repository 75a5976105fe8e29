package wallet

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"

	"github.com/camchain/camchain/internal/keys"
)

const testPass = "correct horse battery staple"

func testKey(t *testing.T, pass string) *keys.PrivateKey {
	t.Helper()
	k, err := DeriveKey(art24, pass)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func lightStore(t *testing.T) *Keystore {
	t.Helper()
	return NewKeystore(filepath.Join(t.TempDir(), "keystore"), LightScrypt)
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestKeystoreSaveLoad(t *testing.T) {
	ks := lightStore(t)
	k := testKey(t, testPass)
	if ks.Exists() {
		t.Fatal("Exists before Save")
	}
	path, err := ks.Save(k, testPass)
	if err != nil {
		t.Fatal(err)
	}
	if !ks.Exists() {
		t.Fatal("not Exists after Save")
	}

	// geth's file name, in the directory, alone (no temporary left over).
	name := filepath.Base(path)
	re := regexp.MustCompile(`^UTC--\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{9}Z--` + strings.ToLower(k.Address().Hex()[2:]) + `$`)
	if !re.MatchString(name) || filepath.Dir(path) != ks.Dir {
		t.Errorf("key file path = %s", path)
	}
	if got := dirNames(t, ks.Dir); len(got) != 1 || got[0] != name {
		t.Errorf("directory holds %v, want only %s", got, name)
	}

	// Permissions: the directory 0700, the file 0600.
	if fi, _ := os.Stat(ks.Dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %v, want 0700", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v, want 0600", fi.Mode().Perm())
	}

	// The file is Web3 Secret Storage v3 with scrypt and the light cost.
	raw, _ := os.ReadFile(path)
	var f struct {
		Address string `json:"address"`
		ID      string `json:"id"`
		Version int    `json:"version"`
		Crypto  struct {
			Cipher    string         `json:"cipher"`
			KDF       string         `json:"kdf"`
			KDFParams map[string]any `json:"kdfparams"`
		} `json:"crypto"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if f.Version != 3 || f.Crypto.KDF != "scrypt" || f.Crypto.Cipher != "aes-128-ctr" ||
		f.Crypto.KDFParams["n"] != float64(LightScrypt.N) || f.Crypto.KDFParams["p"] != float64(LightScrypt.P) ||
		f.Address != strings.ToLower(k.Address().Hex()[2:]) {
		t.Errorf("key file = %s", raw)
	}
	if id, err := uuid.Parse(f.ID); err != nil || id.Version() != 4 {
		t.Errorf("id %q is not a random UUID", f.ID)
	}
	if strings.Contains(string(raw), testPass) {
		t.Error("key file contains the passphrase")
	}

	// Address needs no passphrase; Load gives back the same key.
	addr, err := ks.Address()
	if err != nil || addr != k.Address() {
		t.Errorf("Address() = %s, %v; want %s", addr.Hex(), err, k.Address().Hex())
	}
	got, err := ks.Load(testPass)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(k) {
		t.Error("Load returned a different key")
	}
}

func TestKeystoreStandardScrypt(t *testing.T) {
	ks := &Keystore{Dir: t.TempDir()} // zero cost fields mean DefaultScrypt
	k := testKey(t, testPass)
	path, err := ks.Save(k, testPass)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if !strings.Contains(string(raw), `"n":262144`) || DefaultScrypt.N != 1<<18 || DefaultScrypt.P != 1 {
		t.Errorf("file not sealed with N=2^18: %s", raw)
	}
	got, err := ks.Load(testPass)
	if err != nil || !got.Equal(k) {
		t.Fatalf("Load = %v, %v", got, err)
	}
}

func TestKeystoreNeverOverwrites(t *testing.T) {
	ks := lightStore(t)
	first := testKey(t, testPass)
	path, err := ks.Save(first, testPass)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)

	_, err = ks.Save(testKey(t, "another passphrase"), "another passphrase")
	if !errors.Is(err, ErrKeystoreExists) {
		t.Fatalf("second Save err = %v, want ErrKeystoreExists", err)
	}
	for _, want := range []string{ks.Dir, first.Address().Hex(), "--keystore"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) || len(dirNames(t, ks.Dir)) != 1 {
		t.Error("second Save changed the directory")
	}
}

func TestKeystoreErrors(t *testing.T) {
	k := testKey(t, testPass)
	tests := []struct {
		name    string
		setup   func(t *testing.T, ks *Keystore)
		pass    string
		wantErr error
		wantMsg []string
	}{
		{
			name:    "missing directory",
			setup:   func(*testing.T, *Keystore) {},
			pass:    testPass,
			wantErr: ErrNoKeystore,
			wantMsg: []string{"camchain wallet new", "camchain wallet restore"},
		},
		{
			name:    "empty directory",
			setup:   func(t *testing.T, ks *Keystore) { os.MkdirAll(ks.Dir, 0o700) },
			pass:    testPass,
			wantErr: ErrNoKeystore,
		},
		{
			name: "only hidden and backup files",
			setup: func(t *testing.T, ks *Keystore) {
				os.MkdirAll(ks.Dir, 0o700)
				os.WriteFile(filepath.Join(ks.Dir, ".tmp-123"), []byte("x"), 0o600)
				os.WriteFile(filepath.Join(ks.Dir, "key~"), []byte("x"), 0o600)
			},
			pass:    testPass,
			wantErr: ErrNoKeystore,
		},
		{
			name:    "wrong passphrase",
			setup:   func(t *testing.T, ks *Keystore) { mustSave(t, ks, k, testPass) },
			pass:    "correct horse battery stapler",
			wantErr: ErrWrongPassphrase,
			wantMsg: []string{"wrong passphrase for keystore " + k.Address().Hex()},
		},
		{
			name:    "wrong non-ASCII passphrase",
			setup:   func(t *testing.T, ks *Keystore) { mustSave(t, ks, k, testPass) },
			pass:    "pässwörd",
			wantErr: ErrWrongPassphrase,
		},
		{
			name: "two key files",
			setup: func(t *testing.T, ks *Keystore) {
				mustSave(t, ks, k, testPass)
				os.WriteFile(filepath.Join(ks.Dir, "UTC--other"), []byte("{}"), 0o600)
			},
			pass:    testPass,
			wantErr: ErrMultipleKeys,
			wantMsg: []string{"UTC--other", "one key per directory"},
		},
		{
			name: "address field does not match the key",
			setup: func(t *testing.T, ks *Keystore) {
				path := mustSave(t, ks, k, testPass)
				raw, _ := os.ReadFile(path)
				var m map[string]any
				json.Unmarshal(raw, &m)
				m["address"] = "00000000000000000000000000000000000000aa"
				raw, _ = json.Marshal(m)
				os.WriteFile(path, raw, 0o600)
			},
			pass:    testPass,
			wantMsg: []string{"holds the key of " + k.Address().Hex() + " but is labelled 0x"},
		},
		{
			name: "not JSON",
			setup: func(t *testing.T, ks *Keystore) {
				os.MkdirAll(ks.Dir, 0o700)
				os.WriteFile(filepath.Join(ks.Dir, "UTC--junk"), []byte("hello"), 0o600)
			},
			pass:    testPass,
			wantMsg: []string{"not valid keystore JSON"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks := lightStore(t)
			tt.setup(t, ks)
			_, err := ks.Load(tt.pass)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			for _, m := range tt.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			if strings.Contains(err.Error(), tt.pass) {
				t.Errorf("error %q contains the passphrase", err)
			}
		})
	}
}

func mustSave(t *testing.T, ks *Keystore, k *keys.PrivateKey, pass string) string {
	t.Helper()
	path, err := ks.Save(k, pass)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestKeystoreSaveRefusals(t *testing.T) {
	ks := lightStore(t)
	if _, err := ks.Save(testKey(t, ""), ""); !errors.Is(err, ErrEmptyPassphrase) {
		t.Errorf("empty passphrase: err = %v", err)
	}
	if _, err := ks.Save(nil, testPass); err == nil {
		t.Error("nil key saved")
	}
	if got := dirNames(t, ks.Dir); len(got) != 0 {
		t.Errorf("refused Save left %v", got)
	}
	if _, err := os.Stat(ks.Dir); !os.IsNotExist(err) {
		t.Error("refused Save created the directory")
	}
}

// TestKeystorePassphraseForms: Save seals with the NFKD form, so any
// canonically-equivalent spelling unlocks it; files sealed by tools that use
// the passphrase as typed (geth) or NFKC (ethers) also load.
func TestKeystorePassphraseForms(t *testing.T) {
	composed, decomposed := "caf\u00e9 crème", "cafe\u0301 cre\u0300me"
	k := testKey(t, composed)

	ks := lightStore(t)
	mustSave(t, ks, k, composed)
	for _, p := range []string{composed, decomposed} {
		if got, err := ks.Load(p); err != nil || !got.Equal(k) {
			t.Errorf("Load(%+q) = %v", p, err)
		}
	}

	// A geth-made file sealed with the composed bytes (no normalisation).
	gethStore := lightStore(t)
	blob, err := keystore.EncryptKey(&keystore.Key{Id: uuid.New(), Address: k.Address(), PrivateKey: k.ECDSA()},
		composed, LightScrypt.N, LightScrypt.P)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(gethStore.Dir, 0o700)
	os.WriteFile(filepath.Join(gethStore.Dir, keyFileName(k.Address(), mustTime("2024-01-02T03:04:05.123456789Z"))), blob, 0o600)
	if got, err := gethStore.Load(composed); err != nil || !got.Equal(k) {
		t.Errorf("geth-style file: Load = %v", err)
	}
}

func TestPasswordForms(t *testing.T) {
	if got := passwordForms("ascii only"); len(got) != 1 {
		t.Errorf("ASCII passphrase tries %d forms, want 1", len(got))
	}
	got := passwordForms("caf\u00e9")
	want := []string{"cafe\u0301", "caf\u00e9"}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("passwordForms = %+q, want %+q", got, want)
	}
}

// Export of an ASCII passphrase's keystore is the key file itself; a wrong
// passphrase exports nothing; a non-ASCII one is sealed afresh under NFC,
// which camchain's own Load still opens.
func TestExport(t *testing.T) {
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	for _, pass := range []string{"plain ascii", "cafe\u0301 na\u00efve"} {
		ks := NewKeystore(t.TempDir(), LightScrypt)
		path, err := ks.Save(k, pass)
		if err != nil {
			t.Fatal(err)
		}
		file, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ks.Export(pass)
		if err != nil {
			t.Fatal(err)
		}
		if ascii := pass == "plain ascii"; ascii != bytes.Equal(got, file) {
			t.Errorf("%q: export equals the key file: %v", pass, !ascii)
		}
		other := NewKeystore(t.TempDir(), LightScrypt)
		if err := os.WriteFile(filepath.Join(other.Dir, "UTC--exported"), got, 0o600); err != nil {
			t.Fatal(err)
		}
		if back, err := other.Load(norm.NFC.String(pass)); err != nil || !back.Equal(k) {
			t.Errorf("%q: the export does not open with the passphrase as typed: %v", pass, err)
		}
		if _, err := ks.Export(pass + "!"); !errors.Is(err, ErrWrongPassphrase) {
			t.Errorf("%q: export with a wrong passphrase: %v", pass, err)
		}
	}
}
