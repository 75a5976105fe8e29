package viewchain

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// Break names what a viewer found wrong with a session (SPEC §15.2).
type Break string

// Breaks, in the order a Verifier checks for them.
const (
	BreakAfterEnd    Break = "after-end"    // something arrived after the hub's signed end
	BreakMalformed   Break = "malformed"    // a link, record or frame that does not decode
	BreakForged      Break = "forged"       // a link not signed by the hub, or a record not by the camera
	BreakForeign     Break = "foreign"      // a link of another session, viewer, camera or epoch: a replayed session
	BreakMissing     Break = "missing"      // a link index skipped: a segment dropped, or delivered out of order
	BreakReplayed    Break = "replayed"     // a link index, or a record, delivered again
	BreakSubstituted Break = "substituted"  // a link whose prev is not the previous link, or a record the link does not name
	BreakStream      Break = "wrong-stream" // a record of the other stream than the one asked for
	BreakRecordChain Break = "record-chain" // a record that does not follow the previous one of its chain
	BreakAltered     Break = "altered"      // segment bytes that are not the record's
	BreakTruncated   Break = "truncated"    // the session ended without the hub's signed end
	// BreakPartChain: a part that does not follow the previous part of
	// its segment or the previous record, or parts that their record does
	// not seal (SPEC §15.2).
	BreakPartChain Break = "part-chain"
)

// BreakError is the first break a Verifier found.
type BreakError struct {
	Break  Break
	Index  uint64 // the link index expected when the break was found
	Seq    uint64 // the record's sequence number, when HasSeq
	HasSeq bool
	Detail string
}

func (e *BreakError) Error() string {
	at := fmt.Sprintf("link #%d", e.Index)
	if e.HasSeq {
		at += fmt.Sprintf(" (record #%d)", e.Seq)
	}
	return fmt.Sprintf("viewer chain broken at %s: %s: %s", at, e.Break, e.Detail)
}

// Checked is what a Verifier accepted.
type Checked struct {
	Link   *Link
	Record *feedchain.Record
	// Skipped counts the records of the chain between the previous
	// delivered record and this one that the hub did not forward (the
	// other stream, a pruned or missing segment, or a gap in the range).
	// The hub's session chain proves none was dropped on the way.
	Skipped uint64
}

// Verifier checks one session as the viewer receives it. Its zero state
// expects link 0. It never accepts a part of a bad input: after an error
// its state is unchanged, and every later call fails the same way.
type Verifier struct {
	hub, camera keys.Address
	nonce       Nonce
	stream      feedchain.Stream

	started bool
	session SessionID
	epoch   uint64
	next    uint64
	prev    feedchain.Hash
	last    feedchain.Head // the last delivered record
	ended   bool
	broken  *BreakError

	// The open segment's parts: the last one accepted (nil: none open),
	// the SHA-256 of their bytes so far, and how many parts.
	open      *feedchain.Part
	openHash  hash.Hash
	openParts int
}

// CheckedPart is a part a Verifier accepted: signed by the camera,
// following the previous part and the previous record, its bytes its
// statement's. It is not yet bound into the chain: its record seals it
// (Tail) when the segment closes; until then it is the camera's word
// about a segment not yet recorded.
type CheckedPart struct {
	Link *Link
	Part *feedchain.Part
}

// Open reports the open segment's parts: the last part accepted and how
// many, or nil when no parts await their record.
func (v *Verifier) Open() (*feedchain.Part, int) { return v.open, v.openParts }

// NewVerifier checks a session of hub forwarding camera's stream to the
// viewer that chose nonce.
func NewVerifier(hub, camera keys.Address, nonce Nonce, stream feedchain.Stream) *Verifier {
	return &Verifier{hub: hub, camera: camera, nonce: nonce, stream: stream}
}

// Session is the session's id, once link 0 was accepted.
func (v *Verifier) Session() (SessionID, bool) { return v.session, v.started }

