package store

import (
	"errors"
	"fmt"

	"github.com/camchain/camchain/internal/feedchain"
)

// Sentinel errors; the typed errors below match them with errors.Is.
var (
	// ErrNotFound: no such record or chain.
	ErrNotFound = errors.New("store: not found")
	// ErrPruned: retention deleted the segment file; its record remains.
	ErrPruned = errors.New("store: segment deleted by retention")
	// ErrMissing: a segment file is gone that retention did not delete.
	ErrMissing = errors.New("store: segment file missing (not deleted by retention)")
	// ErrFull: a segment would not fit without deleting unacknowledged ones.
	ErrFull = errors.New("store: full")
	// ErrCorrupt: a file is damaged in a way a crash cannot explain.
	ErrCorrupt = errors.New("store: damaged")
	// ErrLocked: another process has the store open.
	ErrLocked = errors.New("store: in use by another process")
	// ErrFormat: the directory is not a store of a version this build reads.
	ErrFormat = errors.New("store: unsupported format")
	// ErrUnavailable: the object store (Options.Objects) did not take or
	// give what was asked; the operation did nothing and may be retried.
	ErrUnavailable = errors.New("store: object store unavailable")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
)

// FullError is returned by Reserve when a segment would fit only by
// deleting segments the hub has not acknowledged. The caller must stop
// recording and raise an alarm.
type FullError struct {
	Dir     string
	Need    int64 // bytes the caller asked room for
	Stored  int64 // segment bytes in the store after pruning all it may
	Unacked int64 // of Stored, bytes not yet acknowledged (never deleted)
	Limit   int64 // Options.MaxBytes
}

func (e *FullError) Error() string {
	return fmt.Sprintf("store %s is full: %d bytes of unacknowledged segments (%d bytes stored) leave no room for %d more under the %d-byte limit; unacknowledged segments are never deleted, so recording must stop until the hub acknowledges",
		e.Dir, e.Unacked, e.Stored, e.Need, e.Limit)
}

// Is makes errors.Is(err, ErrFull) true.
func (e *FullError) Is(target error) bool { return target == ErrFull }

// CorruptError says where a store file is damaged. Open returns it instead
// of repairing anything it cannot prove is a torn tail from a crash.
type CorruptError struct {
	Path   string
	Offset int64 // byte offset of the damage, -1 if not applicable
	Reason string
}

func (e *CorruptError) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("store: %s is damaged: %s", e.Path, e.Reason)
	}
	return fmt.Sprintf("store: %s is damaged at byte %d: %s", e.Path, e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// AckRefusedError is returned by SetAcked for a head that is not in the
// chain or lies behind the current acknowledgement.
type AckRefusedError struct {
	Chain  ChainRef
	Got    feedchain.Head // what the caller asked for
	Acked  feedchain.Head // the acknowledgement before the call
	Head   feedchain.Head // the chain's head
	Reason string
}

func (e *AckRefusedError) Error() string {
	return fmt.Sprintf("store: %s: refusing to mark %s acknowledged (acknowledged %s, head %s): %s",
		e.Chain, e.Got, e.Acked, e.Head, e.Reason)
}
