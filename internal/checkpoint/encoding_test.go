package checkpoint

import (
	"bytes"
	"errors"
	"testing"

	"github.com/camchain/camchain/internal/feedchain"
)

func TestProofEncoding(t *testing.T) {
	p := testRecordHashes(3)
	b := EncodeProof(p)
	if len(b) != 3*HashSize || !bytes.Equal(b[HashSize:2*HashSize], p[1][:]) {
		t.Fatalf("EncodeProof: %x", b)
	}
	q, err := DecodeProof(b)
	if err != nil || !equalProofs(p, q) {
		t.Fatalf("DecodeProof: %x, %v", q, err)
	}
	if b := EncodeProof(nil); len(b) != 0 {
		t.Fatalf("empty proof encodes as %x", b)
	}
	if q, err := DecodeProof(nil); err != nil || len(q) != 0 {
		t.Fatalf("DecodeProof(nil) = %x, %v", q, err)
	}
	max := make([]feedchain.Hash, MaxProofHashes)
	if _, err := DecodeProof(EncodeProof(max)); err != nil {
		t.Fatalf("%d hashes refused: %v", MaxProofHashes, err)
	}
	for name, b := range map[string][]byte{
		"one byte":          {0},
		"31 bytes":          make([]byte, 31),
		"hash and a byte":   make([]byte, HashSize+1),
		"one hash too many": EncodeProof(append(max, feedchain.Hash{})),
	} {
		if _, err := DecodeProof(b); !errors.Is(err, ErrMalformedProof) {
			t.Errorf("%s: %v, want ErrMalformedProof", name, err)
		}
	}
}
