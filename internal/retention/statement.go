package retention

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// LabelPrune domain-separates the prune statement's digest from every
// other digest camchain signs (SPEC §14.1).
const LabelPrune = "camchain/v1/prune"

// StatementVersion is the layout of the statements this build writes and
// reads.
const StatementVersion = 1

// Sizes of the fixed layout (SPEC §14.1).
const (
	statementBody = 1 + 20 + 8 + 8 + 32 + 8 + 1 + 8
	// StatementSize is the exact length of an encoded statement: every
	// reader refuses any other length before it looks further.
	StatementSize = statementBody + keys.SignatureSize
)

// Reason is why the camera pruned.
type Reason uint8

// Reasons.
const (
	// ReasonBytes: the card's byte budget (the ring buffer): Limit is the
	// budget in bytes.
	ReasonBytes Reason = 1
	// ReasonAge: segments older than the retention: Limit is that age in
	// nanoseconds, and the last pruned segment ended at least that long
	// before At.
	ReasonAge Reason = 2
)

func (r Reason) String() string {
	switch r {
	case ReasonBytes:
		return "card full (ring buffer)"
	case ReasonAge:
		return "older than the retention"
	}
	return fmt.Sprintf("reason-%d", uint8(r))
}

// Statement is a camera's signed word that retention deleted the segment
// files of every seq below Below in its chain of Epoch.
type Statement struct {
	Camera keys.Address
	Epoch  uint64
	Below  uint64         // the files of every seq < Below are gone; ≥ 1
	Last   feedchain.Hash // RecordHash of seq Below−1: binds the statement to this chain
	At     int64          // Unix nanoseconds, the camera's clock when it pruned
	Reason Reason
	Limit  uint64 // bytes (ReasonBytes) or nanoseconds (ReasonAge)
	Sig    keys.Signature
}

// Errors of ParseStatement and VerifyStatement; the typed errors wrap them.
var (
	ErrMalformed       = errors.New("malformed prune statement")
	ErrBadSignature    = errors.New("prune statement not signed by its camera")
	ErrWrongChain      = errors.New("prune statement is for another chain")
	ErrInconsistent    = errors.New("prune statement contradicts the records")
	errUnknownVersion  = fmt.Errorf("%w: unknown version", ErrMalformed)
	errUnknownReason   = fmt.Errorf("%w: unknown reason", ErrMalformed)
	errZeroBelow       = fmt.Errorf("%w: below is 0 (a statement that prunes nothing is never written)", ErrMalformed)
	errNegativeAt      = fmt.Errorf("%w: time before 1970", ErrMalformed)
	errZeroLimit       = fmt.Errorf("%w: limit is 0", ErrMalformed)
	errStatementLength = fmt.Errorf("%w: want exactly %d bytes", ErrMalformed, StatementSize)
)

