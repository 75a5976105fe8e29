package wallet_test

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tyler-smith/go-bip39/wordlists"
	"golang.org/x/text/unicode/norm"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/testutil/interop"
	"github.com/camchain/camchain/internal/wallet"
)

// These tests prove interoperability with ethers, an independent
// implementation run by internal/testutil/interop. They never skip: without
// test/interop/node_modules they fail and say how to install it.

type ethersReq struct {
	Op         string  `json:"op"`
	Mnemonic   string  `json:"mnemonic,omitempty"`
	Passphrase string  `json:"passphrase"`
	Message    *string `json:"message,omitempty"`
	MessageHex string  `json:"messageHex,omitempty"`
	Signature  string  `json:"signature,omitempty"`
}

type ethersResp struct {
	Address   string `json:"address"`
	Signature string `json:"signature"`
}

// interopPassphrases cover ASCII and the Unicode cases NFKD exists for.
var interopPassphrases = []struct{ name, pass string }{
	{"ascii", "correct horse battery staple"},
	{"latin accents", "pässwörd"},
	{"composed é", "caf\u00e9 au lait"},
	{"decomposed é", "cafe\u0301 au lait"},
	{"japanese", "パスワード日本語テスト"},
	{"halfwidth katakana", "ﾊﾟｽﾜｰﾄﾞ"},
	{"emoji and symbols", "🔐 ½ ﬁsh ™"},
	{"leading and trailing spaces", "  spaced  "},
}

