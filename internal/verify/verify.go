package verify

import (
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// Input is everything Verify looks at, gathered by the caller.
type Input struct {
	Camera keys.Address
	Epoch  uint64
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
	// PrunedBelow is the store's pruned marker (ReadPruned): retention
	// deleted the segment files of every seq below it.
	PrunedBelow uint64
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

// record is what Verify works out about one record.
type record struct {
	r    *feedchain.Record
	hash feedchain.Hash
	bad  string // why the record is not this camera's; "" if it is well formed and signed

	status Status
	detail string
	cite   *CheckpointRef
}

// ckpt is what Verify works out about one checkpoint.
type ckpt struct {
	in    Checkpoint
	msg   *tx.Checkpoint // nil unless it decoded as a Checkpoint
	ref   *CheckpointRef
	res   CheckpointResult
	valid bool // camera-signed, well formed, extends its predecessor
}

func (c *ckpt) fail(format string, a ...any) {
	c.res.Status, c.res.Detail = Failed, fmt.Sprintf(format, a...)
}

// Verify checks in's clips against its records and checkpoints and
// returns a verdict on every clip (see the package documentation). It is a
// pure function of in; it does not touch the file system.
func Verify(in Input) *Report {
	rep := &Report{Camera: in.Camera.Hex(), Epoch: in.Epoch, Records: len(in.Records),
		Clips: []Result{}, Checkpoints: []CheckpointResult{}}
	if in.LogDamage != nil {
		rep.Problems = append(rep.Problems, "records.log "+in.LogDamage.String())
	}
	recs := checkRecords(in)
	cps := checkCheckpoints(in)
	expected, hasExp, expBy, cite := anchor(recs, cps)
	for _, c := range cps {
		rep.Checkpoints = append(rep.Checkpoints, c.res)
	}
	judgeRecords(recs, cps, expected, hasExp, expBy, cite)
	rep.Clips = judgeClips(in, recs, cps)
	rep.Gaps = FindGaps(in.Records)
	return rep
}

// checkRecords hashes every record and checks that it is well formed,
// names this camera, epoch and its position as seq, and is signed by the
// camera, on every core (a signature check costs about 35 µs).
func checkRecords(in Input) []record {
	recs := make([]record, len(in.Records))
	check := func(i int) {
		r := in.Records[i]
		rec := &recs[i]
		rec.r, rec.hash = r, r.Hash()
		switch {
		case r.Camera != in.Camera:
			rec.bad = fmt.Sprintf("record names camera %s, not this camera %s", r.Camera.Hex(), in.Camera.Hex())
		case r.Epoch != in.Epoch:
			rec.bad = fmt.Sprintf("record names epoch %d, not %d", r.Epoch, in.Epoch)
		case r.Seq != uint64(i):
			rec.bad = fmt.Sprintf("entry %d of the log holds a record with seq %d", i, r.Seq)
		default:
			if err := feedchain.Verify(r); err != nil {
				rec.bad = fmt.Sprintf("not signed by this camera: %v", err)
			}
		}
	}
	workers := min(runtime.GOMAXPROCS(0), (len(recs)+255)/256)
	if workers <= 1 {
		for i := range recs {
			check(i)
		}
		return recs
	}
	var wg sync.WaitGroup
	per := (len(recs) + workers - 1) / workers
	for w := range workers {
		lo, hi := w*per, min((w+1)*per, len(recs))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				check(i)
			}
		})
	}
	wg.Wait()
	return recs
}

// checkCheckpoints checks each checkpoint on its own and against its
// predecessor: the bytes are the listed transaction, a strict Checkpoint
// for this camera and epoch, signed by the camera, with sane fields,
// starting where the previous one ended and proved consistent with it.
func checkCheckpoints(in Input) []*ckpt {
	sorted := slices.Clone(in.Checkpoints)
	slices.SortStableFunc(sorted, func(a, b Checkpoint) int { return cmp.Compare(a.Index, b.Index) })
	cps := make([]*ckpt, len(sorted))
	for k, c := range sorted {
		cp := &ckpt{in: c, ref: &CheckpointRef{Index: c.Index, Height: c.Height, Time: c.Time, TxHash: c.TxHash}}
		cp.res = CheckpointResult{Index: c.Index, Height: c.Height, Time: c.Time, TxHash: c.TxHash, Status: Verified}
		cps[k] = cp
		var prev *ckpt
		if k > 0 {
			prev = cps[k-1]
		}
		checkCheckpoint(in, cp, k, prev)
	}
	return cps
}

