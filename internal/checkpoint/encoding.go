package checkpoint

import (
	"errors"
	"fmt"

	"github.com/camchain/camchain/internal/feedchain"
)

// HashSize is the size of every node hash, and of a record hash.
const HashSize = 32

// ErrMalformedProof: the bytes are not an encoded proof.
var ErrMalformedProof = errors.New("checkpoint: malformed proof")

// EncodeProof encodes a proof for transactions and bundles: the hashes
// concatenated, HashSize bytes each, in proof order. The empty proof encodes
// as no bytes.
func EncodeProof(p []feedchain.Hash) []byte {
	out := make([]byte, 0, len(p)*HashSize)
	for _, h := range p {
		out = append(out, h[:]...)
	}
	return out
}

// DecodeProof decodes EncodeProof's output. It refuses a length that is not
// a multiple of HashSize or holds more than MaxProofHashes hashes. Whether
// the proof is right for some tree is for VerifyInclusion or
// VerifyConsistency to say.
func DecodeProof(b []byte) ([]feedchain.Hash, error) {
	if len(b)%HashSize != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a whole number of %d-byte hashes", ErrMalformedProof, len(b), HashSize)
	}
	if n := len(b) / HashSize; n > MaxProofHashes {
		return nil, fmt.Errorf("%w: %d hashes, more than the limit of %d", ErrMalformedProof, n, MaxProofHashes)
	}
	out := make([]feedchain.Hash, len(b)/HashSize)
	for i := range out {
		copy(out[i][:], b[i*HashSize:])
	}
	return out, nil
}