func interopMnemonics(t *testing.T) []string {
	t.Helper()
	ms := []string{strings.Repeat("abandon ", 23) + "art"}
	for range 4 {
		m, err := wallet.NewMnemonic()
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

func TestInteropAddress(t *testing.T) {
	type pair struct {
		mnemonic, pass, name string
		addr                 keys.Address
	}
	var pairs []pair
	var reqs []ethersReq
	for _, m := range interopMnemonics(t) {
		for _, p := range interopPassphrases {
			k, err := wallet.DeriveKey(m, p.pass)
			if err != nil {
				t.Fatal(err)
			}
			pairs = append(pairs, pair{m, p.pass, p.name, k.Address()})
			reqs = append(reqs, ethersReq{Op: "address", Mnemonic: m, Passphrase: p.pass})
		}
	}
	var resps []ethersResp
	interop.Ethers(t, reqs, &resps)
	if len(resps) != len(reqs) {
		t.Fatalf("ethers answered %d of %d requests", len(resps), len(reqs))
	}
	for i, p := range pairs {
		if resps[i].Address != p.addr.Hex() {
			t.Errorf("mnemonic %d…, passphrase %s: camchain %s, ethers %s", i/len(interopPassphrases), p.name, p.addr.Hex(), resps[i].Address)
		}
	}

	// NFKD: both implementations give composed and decomposed spellings
	// (and halfwidth/fullwidth katakana) one address.
	for _, eq := range [][2]string{{"caf\u00e9 au lait", "cafe\u0301 au lait"}, {"ﾊﾟｽﾜｰﾄﾞ", "パスワード"}} {
		var r []ethersResp
		interop.Ethers(t, []ethersReq{
			{Op: "address", Mnemonic: pairs[0].mnemonic, Passphrase: eq[0]},
			{Op: "address", Mnemonic: pairs[0].mnemonic, Passphrase: eq[1]},
		}, &r)
		a, _ := wallet.DeriveKey(pairs[0].mnemonic, eq[0])
		b, _ := wallet.DeriveKey(pairs[0].mnemonic, eq[1])
		if r[0].Address != r[1].Address || a.Address() != b.Address() || a.Address().Hex() != r[0].Address {
			t.Errorf("%+q vs %+q: ethers %s/%s, camchain %s/%s", eq[0], eq[1], r[0].Address, r[1].Address, a.Address().Hex(), b.Address().Hex())
		}
	}
}

var interopMessages = []struct {
	name string
	msg  []byte
}{
	{"ascii", []byte("hello camchain")},
	{"empty", []byte{}},
	{"unicode", []byte("héllo wörld ✓ 日本")},
	{"multi-line", []byte("camchain login\nnonce: 42\r\nexpires: 2030-01-01T00:00:00Z\n")},
	{"long", []byte(strings.Repeat("0123456789", 100))},
	{"binary", []byte{0x00, 0xff, 0x19, 0x45, 0x80, 0x00}},
}

// messageFields sends valid UTF-8 as text, so ethers' string path is used,
// and anything else as hex bytes.
func messageFields(msg []byte) (text *string, hexed string) {
	if utf8.Valid(msg) {
		s := string(msg)
		return &s, ""
	}
	return nil, "0x" + hex.EncodeToString(msg)
}

func TestInteropSignMessage(t *testing.T) {
	m, err := wallet.NewMnemonic()
	if err != nil {
		t.Fatal(err)
	}
	const pass = "pässwörd 🔐"
	k, err := wallet.DeriveKey(m, pass)
	if err != nil {
		t.Fatal(err)
	}

	var verifyReqs, signReqs []ethersReq
	var ours []keys.Signature
	for _, tm := range interopMessages {
		sig, err := k.SignText(tm.msg)
		if err != nil {
			t.Fatal(err)
		}
		ours = append(ours, sig)
		text, hx := messageFields(tm.msg)
		verifyReqs = append(verifyReqs, ethersReq{Op: "verifyMessage", Message: text, MessageHex: hx, Signature: sig.Hex()})
		signReqs = append(signReqs, ethersReq{Op: "signMessage", Mnemonic: m, Passphrase: pass, Message: text, MessageHex: hx})
	}

	// camchain signs, ethers recovers camchain's address.
	var verified []ethersResp
	interop.Ethers(t, verifyReqs, &verified)
	for i, tm := range interopMessages {
		if verified[i].Address != k.Address().Hex() {
			t.Errorf("%s: ethers recovered %s from camchain's signature, want %s", tm.name, verified[i].Address, k.Address().Hex())
		}
	}

	// ethers signs, camchain verifies. Both use RFC 6979 with low s, so the
	// signatures are byte-identical too.
	var signed []ethersResp
	interop.Ethers(t, signReqs, &signed)
	for i, tm := range interopMessages {
		if signed[i].Address != k.Address().Hex() {
			t.Errorf("%s: ethers derived %s, camchain %s", tm.name, signed[i].Address, k.Address().Hex())
		}
		sig, err := keys.ParseSignature(signed[i].Signature)
		if err != nil {
			t.Fatalf("%s: ethers signature %q: %v", tm.name, signed[i].Signature, err)
		}
		if err := keys.VerifyText(k.Address(), tm.msg, sig); err != nil {
			t.Errorf("%s: camchain rejects ethers' signature: %v", tm.name, err)
		}
		if sig != ours[i] {
			t.Errorf("%s: signatures differ: camchain %s, ethers %s", tm.name, ours[i].Hex(), sig.Hex())
		}
		// A signature over another message does not verify.
		if err := keys.VerifyText(k.Address(), append(slices.Clone(tm.msg), '!'), sig); !errors.Is(err, keys.ErrBadSignature) {
			t.Errorf("%s: signature verified for a different message (err %v)", tm.name, err)
		}
	}
}

func TestInteropWordList(t *testing.T) {
	var r struct {
		Words []string `json:"words"`
	}
	interop.Ethers(t, map[string]string{"op": "wordlist"}, &r)
	if !slices.Equal(r.Words, wordlists.English) {
		t.Fatal("camchain's BIP-39 English list differs from ethers'")
	}
}

// TestInteropKeystore: ethers opens a key file camchain wrote, and camchain
// opens one ethers wrote.
func TestInteropKeystore(t *testing.T) {
	for _, p := range []struct{ name, pass string }{
		{"ascii", "correct horse battery staple"},
		{"non-ascii", "caf\u00e9 pässwörd"},
	} {
		t.Run(p.name, func(t *testing.T) {
			m, _ := wallet.NewMnemonic()
			k, err := wallet.DeriveKey(m, p.pass)
			if err != nil {
				t.Fatal(err)
			}
			privHex := "0x" + hex.EncodeToString(k.ECDSA().D.FillBytes(make([]byte, 32)))

			// camchain → ethers. camchain seals with the NFKD bytes.
			ks := wallet.NewKeystore(filepath.Join(t.TempDir(), "ks"), wallet.LightScrypt)
			path, err := ks.Save(k, p.pass)
			if err != nil {
				t.Fatal(err)
			}
			blob, _ := os.ReadFile(path)
			var dec struct{ Address, PrivateKey string }
			interop.Ethers(t, map[string]string{
				"op": "decryptKeystore", "json": string(blob),
				"passwordHex": "0x" + hex.EncodeToString([]byte(norm.NFKD.String(p.pass))),
			}, &dec)
			if dec.Address != k.Address().Hex() || dec.PrivateKey != privHex {
				t.Errorf("ethers decrypted %s, want %s", dec.Address, k.Address().Hex())
			}

			// ethers → camchain, with ethers' own password handling.
			var enc struct{ JSON string }
			interop.Ethers(t, map[string]any{
				"op": "encryptKeystore", "privateKey": privHex, "password": p.pass, "scryptN": 4096,
			}, &enc)
			other := wallet.NewKeystore(t.TempDir(), wallet.LightScrypt)
			if err := os.WriteFile(filepath.Join(other.Dir, "UTC--from-ethers"), []byte(enc.JSON), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := other.Load(p.pass)
			if err != nil || !got.Equal(k) {
				t.Errorf("camchain could not load ethers' key file: %v", err)
			}
			if _, err := other.Load(p.pass + "x"); !errors.Is(err, wallet.ErrWrongPassphrase) {
				t.Errorf("wrong passphrase on ethers' file: err = %v", err)
			}
		})
	}
}