// Ended reports whether the hub's signed end was accepted.
func (v *Verifier) Ended() bool { return v.ended }

func (v *Verifier) fail(b Break, seq *uint64, format string, a ...any) error {
	e := &BreakError{Break: b, Index: v.next, Detail: fmt.Sprintf(format, a...)}
	if seq != nil {
		e.Seq, e.HasSeq = *seq, true
	}
	v.broken = e
	return e
}

// checkLink checks a link's encoding, signature and place in the session.
func (v *Verifier) checkLink(raw []byte, want Kind) (*Link, error) {
	if v.broken != nil {
		return nil, v.broken
	}
	if v.ended {
		return nil, v.fail(BreakAfterEnd, nil, "a %s arrived after the hub's signed end of the session", want)
	}
	l, err := Parse(raw)
	if err != nil {
		return nil, v.fail(BreakMalformed, nil, "%v", err)
	}
	signer, err := keys.Recover(l.Hash(), l.Sig)
	if err != nil || signer != v.hub || l.Hub != v.hub {
		return nil, v.fail(BreakForged, nil, "link #%d is not signed by the hub %s", l.Index, v.hub.Hex())
	}
	switch {
	case l.Nonce != v.nonce:
		return nil, v.fail(BreakForeign, nil, "link #%d answers another viewer's nonce %s, not ours: a session replayed", l.Index, l.Nonce)
	case l.Camera != v.camera:
		return nil, v.fail(BreakForeign, nil, "link #%d forwards camera %s, not %s", l.Index, l.Camera.Hex(), v.camera.Hex())
	case v.started && l.Session != v.session:
		return nil, v.fail(BreakForeign, nil, "link #%d is of session %s, not this session %s: replayed from another session", l.Index, l.Session, v.session)
	case v.started && l.Epoch != v.epoch:
		return nil, v.fail(BreakForeign, nil, "link #%d names epoch %d, the session is in epoch %d", l.Index, l.Epoch, v.epoch)
	case l.Index < v.next:
		return nil, v.fail(BreakReplayed, nil, "link #%d delivered again (#%d expected)", l.Index, v.next)
	case l.Index > v.next:
		return nil, v.fail(BreakMissing, nil, "link #%d arrived where #%d was expected: %d segment(s) dropped, or delivered out of order", l.Index, v.next, l.Index-v.next)
	case l.Prev != v.prev:
		return nil, v.fail(BreakSubstituted, nil, "link #%d does not follow the previous link (prev %s, expected %s)", l.Index, l.Prev.Short(), v.prev.Short())
	case l.Kind != want:
		return nil, v.fail(BreakMalformed, nil, "link #%d is a %s link where a %s link was expected", l.Index, l.Kind, want)
	}
	return l, nil
}

func (v *Verifier) accept(l *Link) {
	if !v.started {
		v.started, v.session, v.epoch = true, l.Session, l.Epoch
	}
	v.next, v.prev = l.Index+1, l.Hash()
}

// Segment checks one delivered segment: its link (signed by the hub, next
// in this session), its record (signed by the camera, the one the link
// names, of the asked stream, after the previous delivered record in its
// chain) and its bytes (the record's size and SHA-256). The first break
// comes back as a *BreakError.
func (v *Verifier) Segment(rawLink, rawRecord, data []byte) (*Checked, error) {
	return v.segment(rawLink, rawRecord, data, false)
}

// Tail checks the record that closes a segment whose parts came first
// (Part): as Segment, and the record must seal the parts — their camera,
// epoch, stream, seq and prev — with its size and SHA-256 those of the
// parts' bytes followed by rest.
func (v *Verifier) Tail(rawLink, rawRecord, rest []byte) (*Checked, error) {
	return v.segment(rawLink, rawRecord, rest, true)
}