func checkCheckpoint(in Input, cp *ckpt, k int, prev *ckpt) {
	c := cp.in
	if sha256.Sum256(c.Tx) != c.TxHash {
		cp.fail("its transaction bytes do not hash to the tx hash the ledger lists")
		return
	}
	t, err := tx.Decode(c.Tx)
	if err != nil {
		cp.fail("its transaction does not decode: %v", err)
		return
	}
	m, ok := t.Msg.(*tx.Checkpoint)
	if !ok {
		cp.fail("its transaction is a %s, not a Checkpoint", t.Msg.Type())
		return
	}
	cp.msg = m
	cp.res.FirstSeq, cp.res.LastSeq, cp.res.TreeSize, cp.res.Root = m.FirstSeq, m.LastSeq, m.TreeSize, m.Root
	signers, err := t.Signers()
	switch {
	case err != nil:
		cp.fail("its signature does not recover: %v", err)
		return
	case signers[0] != in.Camera:
		cp.fail("not signed by the camera (signed by %s): not a checkpoint the camera made", signers[0].Hex())
		return
	case in.EVMChainID != 0 && t.EVMChainID != in.EVMChainID:
		cp.fail("signed for ledger chain id %d, not %d", t.EVMChainID, in.EVMChainID)
		return
	case m.Camera != in.Camera || m.Epoch != in.Epoch:
		cp.fail("it is for camera %s epoch %d, not camera %s epoch %d", m.Camera.Hex(), m.Epoch, in.Camera.Hex(), in.Epoch)
		return
	}
	if err := checkpoint.VerifyFields(m); err != nil {
		cp.fail("malformed: %v", err)
		return
	}
	if c.Index != uint64(k) {
		cp.fail("the ledger lists it as checkpoint #%d where #%d belongs: a checkpoint is missing from the list", c.Index, k)
		return
	}
	// The succession rule (checkpoint.VerifySuccession): the hub lists the
	// whole epoch, so each checkpoint is checked right after the one before.
	before := checkpoint.First()
	if prev != nil {
		if !prev.valid {
			cp.fail("its predecessor #%d is not valid, so it cannot be linked to the history before it", prev.in.Index)
			return
		}
		before = checkpoint.After(checkpoint.PrevOf(prev.msg))
	}
	_, err = checkpoint.VerifySuccession(before, m)
	var se *checkpoint.SuccessionError
	switch {
	case err == nil:
		cp.valid = true
	case prev == nil:
		cp.fail("%v", err)
	case errors.As(err, &se) && se.Rule == checkpoint.RuleConsistency:
		cp.fail("does not extend checkpoint #%d (history rewritten): %v", prev.in.Index, err)
	default:
		cp.fail("does not follow checkpoint #%d: %v", prev.in.Index, err)
	}
}

