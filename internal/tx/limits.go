package tx

import "time"

// Named limits. Anything larger is refused at decode time.
const (
	// MaxTxBytes caps a whole encoded transaction. The largest legitimate
	// one, a Checkpoint with a MaxConsistencyBytes proof, is under 2.5 KiB.
	MaxTxBytes = 4096

	// MaxConsistencyBytes caps a checkpoint's consistency proof: 64 hashes,
	// more than a tree of 2^31 records needs.
	MaxConsistencyBytes = 64 * 32

	// MaxSigs is the most signatures any message type needs (Imprint: the
	// owner and the camera).
	MaxSigs = 2

	// MaxDetailBytes caps the free-text detail of an audit event.
	MaxDetailBytes = 256

	// MaxTTL is how far in the future a transaction's expiry may lie. The
	// ledger remembers every (signer, nonce) until its expiry, so this
	// bounds that memory; and a transaction CheckTx refuses spends no nonce
	// (docs/SPEC.md §2.4), so this bounds how long such a signed message
	// could still be submitted, should the state come to allow it.
	MaxTTL = time.Hour

	// DefaultTTL is the expiry the CLI, the hub and the camera give the
	// transactions they sign and submit at once.
	DefaultTTL = 2 * time.Minute

	// MinCheckpointPeriod and MaxCheckpointPeriod bound the owner-set period
	// between integrity checkpoints.
	MinCheckpointPeriod = time.Minute
	MaxCheckpointPeriod = 31 * 24 * time.Hour

	// DefaultCheckpointPeriod applies until the owner sets a policy.
	DefaultCheckpointPeriod = 24 * time.Hour
)
