package e2ee

// Domain-separation labels (docs/SPEC.md §17.1). Each is used for exactly
// one purpose; a new use gets a new label.
const (
	// MessageTitle is the first line of the message a wallet signs to make
	// its viewing key. No other camchain message starts with it (SIWE login
	// messages start with the hub's domain, transactions are EIP-712), and
	// camchain's own sign-message refuses to sign it.
	MessageTitle = "camchain viewing key"

	// MessageVersion is the version the message names. A new derivation
	// is a new version, hence a new message and a new key.
	MessageVersion = 1

	// labelSeed is the HKDF salt of the seed derivation.
	labelSeed = "camchain/v1/viewing-key-seed"

	// labelKeyID prefixes the public key in its identifier.
	labelKeyID = "camchain/v1/viewing-key-id"
)

// Sizes of X-Wing (draft-connolly-cfrg-xwing-kem, draft-ietf-hpke-pq).
const (
	// KEMID is X-Wing's HPKE KEM identifier (MLKEM768-X25519).
	KEMID = 0x647a

	// SeedSize is the private key: the 32-byte X-Wing seed from which
	// both halves (ML-KEM-768's d ‖ z and X25519's scalar) are expanded.
	SeedSize = 32

	// PublicKeySize is ML-KEM-768's encapsulation key (1184 bytes) followed
	// by the X25519 public key (32).
	PublicKeySize = 1216

	// signatureIKMSize is r ‖ s of the wallet's signature: the input
	// keying material of the seed.
	signatureIKMSize = 64
)