// anchor works out, for every sequence number it can, the record hash the
// camera committed (expected), which checkpoint says so (expBy), and which
// checkpoint proves each record on hand (cite), and sets each valid
// checkpoint's verdict.
//
// A valid checkpoint's chain head is the committed hash of its last record;
// walking down from it, every record on hand that has the committed hash
// gives, by its prev field, the committed hash of the one before. Where a
// record differs, the walk stops; the committed hash then stands in for it
// in the tree, so that a checkpoint whose root matches proves every other
// record below it, and the replaced record alone is named.
func anchor(recs []record, cps []*ckpt) (expected []feedchain.Hash, hasExp []bool, expBy, cite []int) {
	n := uint64(len(recs))
	// Only sequence numbers with a record on hand matter here; a
	// checkpoint beyond them cannot be checked (and its size, which the
	// camera chose, must not size an allocation).
	expected, hasExp = make([]feedchain.Hash, n), make([]bool, n)
	expBy, cite = make([]int, n), make([]int, n)
	for i := range n {
		expBy[i], cite[i] = -1, -1
	}
	for k, c := range cps { // ascending, so each record is cited by the earliest proof
		if !c.valid || c.msg.LastSeq >= n {
			continue
		}
		i := c.msg.LastSeq
		if hasExp[i] && expected[i] != c.msg.ChainHead {
			c.fail("its chain head %s contradicts the history an earlier checkpoint committed", c.msg.ChainHead.Short())
			c.valid = false
			continue
		}
		expected[i], hasExp[i], expBy[i] = c.msg.ChainHead, true, k
		for recs[i].hash == expected[i] && cite[i] < 0 {
			cite[i] = k
			if i == 0 {
				break
			}
			p := recs[i].r.Prev
			if hasExp[i-1] && expected[i-1] != p {
				break
			}
			if !hasExp[i-1] {
				expected[i-1], hasExp[i-1], expBy[i-1] = p, true, k
			}
			i--
		}
	}

	// The tree over the records on hand, committed hashes standing in
	// for the records that differ.
	tree := checkpoint.NewTree()
	for i := range n {
		if hasExp[i] {
			tree.Append(expected[i])
		} else {
			tree.Append(recs[i].hash)
		}
	}
	filled := uint64(0) // every seq below has its expected hash
	proved := uint64(0) // records below this are all cited already
	for k, c := range cps {
		if !c.valid {
			continue
		}
		m := c.msg
		if m.TreeSize > n {
			c.res.Status = Unchecked
			c.res.Detail = fmt.Sprintf("covers seq %d–%d, but the records here end at seq %s: its tree cannot be rebuilt", m.FirstSeq, m.LastSeq, lastSeq(n))
			continue
		}
		root, err := tree.RootAt(m.TreeSize)
		if err != nil { // unreachable: TreeSize ≤ n
			c.fail("%v", err)
			continue
		}
		if root != m.Root {
			c.fail("its root %s is not the root %s of the tree of the first %d records here: history rewritten",
				m.Root.Short(), root.Short(), m.TreeSize)
			continue
		}
		for ; filled < m.TreeSize; filled++ {
			if !hasExp[filled] {
				expected[filled], hasExp[filled], expBy[filled] = recs[filled].hash, true, k
			}
		}
		for ; proved < m.TreeSize; proved++ {
			if cite[proved] < 0 && recs[proved].hash == expected[proved] {
				cite[proved] = k
			}
		}
	}
	return expected, hasExp, expBy, cite
}

// beyond returns the valid checkpoint that covers seq when the records
// on hand end before seq, or nil.
func beyond(cps []*ckpt, seq uint64) *ckpt {
	for _, c := range cps {
		if c.valid && c.msg.FirstSeq <= seq && seq <= c.msg.LastSeq {
			return c
		}
	}
	return nil
}

// lastSeq renders the last sequence number of a chain of n records.
func lastSeq(n uint64) string {
	if n == 0 {
		return "none (no records)"
	}
	return fmt.Sprint(n - 1)
}

// covering returns the checkpoint whose range holds seq, or nil.
func covering(cps []*ckpt, seq uint64) *ckpt {
	for _, c := range cps {
		if c.msg != nil && c.msg.FirstSeq <= seq && seq <= c.msg.LastSeq {
			return c
		}
	}
	return nil
}