func (v *Verifier) segment(rawLink, rawRecord, data []byte, tail bool) (*Checked, error) {
	l, err := v.checkLink(rawLink, KindSegment)
	if err != nil {
		return nil, err
	}
	r, err := feedchain.Parse(rawRecord)
	if err != nil {
		return nil, v.fail(BreakMalformed, nil, "record of link #%d: %v", l.Index, err)
	}
	seq := &r.Seq
	if err := feedchain.Verify(r); err != nil {
		return nil, v.fail(BreakForged, seq, "%v", err)
	}
	switch {
	case r.Hash() != l.Record:
		return nil, v.fail(BreakSubstituted, seq, "record %s is not the record %s the hub's link #%d names", r.Hash().Short(), l.Record.Short(), l.Index)
	case r.Camera != v.camera:
		return nil, v.fail(BreakForeign, seq, "record of camera %s, not %s", r.Camera.Hex(), v.camera.Hex())
	case r.Epoch != l.Epoch:
		return nil, v.fail(BreakForeign, seq, "record of epoch %d in a session of epoch %d", r.Epoch, l.Epoch)
	case r.Stream != v.stream:
		return nil, v.fail(BreakStream, seq, "a %s-stream record in a %s-stream session", r.Stream, v.stream)
	}
	var skipped uint64
	if v.last.Valid {
		switch {
		case r.Seq == v.last.Seq:
			return nil, v.fail(BreakReplayed, seq, "record #%d delivered again", r.Seq)
		case r.Seq < v.last.Seq:
			return nil, v.fail(BreakRecordChain, seq, "record #%d after record #%d: out of order", r.Seq, v.last.Seq)
		case r.Seq == v.last.Seq+1 && r.Prev != v.last.Hash:
			return nil, v.fail(BreakRecordChain, seq, "record #%d does not follow record #%d (prev %s, expected %s): the camera's chain forks", r.Seq, v.last.Seq, r.Prev.Short(), v.last.Hash.Short())
		}
		skipped = r.Seq - v.last.Seq - 1
	}
	switch {
	case !tail && v.open != nil:
		return nil, v.fail(BreakPartChain, seq, "record #%d arrived whole while %d part(s) of record #%d await their record", r.Seq, v.openParts, v.open.Seq)
	case tail && v.open == nil:
		return nil, v.fail(BreakPartChain, seq, "record #%d closes parts that never came", r.Seq)
	case tail:
		if err := feedchain.VerifySealed(v.open, r); err != nil {
			return nil, v.fail(BreakPartChain, seq, "record #%d does not seal the parts before it: %v", r.Seq, err)
		}
		// The running hash is consumed: on a mismatch the session is
		// broken for good anyway.
		if err := sealedSegment(v.open, v.openHash, r, data); err != nil {
			return nil, v.fail(BreakAltered, seq, "%v", err)
		}
	default:
		if err := feedchain.VerifySegment(r, data); err != nil {
			return nil, v.fail(BreakAltered, seq, "%v", err)
		}
	}
	v.accept(l)
	v.last = feedchain.HeadOf(r)
	v.open, v.openHash, v.openParts = nil, nil, 0
	return &Checked{Link: l, Record: r, Skipped: skipped}, nil
}

// sealedSegment checks that the parts' bytes (hashed so far in h, ending
// at last) followed by rest are record r's segment. h is consumed.
func sealedSegment(last *feedchain.Part, h hash.Hash, r *feedchain.Record, rest []byte) error {
	if got := last.End() + uint64(len(rest)); got != r.Size {
		return &feedchain.SegmentError{Seq: r.Seq, Field: "size", Expected: fmt.Sprint(r.Size), Got: fmt.Sprintf("%d (parts %d, rest %d)", got, last.End(), len(rest))}
	}
	h.Write(rest)
	var got feedchain.Hash
	h.Sum(got[:0])
	if got != r.Segment {
		return &feedchain.SegmentError{Seq: r.Seq, Field: "sha256", Expected: r.Segment.Short(), Got: got.Short()}
	}
	return nil
}

