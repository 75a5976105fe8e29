package checkpoint

import (
	"fmt"
	"math"
	"time"

	"github.com/transparency-dev/merkle/proof"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/tx"
)

// The succession rule (docs/SPEC.md §2.4 Checkpoint, §6.3) decides whether a
// camera-signed checkpoint may stand where it is in its epoch. The ledger
// applies it to every Checkpoint transaction, `camchain verify` to the
// epoch's checkpoints as a hub lists them, and evidence verification to the
// checkpoints a bundle holds; each calls VerifySuccession with what it
// knows of the checkpoints before, so the rule is written once.
//
// A checkpoint's own fields must agree: periodStart < periodEnd, firstSeq ≤
// lastSeq < 2^64-1, treeSize = lastSeq + 1 ≤ MaxTreeSize, and root and
// chainHead set. The first checkpoint of an epoch starts at record 0 and
// carries no consistency proof; every later one starts at the previous
// one's lastSeq + 1, its period does not start before the previous one
// ended, and its consistency proof shows the previous tree (size previous
// lastSeq + 1, the previous root) to be a prefix of its own.

// Position is what a verifier knows of the checkpoints before the one it
// checks.
type Position uint8

const (
	// Unknown: nothing (an evidence bundle's first checkpoint). Only the
	// checkpoint's own fields can be checked — except that a checkpoint
	// starting at record 0 is its epoch's first whatever came before, so
	// it is checked as FirstOfEpoch.
	Unknown Position = iota
	// FirstOfEpoch: it is the first checkpoint of its epoch.
	FirstOfEpoch
	// RightAfter: Before.Prev is the checkpoint right before it.
	RightAfter
	// SomewhereAfter: Before.Prev is an earlier checkpoint of the epoch,
	// perhaps with others between (a bundle holds only those its clips
	// need). If it starts right after Prev, nothing can be between, and it
	// is checked as RightAfter.
	SomewhereAfter
)

func (p Position) String() string {
	switch p {
	case Unknown:
		return "unknown"
	case FirstOfEpoch:
		return "first-of-epoch"
	case RightAfter:
		return "right-after"
	case SomewhereAfter:
		return "somewhere-after"
	}
	return fmt.Sprintf("position(%d)", uint8(p))
}

// Prev is what the rule needs of an earlier checkpoint, itself already
// checked: its last record, the end of its period and its root (its tree
// size is LastSeq + 1).
type Prev struct {
	LastSeq   uint64
	PeriodEnd uint64
	Root      feedchain.Hash
}

// PrevOf is the Prev of a checkpoint.
func PrevOf(m *tx.Checkpoint) Prev {
	return Prev{LastSeq: m.LastSeq, PeriodEnd: m.PeriodEnd, Root: m.Root}
}

// Before says what is known of the checkpoints before the one checked.
type Before struct {
	Position Position
	Prev     Prev // for RightAfter and SomewhereAfter
}

// First is the Before of an epoch's first checkpoint.
func First() Before { return Before{Position: FirstOfEpoch} }

// After is the Before of the checkpoint right after prev.
func After(prev Prev) Before { return Before{Position: RightAfter, Prev: prev} }

// LaterThan is the Before of a checkpoint known to come, not necessarily
// right, after prev.
func LaterThan(prev Prev) Before { return Before{Position: SomewhereAfter, Prev: prev} }

// Rule names the part of the succession rule a checkpoint breaks.
type Rule string

const (
	RuleFields      Rule = "fields"      // its own fields disagree
	RuleStart       Rule = "start"       // it does not start where it must
	RulePeriod      Rule = "period"      // its period starts before the previous one ended
	RuleConsistency Rule = "consistency" // its consistency proof is malformed or does not link
)

// SuccessionError says why a checkpoint may not stand where it is.
type SuccessionError struct {
	Rule   Rule
	Reason string // what exactly, with the values
	Err    error  // a *ConsistencyError or ErrMalformedProof, when the proof failed
}

func (e *SuccessionError) Error() string { return e.Reason }

func (e *SuccessionError) Unwrap() error { return e.Err }

// Succession is what VerifySuccession established beyond the rules it
// checked.
type Succession struct {
	// Linked: the checkpoint's place in its epoch is proved — it is the
	// epoch's first, or it starts right after a known checkpoint and its
	// consistency proof from that checkpoint's tree verified.
	Linked bool
	// NotChecked says, when not Linked, what Before did not allow to check.
	NotChecked string
}

