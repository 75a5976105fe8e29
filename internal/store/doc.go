// Package store is camchain's crash-safe recording store: for each camera
// and binding epoch, the feed chain's records and the segment files they
// describe. The hub keeps every camera's chain in one; the camera agent
// keeps its own (the SD card) in another, bounded by a byte limit.
//
// # Guarantees
//
// When Append returns nil, the segment file and its record are on stable
// storage and survive kill -9 or a power cut: the segment is written first
// (temp file, fsync, rename, fsync of the directory), then the record is
// appended to the chain's log and the log is fsynced. A crash in between
// leaves a segment file without a record, which the next Open deletes (or
// the next Append of that sequence number replaces). A crash during the
// log append leaves a torn last entry, which the next Open drops, so the
// chain on disk is always a prefix of what was appended, and it verifies:
// every record is signed by its camera and linked to its predecessor.
//
// Retention deletes segment files, never records, oldest first, and never
// at or above the sequence number the caller protects: the agent protects
// everything the hub has not acknowledged, so a full card stops recording
// (ErrFull) instead of losing history the hub does not have.
//
// One process at a time: Open takes an exclusive flock on dir/LOCK.
//
// # On-disk layout (all formats versioned)
//
// The layout — FORMAT, LOCK, <camera>/<epoch>/records.log, seg/<seq>.mp4,
// acked, pruned — has one home, package internal/store/layout, which this
// store and the read-only verifier (internal/verify) both use.
//
// acked holds the agent's acknowledgement pointer: the hub has every record
// up to and including seq. pruned says retention deleted the segment files
// of every seq < n; it is written before the files are deleted, so a
// segment file missing at or above n was lost, not pruned, and Open says so.
// acked and pruned are replaced atomically.
package store
