package wallet

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/tyler-smith/go-bip39/wordlists"
)

// vector is one BIP-39 reference vector: entropy, mnemonic, seed (with the
// passphrase "TREZOR") and BIP-32 master xprv.
type vector struct {
	Entropy, Mnemonic, Seed, XPrv string
}

func loadVectors(t *testing.T) (passphrase string, vs []vector) {
	t.Helper()
	raw, err := os.ReadFile("testdata/bip39_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Passphrase string
		English    [][4]string
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	for _, v := range f.English {
		vs = append(vs, vector{v[0], v[1], v[2], v[3]})
	}
	if len(vs) != 24 || f.Passphrase != "TREZOR" {
		t.Fatalf("testdata: got %d vectors with passphrase %q, want the 24 English TREZOR vectors", len(vs), f.Passphrase)
	}
	return f.Passphrase, vs
}

// art24 is the 24-word phrase of 32 zero bytes of entropy.
var art24 = strings.Repeat("abandon ", 23) + "art"

func TestEncodeDecodeVectors(t *testing.T) {
	_, vs := loadVectors(t)
	for _, v := range vs {
		entropy, _ := hex.DecodeString(v.Entropy)
		got, err := encodeMnemonic(entropy)
		if err != nil || got != v.Mnemonic {
			t.Errorf("encode %s = %q, %v; want %q", v.Entropy, got, err, v.Mnemonic)
		}
		back, err := decodeWords(strings.Fields(v.Mnemonic))
		if err != nil || !bytes.Equal(back, entropy) {
			t.Errorf("decode %q = %x, %v; want %s", v.Mnemonic, back, err, v.Entropy)
		}
	}
}

func TestNewMnemonic(t *testing.T) {
	seen := map[string]bool{}
	for range 20 {
		m, err := NewMnemonic()
		if err != nil {
			t.Fatal(err)
		}
		if n := len(strings.Split(m, " ")); n != MnemonicWords {
			t.Fatalf("NewMnemonic gave %d words, want %d", n, MnemonicWords)
		}
		if err := ValidateMnemonic(m); err != nil {
			t.Fatalf("NewMnemonic gave a phrase that does not validate: %v", err)
		}
		if normalizeMnemonic(m) != m {
			t.Fatal("NewMnemonic output is not in canonical form")
		}
		entropy, _ := decodeWords(strings.Fields(m))
		if len(entropy) != 32 {
			t.Fatalf("entropy is %d bytes, want 32", len(entropy))
		}
		if seen[m] {
			t.Fatal("NewMnemonic repeated a phrase")
		}
		seen[m] = true
	}
}

func TestValidateMnemonic(t *testing.T) {
	words := strings.Fields(art24)
	replace := func(i int, w string) string {
		c := slices.Clone(words)
		c[i] = w
		return strings.Join(c, " ")
	}
	// "legal winner … title" is valid; swapping two different words breaks
	// the checksum while every word stays in the list.
	legal := strings.Fields("legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth title")
	swapped := slices.Clone(legal)
	swapped[0], swapped[1] = swapped[1], swapped[0]

	tests := []struct {
		name      string
		in        string
		wantCount int    // >0: want *WordCountError{Got: wantCount}; -1 for Got 0
		wantIndex int    // >0: want *UnknownWordError at this index
		wantWord  string // with wantIndex
		wantSugg  string // with wantIndex
		wantSum   bool   // want ErrChecksum
		wantMsg   string // substring of the error message
	}{
		{name: "valid", in: art24},
		{name: "valid legal", in: strings.Join(legal, " ")},
		{name: "upper case and messy spaces", in: "  ABANDON\tabandon\n" + strings.Repeat("Abandon  ", 21) + "ART \r\n"},
		{name: "fullwidth letters (NFKD)", in: strings.Repeat("abandon ", 23) + "ａｒｔ"},
		{name: "ideographic space separator", in: strings.ReplaceAll(art24, " ", "\u3000")},
		{name: "empty", in: "", wantCount: -1, wantMsg: "got 0 words, want 24"},
		{name: "23 words", in: strings.Repeat("abandon ", 22) + "art", wantCount: 23, wantMsg: "got 23 words, want 24"},
		{name: "25 words", in: art24 + " art", wantCount: 25, wantMsg: "got 25 words, want 24"},
		{name: "valid 12-word phrase is refused", in: strings.Repeat("abandon ", 11) + "about", wantCount: 12, wantMsg: "got 12 words, want 24"},
		{name: "typo", in: replace(6, "abandn"), wantIndex: 7, wantWord: "abandn", wantSugg: "abandon",
			wantMsg: `word 7 "abandn" is not in the BIP-39 English list (did you mean "abandon"?)`},
		{name: "typo in last word", in: replace(23, "arrt"), wantIndex: 24, wantWord: "arrt", wantSugg: "art"},
		{name: "four-letter prefix", in: replace(0, "aban"), wantIndex: 1, wantWord: "aban", wantSugg: "abandon"},
		{name: "no close word", in: replace(2, "xylophone"), wantIndex: 3, wantWord: "xylophone", wantSugg: ""},
		{name: "digits", in: replace(4, "12345"), wantIndex: 5, wantWord: "12345"},
		{name: "accented word", in: replace(9, "ábandon"), wantIndex: 10, wantWord: "a\u0301bandon"},
		{name: "very long word is shortened", in: replace(1, strings.Repeat("z", 100)), wantIndex: 2,
			wantWord: strings.Repeat("z", maxShownWord) + "…"},
		{name: "all abandon: checksum", in: strings.Repeat("abandon ", 24), wantSum: true,
			wantMsg: "checksum mismatch: a word is wrong or words are out of order"},
		{name: "valid word in wrong place", in: replace(23, "zoo"), wantSum: true},
		{name: "swapped words", in: strings.Join(swapped, " "), wantSum: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateMnemonic(tt.in)
			var wc *WordCountError
			var uw *UnknownWordError
			switch {
			case tt.wantCount != 0:
				want := max(tt.wantCount, 0)
				if !errors.As(err, &wc) || wc.Got != want {
					t.Fatalf("err = %v, want WordCountError{Got: %d}", err, want)
				}
			case tt.wantIndex != 0:
				if !errors.As(err, &uw) || uw.Index != tt.wantIndex || uw.Word != tt.wantWord || (tt.wantSugg != "" && uw.Suggestion != tt.wantSugg) {
					t.Fatalf("err = %#v, want UnknownWordError{%d, %q, %q}", err, tt.wantIndex, tt.wantWord, tt.wantSugg)
				}
			case tt.wantSum:
				if !errors.Is(err, ErrChecksum) {
					t.Fatalf("err = %v, want ErrChecksum", err)
				}
			default:
				if err != nil {
					t.Fatalf("err = %v, want valid", err)
				}
				return
			}
			if tt.wantMsg != "" && err.Error() != tt.wantMsg {
				t.Errorf("message = %q, want %q", err.Error(), tt.wantMsg)
			}
			// The message never repeats more than one word of the phrase.
			if n := len(strings.Fields(normalizeMnemonic(tt.in))); n > 1 && strings.Contains(err.Error(), strings.Join(strings.Fields(normalizeMnemonic(tt.in))[:2], " ")) {
				t.Errorf("message %q repeats the phrase", err.Error())
			}
		})
	}
}

