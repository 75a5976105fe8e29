package e2ee

import (
	"bytes"
	"errors"
	"testing"

	"github.com/camchain/camchain/internal/keys"
)

// FuzzParsePublicKey: a key that parses re-serialises to the same bytes;
// anything else is refused without panicking. Seeds: testdata/fuzz.
func FuzzParsePublicKey(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePublicKey(b)
		if err != nil {
			return
		}
		if !bytes.Equal(p.Bytes(), b) || !bytes.Equal(p.pk.Bytes(), b) {
			t.Fatalf("ParsePublicKey(%x) does not round-trip", b)
		}
	})
}

// FuzzFromSignature: any 65 bytes either make the account's viewing key —
// and then their canonical form is the account's valid signature, and
// every encoding of it gives the same key — or are refused.
func FuzzFromSignature(f *testing.F) {
	f.Fuzz(func(t *testing.T, account, sigBytes []byte) {
		if len(account) != 20 || len(sigBytes) != keys.SignatureSize {
			return
		}
		var a keys.Address
		copy(a[:], account)
		var sig keys.Signature
		copy(sig[:], sigBytes)
		vk, err := FromSignature(a, sig)
		if err != nil {
			return
		}
		canon, _ := canonicalSignature(sig)
		if keys.VerifyText(a, Message(a), canon) != nil {
			t.Fatal("accepted a signature whose canonical form does not verify")
		}
		again, err := FromSignature(a, canon)
		if err != nil || !again.Public().Equal(vk.Public()) {
			t.Fatal("the canonical form gives another key")
		}
	})
}

// FuzzOpenSealed: under the vectors' segment key, arbitrary bytes either
// open (and then sealing the plaintext again gives the same bytes) or are
// refused as not sealed or not opening.
func FuzzOpenSealed(f *testing.F) {
	ck := fixedContentKey(f)
	sk, err := ck.Segment(0, 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pt, err := sk.Open(b)
		if err != nil {
			if !errors.Is(err, ErrOpen) && !errors.Is(err, ErrNotSealed) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		h, _ := ParseSealedHeader(b)
		again, _ := sk.Seal(h.Index, pt)
		if !bytes.Equal(again, b) {
			t.Fatal("opened bytes that sealing does not give")
		}
	})
}

// FuzzDecodeEnvelope: arbitrary bytes either decode to an envelope the
// camera signed, which re-encodes to the same bytes, or are refused.
func FuzzDecodeEnvelope(f *testing.F) {
	cam := mustKey(f, 3).Address()
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEnvelope(b, cam)
		if err != nil {
			return
		}
		again, err := e.Encode()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatal("a decoded envelope does not re-encode to its bytes")
		}
	})
}

// FuzzOpenSegment: arbitrary bytes either open as a whole sealed segment
// — one chunk of index 0, or chunks of indexes 1…n — that sealing the
// same chunks gives again, or are refused with ErrOpen or ErrNotSealed.
// Seeds: testdata/fuzz/FuzzOpenSegment (a whole segment, one in three
// parts, cut, with a part missing).
func FuzzOpenSegment(f *testing.F) {
	ck := fixedContentKey(f)
	sk, err := ck.Segment(0, 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pt, err := sk.OpenSegment(b)
		if err != nil {
			if !errors.Is(err, ErrOpen) && !errors.Is(err, ErrNotSealed) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if h, _ := ParseSealedHeader(b); h.Index == 0 {
			again, _ := sk.Seal(0, pt)
			if !bytes.Equal(again, b) {
				t.Fatal("opened bytes that sealing does not give")
			}
		}
	})
}

// FuzzDecodeHistory: arbitrary bytes either decode to a history envelope
// the owner signed, which re-encodes to the same bytes (and, when it is
// the grantee's, opens to exactly one key per item), or are refused.
// Seeds: testdata/fuzz/FuzzDecodeHistory (the vector and its corruptions).
func FuzzDecodeHistory(f *testing.F) {
	cam, owner := mustKey(f, 3).Address(), mustKey(f, 1).Address()
	grantee, err := Derive(mustKey(f, 2))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeHistory(b, cam, owner)
		if err != nil {
			return
		}
		again, err := e.Encode()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatal("a decoded history envelope does not re-encode to its bytes")
		}
		if hk, err := grantee.OpenHistory(e); err == nil && len(hk.Content)+len(hk.Segments) != len(e.Items) {
			t.Fatal("opened a different number of keys than items")
		}
	})
}
