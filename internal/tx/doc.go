// Package tx defines camchain's ledger transactions: their EIP-712 typed
// data, their strict canonical-CBOR wire encoding, and signing.
//
// Every ledger action is one of a closed set of message types (Imprint,
// Reset, Grant, Checkpoint, …). A wallet signs the message's EIP-712 digest
// under the domain {name "camchain", version "1", chainId}; the same digest
// is what the ledger checks. The wire form wraps the message and its
// signatures in an envelope that names the chain, so a transaction for
// another chain is refused by number before any signature is checked.
//
// This package has no dependency on the ledger engine: the camera agent
// links it to sign resets and checkpoints. docs/SPEC.md §2 is the normative
// description; testdata/ holds golden vectors.
package tx