// judgeRecords gives every record its verdict, before looking at files.
func judgeRecords(recs []record, cps []*ckpt, expected []feedchain.Hash, hasExp []bool, expBy, cite []int) {
	// committed reports whether a verified checkpoint stands behind the
	// expected hash of seq i: only then does a record that differs from it
	// stand out as the one replaced. Under a failed checkpoint every record
	// it does not prove is suspect alike.
	committed := func(i int) bool { return hasExp[i] && cps[expBy[i]].res.Status == Verified }
	for i := range recs {
		rec := &recs[i]
		switch {
		case hasExp[i] && rec.hash == expected[i] && cite[i] >= 0:
			if rec.bad != "" { // a checkpoint committed a record the camera did not sign: cannot happen short of a broken key
				rec.status, rec.detail = Forged, rec.bad
				continue
			}
			rec.status, rec.cite = Verified, cps[cite[i]].ref
		case committed(i) && rec.hash != expected[i]:
			by := cps[expBy[i]]
			rec.status = Forged
			if rec.bad != "" {
				rec.detail = fmt.Sprintf("%s; checkpoint #%d committed another record here (hash %s, this one %s)",
					rec.bad, by.in.Index, expected[i].Short(), rec.hash.Short())
			} else {
				rec.detail = fmt.Sprintf("signed by the camera, but not the record checkpoint #%d committed here (hash %s, this one %s): the chain link is broken, history rewritten",
					by.in.Index, expected[i].Short(), rec.hash.Short())
			}
		case rec.bad != "":
			rec.status, rec.detail = Forged, rec.bad
		case i > 0 && brokenLink(recs, i, expected, committed(i-1)):
			rec.status = Forged
			rec.detail = fmt.Sprintf("the chain link is broken: its prev is %s, but record %d hashes to %s",
				rec.r.Prev.Short(), i-1, recs[i-1].hash.Short())
		default:
			c := covering(cps, uint64(i))
			switch {
			case c != nil && c.res.Status == Failed:
				rec.status = Failed
				rec.detail = fmt.Sprintf("checkpoint #%d (height %d) covers it and failed: %s", c.in.Index, c.in.Height, c.res.Detail)
			case c != nil && c.res.Status == Unchecked:
				rec.status = Pending
				rec.detail = fmt.Sprintf("checkpoint #%d (height %d) %s", c.in.Index, c.in.Height, c.res.Detail)
			case i > 0 && recs[i-1].status == Forged && rec.r.Prev == recs[i-1].hash:
				rec.status = Forged
				rec.detail = fmt.Sprintf("it follows record %d, which is forged", i-1)
			default:
				rec.status, rec.detail = Pending, "no checkpoint covers it yet"
			}
		}
	}
}

// brokenLink reports whether record i does not follow record i-1 in a way
// record i is to blame for: its prev is neither the committed hash of i-1
// (when a verified checkpoint gives it) nor the hash of a record i-1 that
// is itself the camera's.
func brokenLink(recs []record, i int, expected []feedchain.Hash, prevCommitted bool) bool {
	p := recs[i].r.Prev
	if prevCommitted {
		return p != expected[i-1] && (recs[i-1].status != Forged || p == recs[i-1].hash)
	}
	return p != recs[i-1].hash && recs[i-1].status != Forged
}

