package witness

import "time"

// Named limits.
const (
	// MaxResponseBytes caps what Client reads of a witness's answer: a few
	// cosignature lines.
	MaxResponseBytes = 16 << 10

	// MaxCosignatures caps the cosignature lines taken from one answer.
	MaxCosignatures = 16

	// MaxNameBytes caps a witness or key name (a URL-like name).
	MaxNameBytes = 256

	// MaxProofHashes caps a consistency proof (64 levels hold any tree
	// camchain makes: sizes are below 2^63).
	MaxProofHashes = 64

	// RequestTimeout bounds one add-checkpoint request.
	RequestTimeout = 15 * time.Second
)
