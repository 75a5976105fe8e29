package verify

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/camchain/camchain/internal/feedchain"
)

// judgeClips gives every clip file its verdict, then, for a complete
// directory, every record without one.
func judgeClips(in Input, recs []record, cps []*ckpt, allowed *pruneAllowance) []Result {
	j := newClipJudge(in, recs, cps)
	j.allowed = allowed
	for i := range in.Clips {
		j.out = append(j.out, j.judge(&in.Clips[i]))
	}
	if in.Complete {
		j.recordsWithoutClips()
		j.committedWithoutRecords()
	}
	sortResults(j.out)
	return j.out
}

// clipJudge is judgeClips' state: what it knows of the records, and what
// the clips judged so far account for.
type clipJudge struct {
	in   Input
	recs []record
	cps  []*ckpt
	n    uint64 // records on hand
	// bySegment finds a record by its segment hash, for files under
	// another name or seq; the lowest seq wins a (never seen) duplicate.
	bySegment map[feedchain.Hash]uint64
	// accounted[seq]: a clip file stands for record seq.
	accounted []bool
	// named: seqs beyond the records whose file a valid checkpoint covers.
	named map[uint64]bool
	// allowed is what the camera's signed prune statement allows; nil: nothing.
	allowed *pruneAllowance
	out     []Result
}

func newClipJudge(in Input, recs []record, cps []*ckpt) *clipJudge {
	n := uint64(len(recs))
	j := &clipJudge{in: in, recs: recs, cps: cps, n: n, bySegment: make(map[feedchain.Hash]uint64, n),
		accounted: make([]bool, n), named: map[uint64]bool{}}
	for i := len(recs) - 1; i >= 0; i-- {
		j.bySegment[recs[i].r.Segment] = uint64(i)
	}
	return j
}

// contentOf returns the record whose segment the clip's bytes are.
func (j *clipJudge) contentOf(c *Clip) (uint64, bool) {
	m, ok := j.bySegment[c.SHA256]
	return m, ok && uint64(c.Size) == j.recs[m].r.Size
}

// fromRecord is a clip that is record seq's segment: the record's verdict.
func (j *clipJudge) fromRecord(path string, seq uint64, prefix string) Result {
	rec := &j.recs[seq]
	d := rec.detail
	if prefix != "" {
		d = prefix + joinDetail(d)
	}
	return Result{Seq: seqPtr(seq), Path: path, Status: rec.status, Detail: d, Checkpoint: rec.cite}
}

// judge gives one clip file its verdict.
func (j *clipJudge) judge(c *Clip) Result {
	switch {
	case c.ReadErr != "":
		r := Result{Path: c.Path, Status: Unreadable, Detail: c.ReadErr}
		if c.Named {
			r.Seq = seqPtr(c.Seq)
		}
		return r
	case c.Named && c.Seq < j.n:
		return j.namedInChain(c)
	case c.Named:
		return j.namedBeyond(c)
	}
	if m, ok := j.contentOf(c); ok {
		j.accounted[m] = true
		return j.fromRecord(c.Path, m, fmt.Sprintf("matched to seq %d by its content", m))
	}
	return Result{Path: c.Path, Status: Inserted,
		Detail: fmt.Sprintf("matches no record of camera %s epoch %d: not from this camera", j.in.Camera.Hex(), j.in.Epoch)}
}

// namedInChain judges a file named for a seq the records have: its own
// segment, another record's, a truncated or a modified one.
func (j *clipJudge) namedInChain(c *Clip) Result {
	j.accounted[c.Seq] = true
	rec := &j.recs[c.Seq]
	if uint64(c.Size) == rec.r.Size && c.SHA256 == rec.r.Segment {
		return j.fromRecord(c.Path, c.Seq, "")
	}
	r := Result{Seq: seqPtr(c.Seq), Path: c.Path}
	if m, ok := j.contentOf(c); ok {
		j.accounted[m] = true
		r.Status, r.Detail = OutOfOrder, fmt.Sprintf("holds the segment of seq %d, not its own", m)
	} else if uint64(c.Size) < rec.r.Size {
		r.Status, r.Detail = Truncated, fmt.Sprintf("%d bytes, the record says %d", c.Size, rec.r.Size)
	} else {
		r.Status = Modified
		r.Detail = fmt.Sprintf("sha256 %s, the record says %s", c.SHA256.Short(), rec.r.Segment.Short())
		if uint64(c.Size) != rec.r.Size {
			r.Detail += fmt.Sprintf("; %d bytes, the record says %d", c.Size, rec.r.Size)
		}
	}
	if rec.status == Forged {
		r.Status, r.Detail = Forged, rec.detail+"; and the file "+r.Detail
	}
	return r
}