// VerifySuccession checks checkpoint m against the succession rule as far
// as before allows, preconditions (its own fields) first. It returns a
// *SuccessionError naming the rule m breaks, or what it proved.
func VerifySuccession(before Before, m *tx.Checkpoint) (Succession, error) {
	fail := func(rule Rule, err error, format string, a ...any) (Succession, error) {
		return Succession{}, &SuccessionError{Rule: rule, Reason: fmt.Sprintf(format, a...), Err: err}
	}
	if err := VerifyFields(m); err != nil {
		return Succession{}, err
	}
	pos, prev := before.Position, before.Prev
	if pos == Unknown && m.FirstSeq == 0 {
		pos = FirstOfEpoch // nothing can come before a checkpoint of record 0
	}
	if pos == SomewhereAfter && prev.LastSeq < math.MaxUint64 && m.FirstSeq == prev.LastSeq+1 {
		pos = RightAfter // nothing can be between
	}
	switch pos {
	case FirstOfEpoch:
		if m.FirstSeq != 0 {
			return fail(RuleStart, nil, "the first checkpoint of an epoch must start at sequence 0, not %d", m.FirstSeq)
		}
		if len(m.Consistency) != 0 {
			return fail(RuleConsistency, nil, "the first checkpoint of an epoch has no previous tree: the consistency proof must be empty")
		}
		return Succession{Linked: true}, nil
	case RightAfter, SomewhereAfter:
		if prev.LastSeq == math.MaxUint64 {
			return fail(RuleStart, nil, "the previous checkpoint ends at sequence %d: nothing can follow it", prev.LastSeq)
		}
		if pos == RightAfter && m.FirstSeq != prev.LastSeq+1 {
			return fail(RuleStart, nil, "checkpoint must start at sequence %d (after the previous checkpoint), not %d", prev.LastSeq+1, m.FirstSeq)
		}
		if pos == SomewhereAfter && m.FirstSeq <= prev.LastSeq {
			return fail(RuleStart, nil, "checkpoint starts at sequence %d, not after the earlier checkpoint's last sequence %d", m.FirstSeq, prev.LastSeq)
		}
		if m.PeriodStart < prev.PeriodEnd {
			return fail(RulePeriod, nil, "period starts at %s, before the previous checkpoint's end %s", unixUTC(m.PeriodStart), unixUTC(prev.PeriodEnd))
		}
	}
	p, err := DecodeProof(m.Consistency)
	if err != nil {
		return fail(RuleConsistency, err, "consistency proof: %v", err)
	}
	switch pos {
	case RightAfter:
		if err := VerifyConsistency(prev.LastSeq+1, m.TreeSize, prev.Root, m.Root, p); err != nil {
			return fail(RuleConsistency, err, "checkpoint does not extend the previous one (history rewritten?): %v", err)
		}
		return Succession{Linked: true}, nil
	case SomewhereAfter:
		if err := checkProofShape(m, p); err != nil {
			return Succession{}, err
		}
		return Succession{NotChecked: fmt.Sprintf("that it extends the checkpoint before it: the checkpoints of records %d–%d are not at hand", prev.LastSeq+1, m.FirstSeq-1)}, nil
	default:
		if err := checkProofShape(m, p); err != nil {
			return Succession{}, err
		}
		return Succession{NotChecked: fmt.Sprintf("that it extends the checkpoint before it (of records up to %d): none is at hand", m.FirstSeq-1)}, nil
	}
}

// VerifyFields checks the first part of the rule, a checkpoint's own
// fields, alone (VerifySuccession starts with it); a *SuccessionError with
// RuleFields says what disagrees.
func VerifyFields(m *tx.Checkpoint) error {
	fail := func(format string, a ...any) error {
		return &SuccessionError{Rule: RuleFields, Reason: fmt.Sprintf(format, a...)}
	}
	switch {
	case m.PeriodStart >= m.PeriodEnd:
		return fail("period start %d is not before period end %d", m.PeriodStart, m.PeriodEnd)
	case m.LastSeq == math.MaxUint64:
		return fail("last sequence %d leaves no room for the tree size", m.LastSeq)
	case m.FirstSeq > m.LastSeq:
		return fail("first sequence %d is after last sequence %d", m.FirstSeq, m.LastSeq)
	case m.TreeSize != m.LastSeq+1:
		return fail("tree size %d must be last sequence + 1 = %d", m.TreeSize, m.LastSeq+1)
	case m.TreeSize > MaxTreeSize:
		return fail("tree size %d exceeds the limit of %d", m.TreeSize, uint64(MaxTreeSize))
	case m.Root == (feedchain.Hash{}) || m.ChainHead == (feedchain.Hash{}):
		return fail("root and chain head must be set")
	}
	return nil
}

// checkProofShape checks, when the previous root is not at hand, what can
// be checked of m's consistency proof without it: the number of hashes a
// proof from the tree of m.FirstSeq records to m's tree has.
func checkProofShape(m *tx.Checkpoint, p []feedchain.Hash) error {
	nodes, err := proof.Consistency(m.FirstSeq, m.TreeSize)
	if err == nil && len(p) != proofLen(nodes) {
		err = fmt.Errorf("proof has %d hashes, want %d", len(p), proofLen(nodes))
	}
	if err != nil {
		return &SuccessionError{Rule: RuleConsistency, Reason: fmt.Sprintf("consistency proof from tree size %d to %d: %v", m.FirstSeq, m.TreeSize, err), Err: err}
	}
	return nil
}

// unixUTC renders Unix seconds for a reason.
func unixUTC(s uint64) string { return time.Unix(int64(s), 0).UTC().Format(time.RFC3339) }