// Part checks one delivered part of the open segment: its link (signed
// by the hub, next in this session, naming the statement), its statement
// (signed by the camera, of the asked stream, following the previous part
// of its segment or, for part 0, the previous delivered record) and its
// bytes. Parts go only to sessions that asked for them (SPEC §15.5).
func (v *Verifier) Part(rawLink, rawStatement, data []byte) (*CheckedPart, error) {
	l, err := v.checkLink(rawLink, KindPart)
	if err != nil {
		return nil, err
	}
	p, err := feedchain.ParsePart(rawStatement)
	if err != nil {
		return nil, v.fail(BreakMalformed, nil, "part statement of link #%d: %v", l.Index, err)
	}
	seq := &p.Seq
	if err := feedchain.VerifyPart(p); err != nil {
		return nil, v.fail(BreakForged, seq, "%v", err)
	}
	switch {
	case p.Hash() != l.Record:
		return nil, v.fail(BreakSubstituted, seq, "part statement %s is not the part %s the hub's link #%d names", p.Hash().Short(), l.Record.Short(), l.Index)
	case p.Camera != v.camera:
		return nil, v.fail(BreakForeign, seq, "part of camera %s, not %s", p.Camera.Hex(), v.camera.Hex())
	case p.Epoch != l.Epoch:
		return nil, v.fail(BreakForeign, seq, "part of epoch %d in a session of epoch %d", p.Epoch, l.Epoch)
	case p.Stream != v.stream:
		return nil, v.fail(BreakStream, seq, "a %s-stream part in a %s-stream session", p.Stream, v.stream)
	}
	if v.open != nil {
		if err := feedchain.VerifyPartNext(v.camera, l.Epoch, v.stream, feedchain.Head{}, v.open, p); err != nil {
			return nil, v.fail(BreakPartChain, seq, "%v", err)
		}
	} else {
		switch {
		case p.Index != 0:
			return nil, v.fail(BreakPartChain, seq, "part %d of record #%d without the parts before it", p.Index, p.Seq)
		case v.last.Valid && p.Seq <= v.last.Seq:
			return nil, v.fail(BreakReplayed, seq, "a part of record #%d, delivered already", p.Seq)
		case v.last.Valid && p.Seq == v.last.Seq+1 && p.Prev != v.last.Hash:
			return nil, v.fail(BreakRecordChain, seq, "part of record #%d does not follow record #%d (prev %s, expected %s): the camera's chain forks", p.Seq, v.last.Seq, p.Prev.Short(), v.last.Hash.Short())
		}
	}
	if err := feedchain.VerifyPartData(p, data); err != nil {
		return nil, v.fail(BreakAltered, seq, "%v", err)
	}
	v.accept(l)
	if v.open == nil {
		v.openHash, v.openParts = sha256.New(), 0
	}
	v.openHash.Write(data)
	v.open = p
	v.openParts++
	return &CheckedPart{Link: l, Part: p}, nil
}

// End checks the hub's signed end of the session.
func (v *Verifier) End(rawLink []byte) error {
	l, err := v.checkLink(rawLink, KindEnd)
	if err != nil {
		return err
	}
	if v.open != nil {
		return v.fail(BreakPartChain, &v.open.Seq, "the session ended with %d part(s) of record #%d not sealed by their record", v.openParts, v.open.Seq)
	}
	v.accept(l)
	v.ended = true
	return nil
}

// Finish is called when the session's stream closed: a session that was
// to end (a recorded range) and has no signed end was cut short.
func (v *Verifier) Finish(wantEnd bool) error {
	if v.broken != nil {
		return v.broken
	}
	if wantEnd && !v.ended {
		return v.fail(BreakTruncated, nil, "the stream closed after %d link(s) without the hub's signed end: segments cut off", v.next)
	}
	return nil
}

// IsBreak reports whether err is a break of kind b.
func IsBreak(err error, b Break) bool {
	var be *BreakError
	return errors.As(err, &be) && be.Break == b
}
