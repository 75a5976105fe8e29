package verify

import (
	"fmt"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
)

// Status is the verdict on a clip, a record or a checkpoint.
type Status string

// Clip and record verdicts.
const (
	// Verified: the clip's bytes are its record's segment, and a verified
	// checkpoint proves the record is the one the camera committed.
	Verified Status = "verified"
	// Modified: the file under a record's name has other bytes than the
	// record describes (same size, or longer).
	Modified Status = "modified"
	// Truncated: the file is shorter than its record says.
	Truncated Status = "truncated"
	// Inserted: the file matches no record of this camera and epoch (a
	// foreign clip, another camera's clip), or sits under a sequence number
	// that has no record.
	Inserted Status = "inserted"
	// Missing: a record has no clip file, and retention did not delete it:
	// the clip was deleted. Also a sequence number a checkpoint covers for
	// which not even the record is here.
	Missing Status = "missing"
	// Pruned: a record's clip file is gone and something an attacker
	// cannot forge says retention deleted it: on a camera's card, the
	// camera's signed prune statement (SPEC §14.1). Does not fail the
	// report.
	Pruned Status = "pruned"
	// PrunedEarly: a record's clip file is gone and the store's unsigned
	// pruned marker claims retention deleted it, but nothing the camera
	// signed allows it: deleted outside retention, the marker moved over
	// it (or the statement that allowed it replaced). Fails the report.
	PrunedEarly Status = "pruned-early"
	// EmergencyDeleted: a record's clip file is gone, nothing the camera
	// or the owner signed allows it, and the hub's own hub/emergency-prune
	// event on the ledger says it deleted it because its disk was nearly
	// full (SPEC §14.3). Never ordinary pruning: it fails the report.
	EmergencyDeleted Status = "emergency-deleted"
	// OutOfOrder: the file under seq N's name holds the segment of another
	// record M (clips swapped or renamed).
	OutOfOrder Status = "out-of-order"
	// Pending: record and clip agree and the record is the camera's, but no
	// checkpoint covers it yet (or the one that does cannot be checked).
	Pending Status = "pending"
	// Forged: the record is not the camera's: not signed by this camera's
	// key (e.g. re-signed with another), naming another camera, epoch or
	// sequence number, or breaking the chain's prev links — or it differs
	// from the record a verified checkpoint committed.
	Forged Status = "forged"
	// Failed: the record lies under a checkpoint that failed: its root is
	// not the root of the tree rebuilt from the records (history rewritten),
	// it does not extend its predecessor, or it is not a valid camera-signed
	// checkpoint at all.
	Failed Status = "failed"
	// Unreadable: the file could not be read.
	Unreadable Status = "unreadable"
)

// Checkpoint-only verdicts (besides Verified and Failed).
const (
	// Unchecked: the checkpoint is valid and camera-signed, but the records
	// it covers are not all here, so its tree cannot be rebuilt.
	Unchecked Status = "unchecked"
)

// CheckpointRef names the checkpoint that proves a record.
type CheckpointRef struct {
	Index  uint64         `json:"index"` // position among the epoch's checkpoints, from 0
	Height uint64         `json:"height"`
	Time   time.Time      `json:"time"`
	TxHash feedchain.Hash `json:"tx_hash"`
}

func (c *CheckpointRef) String() string {
	return fmt.Sprintf("checkpoint #%d at height %d, %s", c.Index, c.Height, c.Time.UTC().Format(time.RFC3339))
}

// Result is the verdict on one clip file, or on one record without a file.
type Result struct {
	// Seq is the sequence number the clip is (or claims to be) the segment
	// of; nil for a file that matches no record and has no store name.
	Seq        *uint64        `json:"seq,omitempty"`
	Path       string         `json:"path,omitempty"` // empty for a record without a file
	Status     Status         `json:"status"`
	Detail     string         `json:"detail,omitempty"`
	Checkpoint *CheckpointRef `json:"checkpoint,omitempty"` // what proves the record, when something does
}

// CheckpointResult is the verdict on one checkpoint from the ledger.
type CheckpointResult struct {
	Index    uint64         `json:"index"`
	Height   uint64         `json:"height"`
	Time     time.Time      `json:"time"`
	TxHash   feedchain.Hash `json:"tx_hash"`
	FirstSeq uint64         `json:"first_seq"`
	LastSeq  uint64         `json:"last_seq"`
	TreeSize uint64         `json:"tree_size"`
	Root     feedchain.Hash `json:"root"`
	Status   Status         `json:"status"` // Verified, Failed or Unchecked
	Detail   string         `json:"detail,omitempty"`
}

// Report is the outcome of verifying one chain (a camera in one epoch).
type Report struct {
	Camera      string             `json:"camera"` // EIP-55
	Epoch       uint64             `json:"epoch"`
	Stream      string             `json:"stream"`  // "main" or "sub": the chain's stream
	Records     int                `json:"records"` // records given (read from the log or the hub)
	Clips       []Result           `json:"clips"`   // by seq, then path; files without a seq last
	Checkpoints []CheckpointResult `json:"checkpoints"`
	// Problems are findings about the chain as a whole (a damaged log).
	Problems []string `json:"problems,omitempty"`
	// Gaps are stretches of time without recording (FindGaps): shown,
	// but not failures.
	Gaps []Gap `json:"gaps,omitempty"`
}

// OK reports whether everything checked is verified: every clip verified
// (or pruned by retention), every checkpoint verified, no problems.
func (r *Report) OK() bool {
	if len(r.Problems) > 0 {
		return false
	}
	for _, c := range r.Clips {
		if c.Status != Verified && c.Status != Pruned {
			return false
		}
	}
	for _, c := range r.Checkpoints {
		if c.Status != Verified {
			return false
		}
	}
	return true
}

// Counts returns how many clip results have each status.
func (r *Report) Counts() map[Status]int {
	m := map[Status]int{}
	for _, c := range r.Clips {
		m[c.Status]++
	}
	return m
}

// ClipStatuses lists the clip and record verdicts in the order reports
// print them.
func ClipStatuses() []Status {
	return []Status{Verified, Pending, Pruned, PrunedEarly, EmergencyDeleted, Modified, Truncated, Inserted, Missing, OutOfOrder, Forged, Failed, Unreadable}
}

// lastSeq renders the last sequence number of a chain of n records.
func lastSeq(n uint64) string {
	if n == 0 {
		return "none (no records)"
	}
	return fmt.Sprint(n - 1)
}