// namedBeyond judges a file named for a seq past the records: a copy of
// another clip, one a checkpoint commits (pending: its record is not
// here), or not the camera's.
func (j *clipJudge) namedBeyond(c *Clip) Result {
	r := Result{Seq: seqPtr(c.Seq), Path: c.Path, Status: Inserted}
	if m, ok := j.contentOf(c); ok {
		j.accounted[m] = true
		r.Detail = fmt.Sprintf("a copy of seq %d's clip under a sequence number that has no record (the records end at seq %s)", m, lastSeq(j.n))
	} else if cp := beyond(j.cps, c.Seq); cp != nil {
		// The camera committed a record for this seq that is not
		// here: the clip may be genuine but cannot be checked.
		r.Status = Pending
		r.Detail = fmt.Sprintf("no record for seq %d here (the records end at seq %s), though checkpoint #%d (height %d) commits seq %d–%d: it cannot be checked without its record",
			c.Seq, lastSeq(j.n), cp.in.Index, cp.in.Height, cp.msg.FirstSeq, cp.msg.LastSeq)
		j.named[c.Seq] = true
	} else {
		r.Detail = fmt.Sprintf("no record for seq %d (the records end at seq %s): not from this camera", c.Seq, lastSeq(j.n))
	}
	return r
}

// recordsWithoutClips reports every record no clip file stood for:
// pruned, or missing.
func (j *clipJudge) recordsWithoutClips() {
	for i := range j.n {
		if j.accounted[i] {
			continue
		}
		rec := &j.recs[i]
		r := Result{Seq: seqPtr(i), Status: rec.status, Detail: rec.detail, Checkpoint: rec.cite}
		switch {
		case rec.status == Forged || rec.status == Failed:
			r.Detail += "; and its clip file is gone"
		case j.allowed.covers(i):
			r.Status, r.Detail = Pruned, "deleted by retention, as "+j.allowed.by+" says"
		case i < j.in.PrunedBelow && j.policyAllows(rec):
			r.Status, r.Detail = Pruned, j.policyDetail(rec)
		case i < j.in.PrunedBelow && j.emergency(i) != nil:
			e := j.emergency(i)
			r.Status, r.Detail = EmergencyDeleted, fmt.Sprintf("deleted by the hub in an emergency (its disk nearly full), outside the owner's retention policy: its audit event #%d (%s) says seqs %d–%d",
				e.Event, e.At, e.From, e.Below-1)
		case i < j.in.PrunedBelow:
			r.Status, r.Detail = PrunedEarly, fmt.Sprintf("no clip file, and the store's unsigned pruned marker claims retention deleted the files below seq %d, but %s: deleted outside retention",
				j.in.PrunedBelow, j.allowed.describe())
		case rec.status == Verified:
			r.Status, r.Detail = Missing, "no clip file: deleted; its record is committed by "+rec.cite.String()
		default:
			r.Status, r.Detail = Missing, "no clip file: deleted (no checkpoint covers it yet)"
		}
		j.out = append(j.out, r)
	}
}

// committedWithoutRecords reports the sequence numbers a valid checkpoint
// covers with neither a record nor a file here: one result per run, since
// there may be any number of them.
func (j *clipJudge) committedWithoutRecords() {
	files := slices.Sorted(maps.Keys(j.named))
	for _, c := range j.cps {
		if !c.valid || c.msg.TreeSize <= j.n {
			continue
		}
		missingRun := func(from, to uint64) { // inclusive
			d := fmt.Sprintf("no record and no clip for seq %d", from)
			if to > from {
				d = fmt.Sprintf("no record and no clip for seq %d–%d (%d records)", from, to, to-from+1)
			}
			j.out = append(j.out, Result{Seq: seqPtr(from), Status: Missing, Detail: fmt.Sprintf(
				"%s, but checkpoint #%d (height %d) commits seq %d–%d; the records here end at seq %s",
				d, c.in.Index, c.in.Height, c.msg.FirstSeq, c.msg.LastSeq, lastSeq(j.n))})
		}
		from := max(j.n, c.msg.FirstSeq)
		for _, s := range files {
			if s < from || s > c.msg.LastSeq {
				continue
			}
			if s > from {
				missingRun(from, s-1)
			}
			from = s + 1
		}
		if from <= c.msg.LastSeq {
			missingRun(from, c.msg.LastSeq)
		}
	}
}

// sortResults orders results by seq, then path; results without a seq
// last.
func sortResults(out []Result) {
	slices.SortStableFunc(out, func(a, b Result) int {
		switch {
		case a.Seq == nil && b.Seq == nil:
			return cmp.Compare(a.Path, b.Path)
		case a.Seq == nil:
			return 1
		case b.Seq == nil:
			return -1
		}
		return cmp.Or(cmp.Compare(*a.Seq, *b.Seq), cmp.Compare(a.Path, b.Path))
	})
}

func seqPtr(s uint64) *uint64 { return &s }

func joinDetail(d string) string {
	if d == "" {
		return ""
	}
	return "; " + d
}
