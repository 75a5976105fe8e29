package evidence

import (
	"time"

	"github.com/camchain/camchain/internal/feedchain"
)

// Named limits. Decode refuses anything larger; Build refuses to make a
// bundle that would exceed them.
const (
	// MaxBundleBytes caps a whole encoded bundle. A bundle is read into
	// memory to be verified; 1 GiB holds about 17 minutes of 2 s segments
	// at 4 Mbit/s, or several hours at the bitrates cameras usually record.
	MaxBundleBytes = 1 << 30

	// MaxClips caps the clips in one bundle (5.5 hours of 2 s segments).
	MaxClips = 10_000

	// RevealKeyBytes is the size of a revealed segment key (version 4,
	// AES-256, SPEC §17.2). A bundle reveals at most one per clip.
	RevealKeyBytes = 32

	// MaxCheckpoints caps the checkpoints one bundle relies on.
	MaxCheckpoints = 1024

	// MaxSegmentBytes caps one clip's segment: the one segment limit
	// (feedchain.MaxSegmentBytes), so every segment a hub stores fits.
	MaxSegmentBytes = feedchain.MaxSegmentBytes

	// MaxTxBytes caps a checkpoint transaction, as the ledger does
	// (tx.MaxTxBytes).
	MaxTxBytes = 4096

	// MaxHeaderBytes caps one signed header (header and commit, protobuf).
	// A commit of MaxValidators signatures is about 1.1 MB.
	MaxHeaderBytes = 2 << 20

	// MaxValidators caps a validator set: CometBFT's types.MaxVotesCount.
	MaxValidators = 10_000

	// MaxResults caps the transaction results of one block (one per
	// transaction of the block).
	MaxResults = 1 << 20

	// MaxResultDataBytes caps the data of one transaction result. camchain's
	// ledger returns none.
	MaxResultDataBytes = 64 << 10

	// MaxAunts caps a transaction proof's path: 64 levels are more than a
	// block can have transactions.
	MaxAunts = 64

	// MaxKeyTypeBytes caps a validator key type name ("ed25519").
	MaxKeyTypeBytes = 32

	// MinPubKeyBytes is the shortest validator public key: no key type
	// CometBFT knows is shorter (ed25519 keys are 32 bytes, secp256k1 33).
	MinPubKeyBytes = 32

	// MaxPubKeyBytes caps a validator public key (BLS12-381 keys are the
	// largest CometBFT knows, 96 bytes).
	MaxPubKeyBytes = 128

	// MaxLedgerChainIDBytes caps the chain id: CometBFT's types.MaxChainIDLen.
	MaxLedgerChainIDBytes = 50

	// MaxDecodeAllocRatio and MaxDecodeAllocFixed bound what Decode
	// allocates for n bytes of input, whatever the bytes: at most
	// MaxDecodeAllocRatio×n + MaxDecodeAllocFixed. The input is copied once
	// (1×) and the byte fields share the copy; the decoded lists cost at
	// most 1.3× the bytes that hold them (a validator is 48 bytes of Go and
	// at least minValidatorBytes of input; results stay encoded), and the
	// checkpoint and clip lists, capped by count, at most about 1.1 MiB.
	// TestDecodeAllocationBounded and FuzzDecodeBundle check it.
	MaxDecodeAllocRatio = 2.5
	MaxDecodeAllocFixed = 2 << 20

	// MaxValidatorChanges caps the changes of the validator set one
	// bundle's history carries (version 3): each is a signed header (up to
	// MaxHeaderBytes) and a set.
	MaxValidatorChanges = 1024

	// MaxCosignatures caps the witness cosignatures of one checkpoint.
	MaxCosignatures = 16

	// MaxWitnessNameBytes caps a witness's key name (witness.MaxNameBytes).
	MaxWitnessNameBytes = 256

	// MaxTimestamps caps the RFC 3161 timestamp tokens of one checkpoint.
	MaxTimestamps = 8

	// MaxTimestampBytes caps one timestamp token (DER): a token with its
	// TSA's certificate chain is a few KiB.
	MaxTimestampBytes = 16 << 10

	// MaxClockSkew is how far in the future of Options.Now a block time may
	// lie before Verify refuses it.
	MaxClockSkew = 10 * time.Minute
)
