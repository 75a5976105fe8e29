package evidence

import (
	"errors"
	"fmt"
)

// What Verify can find wrong, one sentinel per link of the chain of proof.
// Each comes inside a *CheckpointError or a *ClipError that says where;
// errors.Is matches the sentinel.
var (
	// ErrCheckpointTx: a checkpoint transaction is not a Checkpoint for this
	// ledger, camera and epoch signed by the camera.
	ErrCheckpointTx = errors.New("checkpoint transaction invalid")
	// ErrSuccession: a checkpoint may not stand where it is among the
	// bundle's (checkpoint.VerifySuccession): it does not start after the
	// one before, its period starts before that one ended, or its
	// consistency proof is malformed or does not link to it.
	ErrSuccession = errors.New("checkpoint does not follow the one before")
	// ErrTxProof: the transaction proof is for another transaction or does
	// not lead to the block's data hash.
	ErrTxProof = errors.New("transaction proof invalid")
	// ErrHeader: a block header is malformed, of another chain, from the
	// future, or the two blocks do not follow each other.
	ErrHeader = errors.New("block header invalid")
	// ErrValidators: a validator set is malformed or is not the one the
	// header names.
	ErrValidators = errors.New("validator set invalid")
	// ErrNotPinned: a validator set is not the pinned one (version 3: the
	// history does not start from the pinned one).
	ErrNotPinned = errors.New("validator set is not the pinned one")
	// ErrHistory: the bundle's validator-set history does not carry trust from
	// its genesis set to the sets that signed its blocks: a link is malformed,
	// out of order, not needed, not signed by more than 2/3 of the set before
	// it, or does not name the set it carries; or a block is signed by a set
	// other than the one the history gives at its height.
	ErrHistory = errors.New("validator-set history invalid")
	// ErrCommit: a block is not signed by more than 2/3 of its validator
	// set's power, or a signature in its commit is invalid.
	ErrCommit = errors.New("block commit invalid")
	// ErrResults: the transaction results do not match the next header, or
	// the ledger did not apply the checkpoint (result code not 0).
	ErrResults = errors.New("transaction result invalid")
	// ErrCosignature: a witness cosignature in the bundle is not a valid
	// one of the checkpoint's tree (altered, of another tree, from the
	// future, or twice by one witness).
	ErrCosignature = errors.New("witness cosignature invalid")
	// ErrNotWitnessed: the verifier trusts witnesses and none of them
	// cosigned a checkpoint.
	ErrNotWitnessed = errors.New("checkpoint not cosigned by a trusted witness")
	// ErrTimestamp: an RFC 3161 timestamp in the bundle is not a valid one
	// of the checkpoint (malformed, altered, of another message, from the
	// future).
	ErrTimestamp = errors.New("timestamp invalid")
	// ErrNotTimestamped: the verifier trusts TSAs and no timestamp of a
	// checkpoint is by one of them.
	ErrNotTimestamped = errors.New("checkpoint not timestamped by a trusted TSA")
	// ErrRecord: a clip's record is malformed, of another camera or epoch,
	// or not signed by the camera.
	ErrRecord = errors.New("record invalid")
	// ErrSegment: a clip's bytes do not match its record (size, SHA-256).
	ErrSegment = errors.New("segment does not match its record")
	// ErrInclusion: a record is not proved to be in its checkpoint's tree
	// at its sequence number.
	ErrInclusion = errors.New("record not included in its checkpoint")
	// ErrReveal: a revealed segment key (version 4) is not the key of a
	// sealed clip of the bundle: it is for a record the bundle does not
	// hold, for a clip that is not sealed or is sealed under another
	// content key, or it does not open the clip (AES-GCM tag).
	ErrReveal = errors.New("revealed segment key invalid")
)

// RevealError says which revealed key of a bundle failed and why.
type RevealError struct {
	Index  int    // position in Bundle.Reveals
	Seq    uint64 // the record it claims to be the key of
	Kind   error  // ErrReveal
	Reason string
	Err    error // the underlying error (e2ee's), if any
}

func (e *RevealError) Error() string {
	return fmt.Sprintf("revealed key %d (record #%d): %v: %s", e.Index, e.Seq, e.Kind, e.Reason)
}

// Is makes errors.Is(err, Kind) true.
func (e *RevealError) Is(target error) bool { return target == e.Kind }

func (e *RevealError) Unwrap() error { return e.Err }

// CheckpointError says which checkpoint of a bundle failed and why.
type CheckpointError struct {
	Index  int    // position in Bundle.Checkpoints
	Height int64  // its block, once the header is read; 0 before
	Kind   error  // one of the sentinels above
	Reason string // what exactly, with expected and actual values
	Err    error  // the underlying error (a library's), if any
}

func (e *CheckpointError) Error() string {
	where := fmt.Sprintf("checkpoint %d", e.Index)
	if e.Height > 0 {
		where += fmt.Sprintf(" (block %d)", e.Height)
	}
	return fmt.Sprintf("%s: %v: %s", where, e.Kind, e.Reason)
}

// Is makes errors.Is(err, Kind) true.
func (e *CheckpointError) Is(target error) bool { return target == e.Kind }

func (e *CheckpointError) Unwrap() error { return e.Err }

// ClipError says which clip of a bundle failed and why.
type ClipError struct {
	Index  int    // position in Bundle.Clips
	Seq    uint64 // the record's sequence number (its leaf index until the record is read)
	Kind   error  // one of the sentinels above
	Reason string
	Err    error // the underlying error (feedchain's, checkpoint's), if any
}

func (e *ClipError) Error() string {
	return fmt.Sprintf("clip %d (record #%d): %v: %s", e.Index, e.Seq, e.Kind, e.Reason)
}

// Is makes errors.Is(err, Kind) true.
func (e *ClipError) Is(target error) bool { return target == e.Kind }

func (e *ClipError) Unwrap() error { return e.Err }

// kinds names each sentinel for programs (the CLI's JSON, the test
// vectors' "expect").
var kinds = []struct {
	err  error
	name string
}{
	{ErrNotBundle, "not_bundle"},
	{ErrVersion, "version"},
	{ErrMalformed, "malformed"},
	{ErrCheckpointTx, "checkpoint_tx"},
	{ErrSuccession, "succession"},
	{ErrTxProof, "tx_proof"},
	{ErrHeader, "header"},
	{ErrValidators, "validators"},
	{ErrNotPinned, "not_pinned"},
	{ErrHistory, "history"},
	{ErrCommit, "commit"},
	{ErrResults, "results"},
	{ErrCosignature, "cosignature"},
	{ErrNotWitnessed, "not_witnessed"},
	{ErrTimestamp, "timestamp"},
	{ErrNotTimestamped, "not_timestamped"},
	{ErrRecord, "record"},
	{ErrSegment, "segment"},
	{ErrInclusion, "inclusion"},
	{ErrReveal, "reveal"},
}

// KindOf names the kind of a Decode or Verify error: "malformed",
// "header", "segment", … (the Err sentinel it matches, in snake case);
// "ok" for nil and "other" for an error of neither.
func KindOf(err error) string {
	if err == nil {
		return "ok"
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return "other"
}
