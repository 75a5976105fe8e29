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
//	<dir>/FORMAT                              "camchain-store 1\n"
//	<dir>/LOCK                                flock(2) target, empty
//	<dir>/<camera>/<epoch>/records.log        the chain (below)
//	<dir>/<camera>/<epoch>/seg/<seq>.mp4      segment files, seq as %016d
//	<dir>/<camera>/<epoch>/acked              "camchain-acked 1\n<seq> <record hash hex>\n"
//	<dir>/<camera>/<epoch>/pruned             "camchain-pruned 1\n<n>\n"
//
// <camera> is the camera's address as 40 lowercase hex digits without 0x;
// <epoch> is decimal. records.log is a 16-byte header — "CCRECLOG",
// u32be version (1), four zero bytes — followed by one entry per record:
//
//	u32be len ‖ record (feedchain Marshal, len bytes) ‖ u32be CRC-32C(record)
//
// acked holds the agent's acknowledgement pointer: the hub has every record
// up to and including seq. pruned says retention deleted the segment files
// of every seq < n; it is written before the files are deleted, so a
// segment file missing at or above n was lost, not pruned, and Open says so.
// acked and pruned are replaced atomically.
package store
