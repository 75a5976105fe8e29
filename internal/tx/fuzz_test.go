package tx

import (
	"bytes"
	"crypto/sha256"
	"testing"
)

func sha256sum(b []byte) [32]byte { return sha256.Sum256(b) }

// FuzzDecode: Decode never panics, and whatever it accepts re-encodes to
// exactly the input (one transaction, one byte string) and has
// well-formed signers. Seeds: testdata/fuzz/FuzzDecode (from the vectors).
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Decode(b)
		if err != nil {
			return
		}
		again, err := got.Encode()
		if err != nil {
			t.Fatalf("accepted input does not re-encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("accepted a non-canonical encoding:\n in  %x\n out %x", b, again)
		}
		if len(got.Sigs) != SignerCount(got.Msg.Type()) {
			t.Fatalf("accepted %d signatures for %s", len(got.Sigs), got.Msg.Type())
		}
		// Digest must work on anything Decode accepts.
		if _, err := Digest(got.EVMChainID, got.Msg); err != nil {
			t.Fatalf("digest of an accepted tx: %v", err)
		}
	})
}
