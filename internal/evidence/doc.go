// Package evidence is camchain's evidence bundle: one file that lets a
// stranger check, with no network and no access to the hub, that video
// clips are what a camera recorded and committed to the ledger.
//
// A bundle (docs/SPEC.md §10) holds, for one camera and binding epoch:
//
//   - each clip: its segment bytes, its feed-chain record (signed by the
//     camera) and an RFC 6962 inclusion proof of the record in the Merkle
//     tree of a checkpoint;
//   - each checkpoint the clips rely on: the camera-signed Checkpoint
//     transaction, its CometBFT transaction proof, the signed header of the
//     block H holding it and of block H+1 (whose commit of H finalises H and
//     whose LastResultsHash covers H's results), the validator sets of both
//     blocks, and the results of block H's transactions (to show the
//     ledger applied the checkpoint: result code 0);
//   - (version 2) witnesses' cosignatures of each checkpoint's tree
//     (docs/SPEC.md §16, internal/witness), which Verify checks over the
//     tree the camera signed and, under the witness keys the verifier
//     trusts (Options.Witnesses), reports as proof that someone outside
//     the owner's control saw that history by then;
//   - (version 3) when the validators changed the set before the bundle's
//     blocks (docs/SPEC.md §3.6), the set's history from the genesis: for
//     each change, the signed header of the block that names the new set,
//     signed by more than 2/3 of the set before it, and the new set
//     (history.go). The genesis set's hash stays the one to pin.
//
// Verify is a pure function over a bundle and the caller's options (a
// pinned validator-set hash, the current time). It checks every link of
// that chain of proof and returns a Report saying, in plain words, what was
// proved, or a typed error (*HistoryError, *CheckpointError, *ClipError,
// each matching one of the Err sentinels with errors.Is) naming exactly
// what failed.
//
// Without a pinned validator-set hash a bundle is only self-consistent:
// anyone can run a private chain with their own validator key and make a
// bundle that verifies. The pin — the hash of the ledger's validator set,
// obtained out of band (from the ledger's genesis file, say) — is what ties
// a bundle to the real ledger; after a change of the set it is still the
// genesis set's, which the history hands on change by change. The Report
// says which of the two was proved.
//
// Build assembles a bundle from a hub's recording store and ledger node.
package evidence
