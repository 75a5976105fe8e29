package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/camchain/camchain/internal/testutil/interop"
	"github.com/camchain/camchain/internal/wallet"
)

// TestWalletExportOpensInAnotherWallet: the exported file is a v3 keystore
// that an independent implementation (ethers, as MetaMask-like software
// wallets do) opens with the passphrase exactly as typed — a non-ASCII one
// included — to this wallet's address. It is written 0600 with a warning,
// never over an existing file, and not at all for a wrong passphrase.
func TestWalletExportOpensInAnotherWallet(t *testing.T) {
	t.Setenv("CAMCHAIN_HOME", t.TempDir())
	for _, pass := range []string{"correct horse battery", "caf\u00e9 p\u00e4ssw\u00f6rd"} {
		words, err := wallet.NewMnemonic()
		if err != nil {
			t.Fatal(err)
		}
		k, err := wallet.DeriveKey(words, pass)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		ks := filepath.Join(dir, "ks")
		if _, err := wallet.NewKeystore(ks, wallet.LightScrypt).Save(k, pass); err != nil {
			t.Fatal(err)
		}
		passFile := filepath.Join(dir, "pass")
		writeTestFile(t, passFile, pass+"\n")
		out := filepath.Join(dir, "metamask.json")
		r := runCLI("wallet", "export", "-o", out, "--keystore", ks, "--passphrase-file", passFile).must(t, 0, "WARNING: "+out+" holds your account's key")
		if strings.TrimSpace(r.stdout) != k.Address().Hex() || !strings.Contains(r.stderr, "MetaMask") {
			t.Errorf("export output: %q / %q", r.stdout, r.stderr)
		}
		st, err := os.Stat(out)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("exported file: %v %v", st, err)
		}
		blob, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var dec struct{ Address string }
		interop.Ethers(t, map[string]string{"op": "decryptKeystore", "json": string(blob), "password": pass}, &dec)
		if dec.Address != k.Address().Hex() {
			t.Errorf("passphrase %q: ethers opened the export as %s, want %s", pass, dec.Address, k.Address().Hex())
		}
		// Never over a file, never without -o, never for a wrong passphrase.
		runCLI("wallet", "export", "-o", out, "--keystore", ks, "--passphrase-file", passFile).must(t, 1, "must not exist")
		runCLI("wallet", "export", "--keystore", ks, "--passphrase-file", passFile).must(t, 2, "-o FILE")
		wrong := filepath.Join(dir, "wrong")
		writeTestFile(t, wrong, pass+"x\n")
		other := filepath.Join(dir, "other.json")
		runCLI("wallet", "export", "-o", other, "--keystore", ks, "--passphrase-file", wrong).must(t, 1, "passphrase")
		if _, err := os.Stat(other); err == nil {
			t.Error("a wrong passphrase still wrote a file")
		}
	}
}

// TestWalletRestoreSaysWhatItOwns: restoring with the original passphrase
// reports the cameras the address owns on the hub; a mistyped passphrase
// restores another, valid wallet, and restore says plainly that it owns
// nothing there.
func TestWalletRestoreSaysWhatItOwns(t *testing.T) {
	t.Setenv("CAMCHAIN_HOME", t.TempDir())
	h, url := startHub(t)
	dir := t.TempDir()
	words, err := wallet.NewMnemonic()
	if err != nil {
		t.Fatal(err)
	}
	const pass = "the original passphrase"
	k, err := wallet.DeriveKey(words, pass)
	if err != nil {
		t.Fatal(err)
	}
	imprint(t, url, h, testWallet{key: k})
	wordsFile := filepath.Join(dir, "words")
	writeTestFile(t, wordsFile, words+"\n")
	restore := func(name, pass, hubURL string) result {
		pf := filepath.Join(dir, name+".pass")
		writeTestFile(t, pf, pass+"\n")
		return runCLI("wallet", "restore", "--light-kdf", "--keystore", filepath.Join(dir, name), "--mnemonic-file", wordsFile,
			"--passphrase-file", pf, "--hub", hubURL)
	}
	r := restore("right", pass, url).must(t, 0, "owns 1 camera(s)")
	if strings.TrimSpace(r.stdout) != k.Address().Hex() || strings.Contains(r.stderr, "WARNING") {
		t.Errorf("restore with the right passphrase: %q / %q", r.stdout, r.stderr)
	}
	r = restore("typo", pass+".", url).must(t, 0, "owns no camera, may watch none, and has never acted on the ledger")
	if strings.TrimSpace(r.stdout) == k.Address().Hex() || !strings.Contains(r.stderr, "mistyped") {
		t.Errorf("restore with a mistyped passphrase: %q / %q", r.stdout, r.stderr)
	}
	restore("nohub", pass, "http://127.0.0.1:1").must(t, 0, "Could not ask the hub at http://127.0.0.1:1")
}

// writeTestFile writes a secret input file (mode 0600) or fails the test.
func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
