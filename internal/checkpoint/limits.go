package checkpoint

// Named limits.
const (
	// MaxTreeSize is the largest tree the verifiers accept: 2^63 records.
	// A camera cutting a 2 s segment would need 5.8e11 years to reach it;
	// the bound exists so that MaxProofHashes provably covers every proof.
	MaxTreeSize = 1 << 63

	// MaxProofHashes caps a decoded proof. An inclusion proof in a tree of
	// size n has at most ⌈log2 n⌉ hashes and a consistency proof at most
	// ⌈log2 n⌉+1; for n ≤ MaxTreeSize both are at most 64 (tx.MaxConsistencyBytes
	// is the same 64 hashes).
	MaxProofHashes = 64
)