// judgeClips gives every clip file its verdict, then, for a complete
// directory, every record without one.
func judgeClips(in Input, recs []record, cps []*ckpt) []Result {
	n := uint64(len(recs))
	bySegment := make(map[feedchain.Hash]uint64, n)
	for i := len(recs) - 1; i >= 0; i-- { // the lowest seq wins a (never seen) duplicate
		bySegment[recs[i].r.Segment] = uint64(i)
	}
	// contentOf returns the record whose segment the clip's bytes are.
	contentOf := func(c *Clip) (uint64, bool) {
		m, ok := bySegment[c.SHA256]
		return m, ok && uint64(c.Size) == recs[m].r.Size
	}
	accounted := make([]bool, n)
	named := map[uint64]bool{} // files for seqs beyond the records that a checkpoint covers
	var out []Result
	seqp := func(s uint64) *uint64 { return &s }
	fromRecord := func(path string, seq uint64, prefix string) Result {
		rec := &recs[seq]
		d := rec.detail
		if prefix != "" {
			d = prefix + joinDetail(d)
		}
		return Result{Seq: seqp(seq), Path: path, Status: rec.status, Detail: d, Checkpoint: rec.cite}
	}

	for i := range in.Clips {
		c := &in.Clips[i]
		switch {
		case c.ReadErr != "":
			r := Result{Path: c.Path, Status: Unreadable, Detail: c.ReadErr}
			if c.Named {
				r.Seq = seqp(c.Seq)
			}
			out = append(out, r)
		case c.Named && c.Seq < n:
			accounted[c.Seq] = true
			rec := &recs[c.Seq]
			if uint64(c.Size) == rec.r.Size && c.SHA256 == rec.r.Segment {
				out = append(out, fromRecord(c.Path, c.Seq, ""))
				continue
			}
			r := Result{Seq: seqp(c.Seq), Path: c.Path}
			if m, ok := contentOf(c); ok {
				accounted[m] = true
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
			out = append(out, r)
		case c.Named:
			r := Result{Seq: seqp(c.Seq), Path: c.Path, Status: Inserted}
			if m, ok := contentOf(c); ok {
				accounted[m] = true
				r.Detail = fmt.Sprintf("a copy of seq %d's clip under a sequence number that has no record (the records end at seq %s)", m, lastSeq(n))
			} else if cp := beyond(cps, c.Seq); cp != nil {
				// The camera committed a record for this seq that is not
				// here: the clip may be genuine but cannot be checked.
				r.Status = Pending
				r.Detail = fmt.Sprintf("no record for seq %d here (the records end at seq %s), though checkpoint #%d (height %d) commits seq %d–%d: it cannot be checked without its record",
					c.Seq, lastSeq(n), cp.in.Index, cp.in.Height, cp.msg.FirstSeq, cp.msg.LastSeq)
				named[c.Seq] = true
			} else {
				r.Detail = fmt.Sprintf("no record for seq %d (the records end at seq %s): not from this camera", c.Seq, lastSeq(n))
			}
			out = append(out, r)
		default:
			if m, ok := contentOf(c); ok {
				accounted[m] = true
				out = append(out, fromRecord(c.Path, m, fmt.Sprintf("matched to seq %d by its content", m)))
				continue
			}
			out = append(out, Result{Path: c.Path, Status: Inserted,
				Detail: fmt.Sprintf("matches no record of camera %s epoch %d: not from this camera", in.Camera.Hex(), in.Epoch)})
		}
	}

	if in.Complete {
		for i := range n {
			if accounted[i] {
				continue
			}
			rec := &recs[i]
			r := Result{Seq: seqp(i), Status: rec.status, Detail: rec.detail, Checkpoint: rec.cite}
			switch {
			case rec.status == Forged || rec.status == Failed:
				r.Detail += "; and its clip file is gone"
			case i < in.PrunedBelow:
				r.Status, r.Detail = Pruned, "deleted by retention, as the store's pruned marker says (the marker is not signed)"
			case rec.status == Verified:
				r.Status, r.Detail = Missing, "no clip file: deleted; its record is committed by "+rec.cite.String()
			default:
				r.Status, r.Detail = Missing, "no clip file: deleted (no checkpoint covers it yet)"
			}
			out = append(out, r)
		}
		// Sequence numbers a valid checkpoint covers with neither a record
		// nor a file here: one result per run, since there may be any
		// number of them.
		files := slices.Sorted(maps.Keys(named))
		for _, c := range cps {
			if !c.valid || c.msg.TreeSize <= n {
				continue
			}
			missingRun := func(from, to uint64) { // inclusive
				d := fmt.Sprintf("no record and no clip for seq %d", from)
				if to > from {
					d = fmt.Sprintf("no record and no clip for seq %d–%d (%d records)", from, to, to-from+1)
				}
				out = append(out, Result{Seq: seqp(from), Status: Missing, Detail: fmt.Sprintf(
					"%s, but checkpoint #%d (height %d) commits seq %d–%d; the records here end at seq %s",
					d, c.in.Index, c.in.Height, c.msg.FirstSeq, c.msg.LastSeq, lastSeq(n))})
			}
			from := max(n, c.msg.FirstSeq)
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
	return out
}

func joinDetail(d string) string {
	if d == "" {
		return ""
	}
	return "; " + d
}
