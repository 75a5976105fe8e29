package wallet

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/tyler-smith/go-bip39"
)

// FuzzValidateMnemonic checks ValidateMnemonic against go-bip39 as a naive
// reference on the normalised phrase, and that an accepted phrase round-trips
// through its entropy. Seeds live in testdata/fuzz/FuzzValidateMnemonic.
func FuzzValidateMnemonic(f *testing.F) {
	f.Add(art24)
	f.Add(strings.Repeat("abandon ", 24))
	f.Add(strings.Repeat("zoo ", 23) + "vote")
	f.Fuzz(func(t *testing.T, in string) {
		err := ValidateMnemonic(in)
		canon := normalizeMnemonic(in)
		words := strings.Fields(canon)

		// Agreement with the reference decoder.
		_, refErr := bip39.EntropyFromMnemonic(canon)
		refOK := refErr == nil && len(words) == MnemonicWords
		if (err == nil) != refOK {
			t.Fatalf("ValidateMnemonic(%q) = %v, reference says valid=%v (%v)", in, err, refOK, refErr)
		}
		if err == nil {
			entropy, derr := decodeWords(words)
			if derr != nil {
				t.Fatal(derr)
			}
			again, eerr := encodeMnemonic(entropy)
			if eerr != nil || again != canon {
				t.Fatalf("round trip: %q -> %x -> %q (%v)", canon, entropy, again, eerr)
			}
			return
		}

		// Every failure is one of the three named kinds.
		var wc *WordCountError
		var uw *UnknownWordError
		switch {
		case errors.As(err, &wc):
			if wc.Got != len(words) {
				t.Fatalf("WordCountError.Got = %d, phrase has %d words", wc.Got, len(words))
			}
		case errors.As(err, &uw):
			if uw.Index < 1 || uw.Index > len(words) {
				t.Fatalf("UnknownWordError.Index = %d of %d words", uw.Index, len(words))
			}
			if _, ok := englishIndex()[words[uw.Index-1]]; ok {
				t.Fatalf("word %d %q is in the list but reported unknown", uw.Index, words[uw.Index-1])
			}
		case errors.Is(err, ErrChecksum):
		default:
			t.Fatalf("unexpected error kind %T: %v", err, err)
		}

		// An error message never carries the phrase.
		msg := err.Error()
		if len(msg) > 160 {
			t.Fatalf("error message is %d bytes long: %q", len(msg), msg)
		}
		if len(words) == MnemonicWords && strings.Contains(msg, canon) {
			t.Fatalf("error message repeats the phrase: %q", msg)
		}
	})
}

// FuzzEncodeMnemonic checks the encoder against go-bip39 and that decoding
// returns the entropy, for every valid entropy length.
func FuzzEncodeMnemonic(f *testing.F) {
	f.Add(make([]byte, 32))
	f.Add(bytes.Repeat([]byte{0xff}, 16))
	f.Add(bytes.Repeat([]byte{0x7f}, 24))
	f.Fuzz(func(t *testing.T, entropy []byte) {
		got, err := encodeMnemonic(entropy)
		want, refErr := bip39.NewMnemonic(entropy)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("encode %x: err %v, reference err %v", entropy, err, refErr)
		}
		if err != nil {
			return
		}
		if got != want {
			t.Fatalf("encode %x = %q, reference %q", entropy, got, want)
		}
		back, err := decodeWords(strings.Fields(got))
		if err != nil || !bytes.Equal(back, entropy) {
			t.Fatalf("decode(encode(%x)) = %x, %v", entropy, back, err)
		}
	})
}
