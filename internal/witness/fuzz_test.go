package witness_test

import (
	"crypto/ed25519"
	"testing"

	"github.com/camchain/camchain/internal/witness"
)

// FuzzParseBody: whatever ParseBody accepts, Body writes back identically.
// Seeds: testdata/fuzz/FuzzParseBody.
func FuzzParseBody(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		o, n, r, err := witness.ParseBody(s)
		if err != nil {
			return
		}
		if again := witness.Body(o, n, r); again != s {
			t.Fatalf("accepted %q, re-encodes as %q", s, again)
		}
	})
}

// FuzzParseKey: whatever ParseKey accepts re-encodes to the input.
// Seeds: testdata/fuzz/FuzzParseKey.
func FuzzParseKey(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		k, err := witness.ParseKey(s)
		if err != nil {
			return
		}
		if k.String() != s {
			t.Fatalf("accepted %q, re-encodes as %q", s, k.String())
		}
	})
}

// FuzzParseSignatureLines: a witness's answer never panics the parser,
// and no cosignature it yields verifies over a body it was not made for.
// Seeds: testdata/fuzz/FuzzParseSignatureLines.
func FuzzParseSignatureLines(f *testing.F) {
	k := witness.Key{Name: "witness.example/fuzz", Public: ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public().(ed25519.PublicKey)}
	f.Fuzz(func(t *testing.T, lines []byte) {
		cs, err := witness.ParseSignatureLines(lines, k)
		if err != nil {
			return
		}
		for _, c := range cs {
			if c.Verify(witness.Body("o", 1, [32]byte{})) == nil {
				t.Fatalf("a fuzzed cosignature verifies: %q", lines)
			}
		}
	})
}
