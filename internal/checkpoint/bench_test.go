package checkpoint

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"github.com/camchain/camchain/internal/feedchain"
)

// testRecordHashes returns n stand-in record hashes, SHA-256(u64be(i)).
func testRecordHashes(n int) []feedchain.Hash {
	out := make([]feedchain.Hash, n)
	var b [8]byte
	for i := range out {
		binary.BigEndian.PutUint64(b[:], uint64(i))
		out[i] = sha256.Sum256(b[:])
	}
	return out
}

// BenchmarkRoot1M is the checkpoint build time for a period of 1,000,000
// records (target ≤ 1 s).
func BenchmarkRoot1M(b *testing.B) {
	rh := testRecordHashes(1_000_000)
	b.ResetTimer()
	for b.Loop() {
		Root(rh)
	}
}

// BenchmarkTreeAppend1M builds the proof-capable Tree over 1,000,000 records.
func BenchmarkTreeAppend1M(b *testing.B) {
	rh := testRecordHashes(1_000_000)
	b.ResetTimer()
	for b.Loop() {
		t := NewTree()
		for _, h := range rh {
			t.Append(h)
		}
	}
}

// BenchmarkInclusionProof proves a record in a tree of 1,000,000.
func BenchmarkInclusionProof(b *testing.B) {
	const n = 1_000_000
	t := NewTree()
	for _, h := range testRecordHashes(n) {
		t.Append(h)
	}
	b.ResetTimer()
	i := uint64(0)
	for b.Loop() {
		if _, err := t.InclusionProof(i%n, n); err != nil {
			b.Fatal(err)
		}
		i += 7919
	}
}