// Body is the signed part, SPEC §14.1, integers big-endian:
//
//	version u8 ‖ camera [20] ‖ epoch u64 ‖ below u64 ‖ last [32] ‖
//	at i64 ‖ reason u8 ‖ limit u64
func (s *Statement) Body() []byte {
	b := make([]byte, 0, statementBody)
	b = append(b, StatementVersion)
	b = append(b, s.Camera[:]...)
	b = binary.BigEndian.AppendUint64(b, s.Epoch)
	b = binary.BigEndian.AppendUint64(b, s.Below)
	b = append(b, s.Last[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(s.At))
	b = append(b, byte(s.Reason))
	b = binary.BigEndian.AppendUint64(b, s.Limit)
	return b
}

// Digest is what the camera signs: SHA-256(LabelPrune ‖ 0x00 ‖ Body()).
func (s *Statement) Digest() [32]byte {
	h := sha256.New()
	h.Write([]byte(LabelPrune))
	h.Write([]byte{0})
	h.Write(s.Body())
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// Marshal returns Body() ‖ Sig: StatementSize bytes.
func (s *Statement) Marshal() []byte { return append(s.Body(), s.Sig[:]...) }

// check refuses field values no camera writes.
func (s *Statement) check() error {
	switch {
	case s.Below == 0:
		return errZeroBelow
	case s.Reason != ReasonBytes && s.Reason != ReasonAge:
		return errUnknownReason
	case s.At < 0:
		return errNegativeAt
	case s.Limit == 0:
		return errZeroLimit
	}
	return nil
}

// Sign signs the statement with the camera's key.
func (s *Statement) Sign(k keys.Signer) error {
	if k.Address() != s.Camera {
		return fmt.Errorf("sign prune statement: key %s is not camera %s", k.Address().Hex(), s.Camera.Hex())
	}
	if err := s.check(); err != nil {
		return err
	}
	sig, err := k.SignDigest(s.Digest())
	if err != nil {
		return fmt.Errorf("sign prune statement: %w", err)
	}
	s.Sig = sig
	return nil
}

// ParseStatement decodes a statement strictly: exactly StatementSize
// bytes, version 1, a known reason, below ≥ 1, a non-negative time and a
// non-zero limit. It does not check the signature (VerifyStatement does).
func ParseStatement(b []byte) (*Statement, error) {
	if len(b) != StatementSize {
		return nil, fmt.Errorf("%w, got %d", errStatementLength, len(b))
	}
	if b[0] != StatementVersion {
		return nil, fmt.Errorf("%w %d (this build reads %d)", errUnknownVersion, b[0], StatementVersion)
	}
	s := &Statement{}
	p := b[1:]
	copy(s.Camera[:], p[:20])
	p = p[20:]
	s.Epoch = binary.BigEndian.Uint64(p)
	s.Below = binary.BigEndian.Uint64(p[8:])
	p = p[16:]
	copy(s.Last[:], p[:32])
	p = p[32:]
	s.At = int64(binary.BigEndian.Uint64(p))
	s.Reason = Reason(p[8])
	s.Limit = binary.BigEndian.Uint64(p[9:])
	copy(s.Sig[:], p[17:])
	if err := s.check(); err != nil {
		return nil, err
	}
	return s, nil
}

// StatementError says why a statement does not allow what it claims.
type StatementError struct {
	Field    string // "camera", "epoch", "below", "last", "sig" or "age"
	Expected string
	Got      string
	err      error
}

func (e *StatementError) Error() string {
	return fmt.Sprintf("%v: %s is %s, expected %s", e.err, e.Field, e.Got, e.Expected)
}

func (e *StatementError) Unwrap() error { return e.err }

// VerifyStatement checks that s is camera's own statement about its chain
// of epoch: signed by camera, naming that camera and epoch, and bound to
// the chain by last, the record at seq s.Below−1 (nil when the records
// do not reach it). For ReasonAge it also checks that this last pruned
// segment had ended s.Limit before s.At: a camera never writes otherwise,
// so a statement that claims more is refused. Preconditions first, the
// signature last.
func VerifyStatement(s *Statement, camera keys.Address, epoch uint64, last *feedchain.Record) error {
	if err := s.check(); err != nil {
		return err
	}
	if s.Camera != camera {
		return &StatementError{Field: "camera", Expected: camera.Hex(), Got: s.Camera.Hex(), err: ErrWrongChain}
	}
	if s.Epoch != epoch {
		return &StatementError{Field: "epoch", Expected: fmt.Sprint(epoch), Got: fmt.Sprint(s.Epoch), err: ErrWrongChain}
	}
	if last == nil {
		return &StatementError{Field: "below", Expected: "a seq the records reach", Got: fmt.Sprint(s.Below), err: ErrInconsistent}
	}
	if last.Seq != s.Below-1 {
		return fmt.Errorf("retention: verify statement: given record %d, want record %d", last.Seq, s.Below-1)
	}
	if h := last.Hash(); h != s.Last {
		return &StatementError{Field: "last", Expected: h.Short() + " (record " + fmt.Sprint(last.Seq) + ")", Got: s.Last.Short(), err: ErrWrongChain}
	}
	if s.Reason == ReasonAge {
		end := last.StartTime().Add(last.Duration)
		if s.Limit > uint64(1<<63-1) || end.Add(time.Duration(s.Limit)).After(time.Unix(0, s.At)) {
			return &StatementError{Field: "age", Expected: fmt.Sprintf("record %d ended %v before %s", last.Seq, time.Duration(min(s.Limit, 1<<63-1)), time.Unix(0, s.At).UTC().Format(time.RFC3339)),
				Got: "it ended " + end.UTC().Format(time.RFC3339), err: ErrInconsistent}
		}
	}
	got, err := keys.Recover(s.Digest(), s.Sig)
	if err != nil {
		return &StatementError{Field: "sig", Expected: "a signature by " + camera.Hex(), Got: "none that recovers", err: ErrBadSignature}
	}
	if got != camera {
		return &StatementError{Field: "sig", Expected: "a signature by " + camera.Hex(), Got: "one by " + got.Hex(), err: ErrBadSignature}
	}
	return nil
}

// String renders the statement for reports: what it allows, when, why.
func (s *Statement) String() string {
	limit := fmt.Sprintf("%d bytes", s.Limit)
	if s.Reason == ReasonAge {
		limit = time.Duration(min(s.Limit, 1<<63-1)).String()
	}
	return fmt.Sprintf("the camera's signed prune statement (seqs below %d, deleted %s, %s, limit %s)",
		s.Below, time.Unix(0, s.At).UTC().Format(time.RFC3339), s.Reason, limit)
}
