package verify

import (
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/retention"
)

// Input is everything Verify looks at, gathered by the caller.
type Input struct {
	Camera keys.Address
	Epoch  uint64
	// Stream is the chain's stream: each of a camera's streams is its own
	// chain with its own checkpoints (SPEC §6.5). A sub stream's records
	// and checkpoints must all be the sub stream's; the main chain may hold
	// sub-stream records interleaved, as agents wrote them before.
	Stream feedchain.Stream
	// EVMChainID, when not 0, is the ledger's EIP-712 chain id: a checkpoint
	// transaction signed for another ledger is refused.
	EVMChainID uint64
	// Records are the chain's records in log order, which must be sequence
	// order from 0 (a prefix of the chain is fine), as ReadLog returns them
	// or as fetched from a hub. Nothing about them is assumed.
	Records []*feedchain.Record
	// LogDamage, when the records come from a records.log that ReadLog
	// could not read to the end, is reported as a problem.
	LogDamage *LogDamage
	// Clips are the files to check, with Size and SHA256 filled in
	// (HashClips).
	Clips []Clip
	// Complete says Clips is every file of the chain's segment directory:
	// records without a clip are then reported (Missing, or Pruned below
	// PrunedBelow). Without it only the given clips are reported.
	Complete bool
	// PrunedBelow is the store's pruned marker (ReadPruned): the store
	// claims retention deleted the segment files of every seq below it.
	// The marker is not signed: on its own it makes a gone file
	// PrunedEarly, never Pruned.
	PrunedBelow uint64
	// PruneStatement is the chain's prune-statement file as read
	// (ReadPruneStatement; nil if there is none): the camera's signed word
	// that retention deleted the files below its mark (SPEC §14.1). A gone
	// file below a valid statement is Pruned. One that does not verify is
	// reported as a problem and allows nothing.
	PruneStatement []byte
	// Policy is the owner's retention policy history for the hub's copy
	// (retention.PolicyChangeOf each, in order) when PolicyKnown, and Now
	// the moment of verification: a file gone below the marker whose record
	// a verified checkpoint proves and whose age the policy allowed by Now
	// is Pruned too (SPEC §14.2). Without PolicyKnown only the camera's
	// statement allows a deletion.
	Policy      []retention.PolicyChange
	PolicyKnown bool
	Now         time.Time
	// Emergencies are the hub's hub/emergency-prune events of the camera
	// (retention.ParseEmergency): a file gone below the marker that
	// nothing else allows and one of them covers is EmergencyDeleted.
	Emergencies []retention.Emergency
	// Checkpoints are the epoch's checkpoints as the ledger lists them.
	Checkpoints []Checkpoint
}

// Checkpoint is one checkpoint as a hub lists it: where the ledger says it
// landed, and the transaction bytes, which carry everything else.
type Checkpoint struct {
	Index  uint64 // position among the epoch's checkpoints, from 0
	Height uint64
	Time   time.Time
	TxHash feedchain.Hash // SHA-256 of Tx, as the ledger lists it
	Tx     []byte         // the transaction's wire bytes (GET /txs/{hash})
}

// Verify checks in's clips against its records and checkpoints and
// returns a verdict on every clip (see the package documentation). It is a
// pure function of in; it does not touch the file system.
func Verify(in Input) *Report {
	rep := &Report{Camera: in.Camera.Hex(), Epoch: in.Epoch, Stream: in.Stream.String(), Records: len(in.Records),
		Clips: []Result{}, Checkpoints: []CheckpointResult{}}
	if in.LogDamage != nil {
		rep.Problems = append(rep.Problems, "records.log "+in.LogDamage.String())
	}
	recs := checkRecords(in)
	cps := checkCheckpoints(in)
	anc := anchor(recs, cps)
	for _, c := range cps {
		rep.Checkpoints = append(rep.Checkpoints, c.res)
	}
	judgeRecords(recs, cps, anc)
	allowed, problem := checkPruneStatement(in)
	if problem != "" {
		rep.Problems = append(rep.Problems, problem)
	}
	rep.Clips = judgeClips(in, recs, cps, allowed)
	rep.Gaps = FindGaps(in.Records)
	return rep
}