// DeriveKeyAddress is a test helper: the address for phrase and passphrase "p".
func DeriveKeyAddress(t *testing.T, phrase string) string {
	t.Helper()
	k, err := DeriveKey(phrase, "p")
	if err != nil {
		t.Fatal(err)
	}
	return k.Address().Hex()
}

func TestNormalisedPhrasesDeriveTheSameKey(t *testing.T) {
	want := DeriveKeyAddress(t, art24)
	for _, in := range []string{
		strings.ToUpper(art24),
		"\n" + strings.ReplaceAll(art24, " ", " \t ") + "\n",
		strings.Repeat("abandon ", 23) + "ａｒｔ",
	} {
		if got := DeriveKeyAddress(t, in); got != want {
			t.Errorf("DeriveKey(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestWordList(t *testing.T) {
	// The embedded list is BIP-39's file and go-bip39's list.
	if sum := sha256.Sum256([]byte(englishList)); hex.EncodeToString(sum[:]) != "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda" {
		t.Errorf("english.txt has SHA-256 %x, not BIP-39's", sum)
	}
	if !slices.Equal(english(), wordlists.English) {
		t.Error("the embedded list is not go-bip39's")
	}
	if len(wordlists.English) != 2048 {
		t.Fatalf("list has %d words", len(wordlists.English))
	}
	if !slices.IsSorted(wordlists.English) {
		t.Error("list is not sorted")
	}
	prefixes := map[string]string{}
	for _, w := range wordlists.English {
		p := w[:min(4, len(w))]
		if other, ok := prefixes[p]; ok {
			t.Errorf("%q and %q share the prefix %q", other, w, p)
		}
		prefixes[p] = w
	}
	// Spot checks that follow from the spec's vectors: entropy 00… starts
	// with word 0, ff… with word 2047, 7f7f… with 0b01111111011 = 1019.
	for i, w := range map[int]string{0: "abandon", 1019: "legal", 2047: "zoo"} {
		if wordlists.English[i] != w {
			t.Errorf("word %d = %q, want %q", i, wordlists.English[i], w)
		}
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct{ in, want string }{
		{"abandn", "abandon"},
		{"abando", "abandon"},
		{"zo", "zoo"},
		{"zooo", "zoo"},
		{"wrnog", ""}, // two words at the same distance: no guess
		{"qqqqqqqq", ""},
		{strings.Repeat("a", 40), ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.in); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
