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

// Labels and sizes of the content encryption (docs/SPEC.md §17.2).
const (
	// labelSegmentKey is the HKDF salt of a segment key.
	labelSegmentKey = "camchain/v1/segment-key"
	// labelContentKeyInfo prefixes the HPKE info of a wrapped content key.
	labelContentKeyInfo = "camchain/v1/content-key"
	// labelEnvelope prefixes the digest the camera signs over an envelope.
	labelEnvelope = "camchain/v1/key-envelope"

	// sealedMagic starts every sealed segment and part.
	sealedMagic = "CCE1"
	// SealedVersion is the sealed format's version byte.
	SealedVersion = 1
	// SealedHeaderSize is the sealed header: magic 4, version 1, stream 1,
	// camera 20, epoch 8, seq 8, serial 8, index 4.
	SealedHeaderSize = 4 + 1 + 1 + 20 + 8 + 8 + 8 + 4
	// SealedOverhead is what sealing adds: the header and the GCM tag.
	SealedOverhead = SealedHeaderSize + 16

	// MaxParts caps the parts of one sealed segment (OpenSegment): a
	// segment of at most 32 MiB in parts of at least one frame.
	MaxParts = 1 << 16

	// KeySize is a content key's and a segment key's size (AES-256).
	KeySize = 32

	// EnvelopeVersion is the key envelope's version.
	EnvelopeVersion = 1
	// MaxRecipients caps an envelope's recipients: the owner and the 64
	// grants a camera may have (ledger.MaxGrantsPerCamera).
	MaxRecipients = 1 + 64
	// wrappedSize is one wrapped content key: X-Wing's 1120-byte
	// encapsulation, then the 32-byte key and its 16-byte tag.
	wrappedSize = 1120 + KeySize + 16
	// MaxEnvelopeBytes bounds an encoded envelope (65 recipients of about
	// 1.23 KB each, and the rest).
	MaxEnvelopeBytes = 96 << 10
)

// Labels and sizes of history envelopes (docs/SPEC.md §17.6).
const (
	// labelHistory prefixes the digest the owner signs over a history
	// envelope.
	labelHistory = "camchain/v1/history-envelope"
	// labelHistoryInfo prefixes the HPKE info of a history envelope's
	// sealed keys (followed by the envelope's digest).
	labelHistoryInfo = "camchain/v1/history-keys"

	// HistoryVersion is the history envelope's version.
	HistoryVersion = 1
	// MaxHistoryItems caps the keys of one history envelope; an owner
	// re-wrapping more uploads several.
	MaxHistoryItems = 2048
	// MaxHistoryBytes bounds an encoded history envelope: 2048 items of at
	// most 35 bytes, their keys sealed (32 bytes each, a 1120-byte
	// encapsulation and a 16-byte tag), and the rest.
	MaxHistoryBytes = 144 << 10
	// historyEncSize is X-Wing's encapsulation in a history envelope's
	// sealed keys.
	historyEncSize = 1120
)
