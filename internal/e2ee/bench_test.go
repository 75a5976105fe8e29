package e2ee

import (
	"crypto/sha256"
	"testing"

	"github.com/camchain/camchain/internal/feedchain"
)

// A 2-second segment at 4 Mbit/s is 1 MB. Sealing it (key derivation and
// AES-256-GCM) beside hashing it (SHA-256, which the record needs with or
// without E2EE): go test ./internal/e2ee -run XXX -bench Segment.
const benchSegment = 1 << 20

func BenchmarkSegmentSeal(b *testing.B) {
	ck := fixedContentKey(b)
	pt := make([]byte, benchSegment)
	b.SetBytes(benchSegment)
	for i := 0; b.Loop(); i++ {
		sk, err := ck.Segment(feedchain.StreamMain, uint64(i))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sk.Seal(0, pt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSegmentHashBaseline(b *testing.B) {
	pt := make([]byte, benchSegment)
	b.SetBytes(benchSegment)
	for b.Loop() {
		sha256.Sum256(pt)
	}
}

// BenchmarkEnvelopeWrap: one rotation's envelope to the owner and four
// viewers (X-Wing encapsulations and the camera's signature).
func BenchmarkEnvelopeWrap(b *testing.B) {
	ck := fixedContentKey(b)
	var rs []Recipient
	for i := byte(1); i <= 5; i++ {
		vk, _ := Derive(mustKey(b, i))
		rs = append(rs, Recipient{vk.Account(), vk.Public()})
	}
	cam := mustKey(b, 3)
	for b.Loop() {
		if _, err := ck.Wrap(rs, cam); err != nil {
			b.Fatal(err)
		}
	}
}
