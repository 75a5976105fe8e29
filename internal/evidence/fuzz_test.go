package evidence

import (
	"bytes"
	"os"
	"testing"
	"time"
)

// FuzzDecodeBundle: Decode never panics and never allocates more than its
// bound (MaxDecodeAllocRatio × the input + MaxDecodeAllocFixed); whatever
// it accepts re-encodes to exactly the input (one bundle, one byte string);
// Verify never panics on it; and nothing verifies but the genuine vector
// bundles (version 1, version 3 with its validator-set history, and
// version 4 with revealed keys), untouched. Seeds: testdata/fuzz/FuzzDecodeBundle (the vector bundles,
// their corruptions and the attacks on the history, and the hostile
// shapes of hostileBundles).
func FuzzDecodeBundle(f *testing.F) {
	golden, err := os.ReadFile("testdata/bundle-v1.cbor")
	if err != nil {
		f.Fatal(err)
	}
	goldenV3, err := os.ReadFile("testdata/bundle-v3.cbor")
	if err != nil {
		f.Fatal(err)
	}
	goldenV4, err := os.ReadFile("testdata/bundle-v4.cbor")
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, bound := decodeAlloc(data), decodeAllocBound(len(data)); got > bound {
			t.Fatalf("Decode allocated %d bytes for %d bytes of input, over the bound of %d", got, len(data), bound)
		}
		b, err := Decode(data)
		if err != nil {
			return
		}
		again, err := b.Encode()
		if err != nil {
			t.Fatalf("accepted input does not re-encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("accepted a non-canonical encoding:\n in  %x\n out %x", data, again)
		}
		if _, err := Verify(b, Options{Now: now}); err == nil && !bytes.Equal(data, golden) && !bytes.Equal(data, goldenV3) && !bytes.Equal(data, goldenV4) {
			t.Fatalf("a bundle other than the genuine one verifies: %x", data)
		}
	})
}
