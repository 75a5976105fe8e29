package wallet

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/camchain/camchain/internal/keys"
)

// TestSeedAndMasterKeyVectors checks the BIP-39 seed and the BIP-32 master
// key against all 24 English reference vectors (12, 18 and 24 words).
func TestSeedAndMasterKeyVectors(t *testing.T) {
	pass, vs := loadVectors(t)
	for _, v := range vs {
		seed, err := bip39Seed(v.Mnemonic, pass)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(seed); got != v.Seed {
			t.Errorf("seed(%q) = %s, want %s", v.Mnemonic, got, v.Seed)
			continue
		}
		m, err := masterKey(seed)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.String(); got != v.XPrv {
			t.Errorf("master(%q) = %s, want %s", v.Mnemonic, got, v.XPrv)
		}
	}
}

// TestDeriveKnownAccounts checks the full path m/44'/60'/0'/0/0 against
// addresses every Ethereum developer has seen.
func TestDeriveKnownAccounts(t *testing.T) {
	tests := []struct {
		name, mnemonic, passphrase, addr, priv string
	}{
		{
			// Hardhat / Anvil / Foundry default account #0.
			name:     "hardhat test junk",
			mnemonic: "test test test test test test test test test test test junk",
			addr:     "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
			priv:     "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
		},
		{
			// The all-zero 12-word phrase, as MetaMask and ethers show it.
			name:     "abandon about",
			mnemonic: strings.Repeat("abandon ", 11) + "about",
			addr:     "0x9858EfFD232B4033E47d90003D41EC34EcaEda94",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := deriveAnyLength(tt.mnemonic, tt.passphrase)
			if err != nil {
				t.Fatal(err)
			}
			if got := k.Address().Hex(); got != tt.addr {
				t.Errorf("address = %s, want %s", got, tt.addr)
			}
			if tt.priv != "" {
				want, _ := hex.DecodeString(tt.priv)
				wk, err := keys.FromBytes(want)
				if err != nil {
					t.Fatal(err)
				}
				if !k.Equal(wk) {
					t.Error("private key differs from the published one")
				}
			}
			// The public API refuses these 12-word phrases.
			var wc *WordCountError
			if _, err := DeriveKey(tt.mnemonic, tt.passphrase); !errors.As(err, &wc) || wc.Got != 12 {
				t.Errorf("DeriveKey(12 words) err = %v, want WordCountError{12}", err)
			}
		})
	}
}

func TestDeriveKeyPassphrases(t *testing.T) {
	addr := func(pass string) keys.Address {
		t.Helper()
		k, err := DeriveKey(art24, pass)
		if err != nil {
			t.Fatal(err)
		}
		return k.Address()
	}
	// Ethereum-wide known value: "abandon ×23 art", no passphrase.
	if got := addr("").Hex(); got != "0xF278cF59F82eDcf871d630F28EcC8056f25C1cdb" {
		t.Errorf("abandon…art address = %s", got)
	}
	same := []struct{ name, a, b string }{
		{"composed vs decomposed é", "caf\u00e9", "cafe\u0301"},
		{"halfwidth vs fullwidth katakana", "ﾊﾟｽﾜｰﾄﾞ", "パスワード"},
		{"ligature vs letters", "\ufb01sh", "fish"},
	}
	for _, tt := range same {
		if addr(tt.a) != addr(tt.b) {
			t.Errorf("%s: different addresses, want the same (NFKD)", tt.name)
		}
	}
	different := []struct{ name, a, b string }{
		{"case matters", "Passphrase", "passphrase"},
		{"trailing space matters", "passphrase", "passphrase "},
		{"empty vs non-empty", "", "x"},
		{"accent matters", "cafe", "café"},
	}
	for _, tt := range different {
		if addr(tt.a) == addr(tt.b) {
			t.Errorf("%s: same address, want different", tt.name)
		}
	}
}

func TestDeriveKeyRejectsBadPhrases(t *testing.T) {
	var wc *WordCountError
	var uw *UnknownWordError
	if _, err := DeriveKey(strings.Repeat("abandon ", 23), "p"); !errors.As(err, &wc) {
		t.Errorf("23 words: err = %v", err)
	}
	if _, err := DeriveKey(strings.Repeat("abandon ", 23)+"artt", "p"); !errors.As(err, &uw) || uw.Index != 24 {
		t.Errorf("unknown word: err = %v", err)
	}
	if _, err := DeriveKey(strings.Repeat("abandon ", 24), "p"); !errors.Is(err, ErrChecksum) {
		t.Errorf("checksum: err = %v", err)
	}
}
