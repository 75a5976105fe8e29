package verify_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/retention"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/verify"
	"github.com/camchain/camchain/internal/verify/verifytest"
)

const chainID = 4242

// t0 is when the test camera starts recording.
var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// fixture is a real chain of 12 sample segments written with
// internal/store, and the camera's checkpoints over it.
type fixture struct {
	chain    *verifytest.Chain
	storeDir string              // pristine; each case works on a copy
	full     []verify.Checkpoint // #0: seq 0–4, #1: seq 5–11
}

const fixtureLen = 12

func newFixture(t *testing.T) *fixture {
	t.Helper()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	c := verifytest.NewChain(k, 3)
	if err := c.AppendSample(fixtureLen, t0); err != nil {
		t.Fatal(err)
	}
	f := &fixture{chain: c, storeDir: filepath.Join(t.TempDir(), "store")}
	if _, err := c.WriteStore(f.storeDir); err != nil {
		t.Fatal(err)
	}
	if f.full, err = c.Checkpoints(chainID, 4, 11); err != nil {
		t.Fatal(err)
	}
	return f
}

// copyChain copies the pristine chain directory and returns the copy's.
func (f *fixture) copyChain(t *testing.T) string {
	t.Helper()
	src := verifytest.ChainDir(f.storeDir, f.chain.Key.Address(), f.chain.Epoch)
	dst := verifytest.ChainDir(filepath.Join(t.TempDir(), "store"), f.chain.Key.Address(), f.chain.Epoch)
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// pruneStatementRaw is the statement the camera's store writes when it
// prunes the fixture below n, an hour after its last record, unsigned.
func (f *fixture) pruneStatementRaw(t *testing.T, n uint64, why retention.Reason) *retention.Statement {
	t.Helper()
	last := f.chain.Records[len(f.chain.Records)-1]
	at := last.StartTime().Add(last.Duration + time.Hour)
	limit := uint64(time.Hour)
	if why == retention.ReasonBytes {
		limit = 2 << 30
	}
	return &retention.Statement{Camera: f.chain.Key.Address(), Epoch: f.chain.Epoch, Below: n, Last: f.chain.Records[n-1].Hash(),
		At: at.UnixNano(), Reason: why, Limit: limit}
}

// pruneStatement is pruneStatementRaw signed by k.
func (f *fixture) pruneStatement(t *testing.T, k *keys.PrivateKey, n uint64, why retention.Reason) []byte {
	t.Helper()
	st := f.pruneStatementRaw(t, n, why)
	if err := st.Sign(k); err != nil {
		t.Fatal(err)
	}
	return st.Marshal()
}

// prune does to a chain directory what retention does (or an attacker
// imitating it): the statement (when not nil), the unsigned marker at n,
// and the files below n deleted.
func prune(t *testing.T, dir string, n uint64, statement []byte) {
	t.Helper()
	if statement != nil {
		writeFile(t, filepath.Join(dir, "prune-statement"), statement)
	}
	writeFile(t, filepath.Join(dir, verify.PrunedName), []byte("camchain-pruned 1\n"+itoa(n)+"\n"))
	for s := range n {
		remove(t, segPath(dir, s))
	}
}

func segPath(dir string, seq uint64) string {
	return filepath.Join(dir, verify.SegDirName, segName(seq))
}

func segName(seq uint64) string { return fmt.Sprintf("%016d.mp4", seq) }

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// verifyDir runs the read-only pipeline `camchain verify` runs on a chain
// directory: read the log, list and hash the segment directory, read the
// pruned marker, verify.
func verifyDir(t *testing.T, dir string, cps []verify.Checkpoint) *verify.Report {
	t.Helper()
	l, err := verify.ReadLogFile(filepath.Join(dir, verify.LogName))
	if err != nil {
		t.Fatal(err)
	}
	clips, err := verify.ListClips(filepath.Join(dir, verify.SegDirName))
	if err != nil {
		t.Fatal(err)
	}
	if err := verify.HashClips(context.Background(), clips, 0, nil); err != nil {
		t.Fatal(err)
	}
	pruned, err := verify.ReadPruned(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := verify.ReadPruneStatement(dir)
	if err != nil {
		t.Fatal(err)
	}
	cam, epoch, _, ok := verify.ParseChainDir(dir)
	if !ok {
		t.Fatalf("%s does not name a chain", dir)
	}
	return verify.Verify(verify.Input{Camera: cam, Epoch: epoch, EVMChainID: chainID, Records: l.Records, LogDamage: l.Damage,
		Clips: clips, Complete: true, PrunedBelow: pruned, PruneStatement: st, Checkpoints: cps})
}

// want describes the expected report: every result's status by key (the
// seq, or the file name for a file without one); unlisted seqs of the
// chain must be verified.
type want struct {
	statuses    map[string]verify.Status
	details     map[string]string // substrings of the detail
	checkpoints []verify.Status
	ok          bool
	inRun       []uint64 // seqs reported within another seq's run of missing ones
	problems    string   // a substring of the problems; none when empty
}

func key(r verify.Result) string {
	if r.Seq == nil {
		return filepath.Base(r.Path)
	}
	return itoa(*r.Seq)
}

func check(t *testing.T, rep *verify.Report, w want) {
	t.Helper()
	got := map[string]verify.Status{}
	for _, r := range rep.Clips {
		k := key(r)
		if _, dup := got[k]; dup {
			t.Errorf("two results for %s", k)
		}
		got[k] = r.Status
		wantSt, listed := w.statuses[k]
		if !listed {
			wantSt = verify.Verified
		}
		if r.Status != wantSt {
			t.Errorf("%s (%s): %s (%s), want %s", k, r.Path, r.Status, r.Detail, wantSt)
		}
		if d := w.details[k]; d != "" && !strings.Contains(r.Detail, d) {
			t.Errorf("%s: detail %q lacks %q", k, r.Detail, d)
		}
		if r.Status == verify.Verified && (r.Checkpoint == nil || r.Checkpoint.Height < 100) {
			t.Errorf("%s: verified without a checkpoint: %+v", k, r.Checkpoint)
		}
	}
	for k, st := range w.statuses {
		if _, ok := got[k]; !ok {
			t.Errorf("no result for %s (want %s)", k, st)
		}
	}
	for seq := range uint64(fixtureLen) {
		if _, ok := got[itoa(seq)]; !ok && !slices.Contains(w.inRun, seq) {
			t.Errorf("no result for seq %d", seq)
		}
	}
	if len(rep.Checkpoints) != len(w.checkpoints) {
		t.Fatalf("%d checkpoint results, want %d: %+v", len(rep.Checkpoints), len(w.checkpoints), rep.Checkpoints)
	}
	for i, c := range rep.Checkpoints {
		if c.Status != w.checkpoints[i] {
			t.Errorf("checkpoint #%d: %s (%s), want %s", i, c.Status, c.Detail, w.checkpoints[i])
		}
	}
	if probs := strings.Join(rep.Problems, "; "); w.problems != "" && !strings.Contains(probs, w.problems) {
		t.Errorf("problems %q, want %q", probs, w.problems)
	}
	if rep.OK() != w.ok {
		t.Errorf("OK() = %v, want %v; problems %v", rep.OK(), w.ok, rep.Problems)
	}
	if t.Failed() {
		for _, r := range rep.Clips {
			t.Logf("  %s %s %s: %s", key(r), r.Path, r.Status, r.Detail)
		}
	}
}

func statuses(st verify.Status, seqs ...uint64) map[string]verify.Status {
	m := map[string]verify.Status{}
	for _, s := range seqs {
		m[itoa(s)] = st
	}
	return m
}

func both(cps ...verify.Status) []verify.Status { return cps }

var okCps = both(verify.Verified, verify.Verified)

// writeLog rewrites a chain's records.log from records, in the documented
// layout (SPEC §9).
func writeLog(t *testing.T, dir string, recs []*feedchain.Record) {
	t.Helper()
	b := []byte("CCRECLOG\x00\x00\x00\x01\x00\x00\x00\x00")
	for _, r := range recs {
		m := r.Marshal()
		b = binary.BigEndian.AppendUint32(b, uint32(len(m)))
		b = append(b, m...)
		b = binary.BigEndian.AppendUint32(b, crc32.Checksum(m, crc32.MakeTable(crc32.Castagnoli)))
	}
	if err := os.WriteFile(filepath.Join(dir, verify.LogName), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func cloneRecords(c *verifytest.Chain) []*feedchain.Record {
	out := make([]*feedchain.Record, len(c.Records))
	for i, r := range c.Records {
		cp := *r
		out[i] = &cp
	}
	return out
}

func mustKey(t *testing.T) *keys.PrivateKey {
	t.Helper()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestTamperClasses applies every tamper class to a copy of a real chain
// and checks the exact verdict on every clip.
func TestTamperClasses(t *testing.T) {
	f := newFixture(t)
	cam := f.chain.Key

	// Another camera's chain, for its clips.
	other := verifytest.NewChain(mustKey(t), 0)
	// Segments of the same sample from the same start are the same bytes
	// whoever records them, so the other camera's clips are later ones.
	if err := other.AppendSample(fixtureLen+2, t0); err != nil {
		t.Fatal(err)
	}
	other.Segments = other.Segments[fixtureLen:]

	// A rewritten history: seq 5–11 with other segments, signed by the
	// camera, extending checkpoint #0 consistently.
	alt := verifytest.NewChain(cam, f.chain.Epoch)
	for i := range 5 {
		if err := alt.Append(f.chain.Segments[i], time.Unix(0, f.chain.Records[i].Start), f.chain.Records[i].Duration, f.chain.Records[i].Codec); err != nil {
			t.Fatal(err)
		}
	}
	if err := alt.AppendRandom(7, 4000, 9, t0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	rewritten, err := alt.Checkpoints(chainID, 4, 11)
	if err != nil {
		t.Fatal(err)
	}
	// The same first five records, so the same first checkpoint.
	if rewritten[0].Tx == nil || alt.Records[4].Hash() != f.chain.Records[4].Hash() {
		t.Fatal("the rewritten chain does not share the first five records")
	}
	rewritten[0] = f.full[0]

	// resign re-signs a checkpoint message with key and lists it as #k.
	resign := func(m *tx.Checkpoint, k *keys.PrivateKey, idx int) verify.Checkpoint {
		raw, err := verifytest.SignTx(chainID, m, k)
		if err != nil {
			t.Fatal(err)
		}
		return verifytest.Ledgered(append(make([][]byte, idx), raw), 100, time.Unix(1_800_000_000, 0))[idx]
	}
	msg1, err := f.chain.CheckpointMsg(5, 11, 1_800_003_600, 1_800_007_200)
	if err != nil {
		t.Fatal(err)
	}
	badProof := *msg1
	badProof.Consistency = bytes.Clone(msg1.Consistency)
	badProof.Consistency[0] ^= 1

	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		cps    []verify.Checkpoint
		want   want
	}{
		{
			name: "untouched",
			want: want{checkpoints: okCps, ok: true},
		},
		{
			name: "untouched, partly checkpointed",
			cps:  f.full[:1],
			want: want{statuses: statuses(verify.Pending, 5, 6, 7, 8, 9, 10, 11), checkpoints: both(verify.Verified)},
		},
		{
			name: "no checkpoints at all",
			cps:  []verify.Checkpoint{},
			want: want{statuses: statuses(verify.Pending, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), checkpoints: both()},
		},
		{
			name: "one flipped bit",
			tamper: func(t *testing.T, dir string) {
				p := segPath(dir, 3)
				b := readFile(t, p)
				b[len(b)/2] ^= 0x10
				writeFile(t, p, b)
			},
			want: want{statuses: statuses(verify.Modified, 3), details: map[string]string{"3": "sha256"}, checkpoints: okCps},
		},
		{
			name: "truncated",
			tamper: func(t *testing.T, dir string) {
				p := segPath(dir, 4)
				b := readFile(t, p)
				writeFile(t, p, b[:len(b)-1000])
			},
			want: want{statuses: statuses(verify.Truncated, 4), details: map[string]string{"4": "the record says"}, checkpoints: okCps},
		},
		{
			name: "inserted foreign clips",
			tamper: func(t *testing.T, dir string) {
				writeFile(t, segPath(dir, fixtureLen), bytes.Repeat([]byte("not a clip"), 500))
				writeFile(t, filepath.Join(dir, verify.SegDirName, "random.mp4"), bytes.Repeat([]byte{7}, 3333))
			},
			want: want{statuses: map[string]verify.Status{"12": verify.Inserted, "random.mp4": verify.Inserted},
				details: map[string]string{"12": "no record for seq 12", "random.mp4": "not from this camera"}, checkpoints: okCps},
		},
		{
			name:   "deleted clip in a checkpointed range",
			tamper: func(t *testing.T, dir string) { remove(t, segPath(dir, 6)) },
			want:   want{statuses: statuses(verify.Missing, 6), details: map[string]string{"6": "deleted"}, checkpoints: okCps},
		},
		{
			name: "two clips swapped",
			tamper: func(t *testing.T, dir string) {
				a, b := readFile(t, segPath(dir, 2)), readFile(t, segPath(dir, 7))
				writeFile(t, segPath(dir, 2), b)
				writeFile(t, segPath(dir, 7), a)
			},
			want: want{statuses: statuses(verify.OutOfOrder, 2, 7),
				details: map[string]string{"2": "segment of seq 7", "7": "segment of seq 2"}, checkpoints: okCps},
		},
		{
			name: "a clip from another camera",
			tamper: func(t *testing.T, dir string) {
				writeFile(t, segPath(dir, 40), other.Segments[0])
				writeFile(t, filepath.Join(dir, verify.SegDirName, "from-the-garage.mp4"), other.Segments[1])
			},
			want: want{statuses: map[string]verify.Status{"40": verify.Inserted, "from-the-garage.mp4": verify.Inserted},
				details: map[string]string{"40": "not from this camera", "from-the-garage.mp4": "not from this camera"}, checkpoints: okCps},
		},
		{
			name: "another camera's clip over a clip",
			tamper: func(t *testing.T, dir string) {
				writeFile(t, segPath(dir, 9), other.Segments[0])
			},
			want: want{statuses: statuses(verify.Modified, 9), checkpoints: okCps},
		},
		{
			name: "re-signed with a different key",
			tamper: func(t *testing.T, dir string) {
				recs := cloneRecords(f.chain)
				fake := bytes.Repeat([]byte("staged scene "), 20000)
				r := recs[5]
				r.Segment, r.Size = feedchain.SegmentHash(fake), uint64(len(fake))
				// The attacker's own signature over the same camera field.
				r.Sig, _ = mustKey(t).SignDigest(r.Hash())
				writeLog(t, dir, recs)
				writeFile(t, segPath(dir, 5), fake)
			},
			want: want{statuses: statuses(verify.Forged, 5), details: map[string]string{"5": "not signed by this camera"}, checkpoints: okCps},
		},
		{
			name: "re-signed as another camera",
			tamper: func(t *testing.T, dir string) {
				recs := cloneRecords(f.chain)
				fake := bytes.Repeat([]byte("staged scene "), 20000)
				k := mustKey(t)
				r := recs[8]
				r.Camera, r.Segment, r.Size = k.Address(), feedchain.SegmentHash(fake), uint64(len(fake))
				if err := r.Sign(k); err != nil {
					t.Fatal(err)
				}
				writeLog(t, dir, recs)
				writeFile(t, segPath(dir, 8), fake)
			},
			want: want{statuses: statuses(verify.Forged, 8), details: map[string]string{"8": "names camera"}, checkpoints: okCps},
		},
		{
			name: "re-signed with the camera's own key (a fork)",
			tamper: func(t *testing.T, dir string) {
				recs := cloneRecords(f.chain)
				fake := bytes.Repeat([]byte("staged scene "), 20000)
				r := recs[6]
				r.Segment, r.Size = feedchain.SegmentHash(fake), uint64(len(fake))
				if err := r.Sign(cam); err != nil {
					t.Fatal(err)
				}
				writeLog(t, dir, recs)
				writeFile(t, segPath(dir, 6), fake)
			},
			want: want{statuses: statuses(verify.Forged, 6), details: map[string]string{"6": "not the record checkpoint #1 committed"}, checkpoints: okCps},
		},
		{
			name: "re-signed in the uncheckpointed part",
			tamper: func(t *testing.T, dir string) {
				recs := cloneRecords(f.chain)
				fake := bytes.Repeat([]byte("staged scene "), 20000)
				r := recs[9]
				r.Segment, r.Size = feedchain.SegmentHash(fake), uint64(len(fake))
				r.Sig, _ = mustKey(t).SignDigest(r.Hash())
				writeLog(t, dir, recs)
				writeFile(t, segPath(dir, 9), fake)
			},
			cps: f.full[:1],
			want: want{statuses: merge(statuses(verify.Pending, 5, 6, 7, 8, 10, 11), statuses(verify.Forged, 9)),
				checkpoints: both(verify.Verified)},
		},
		{
			name: "a checkpoint for a rewritten history",
			cps:  rewritten,
			want: want{statuses: statuses(verify.Failed, 5, 6, 7, 8, 9, 10, 11), details: map[string]string{"5": "history rewritten"},
				checkpoints: both(verify.Verified, verify.Failed)},
		},
		{
			name: "a consistency proof that does not link",
			cps:  []verify.Checkpoint{f.full[0], resign(&badProof, cam, 1)},
			want: want{statuses: statuses(verify.Failed, 5, 6, 7, 8, 9, 10, 11), details: map[string]string{"5": "does not extend checkpoint #0"},
				checkpoints: both(verify.Verified, verify.Failed)},
		},
		{
			name: "a checkpoint the hub forged",
			cps:  []verify.Checkpoint{f.full[0], resign(msg1, mustKey(t), 1)},
			want: want{statuses: statuses(verify.Failed, 5, 6, 7, 8, 9, 10, 11), details: map[string]string{"5": "not signed by the camera"},
				checkpoints: both(verify.Verified, verify.Failed)},
		},
		{
			name: "a checkpoint left out of the list",
			cps:  []verify.Checkpoint{f.full[1]},
			want: want{statuses: merge(statuses(verify.Pending, 0, 1, 2, 3, 4), statuses(verify.Failed, 5, 6, 7, 8, 9, 10, 11)),
				details: map[string]string{"5": "missing from the list"}, checkpoints: both(verify.Failed)},
		},
		{
			name: "pruned by retention: the camera's signed statement",
			tamper: func(t *testing.T, dir string) {
				prune(t, dir, 3, f.pruneStatement(t, cam, 3, retention.ReasonBytes))
			},
			want: want{statuses: statuses(verify.Pruned, 0, 1, 2), details: map[string]string{"0": "signed prune statement (seqs below 3"},
				checkpoints: okCps, ok: true},
		},
		{
			// The attack of issue 14: delete the oldest clips of a card
			// and move the unsigned marker over them.
			name: "clips deleted and the marker moved, no statement",
			tamper: func(t *testing.T, dir string) {
				prune(t, dir, 2, nil)
			},
			want: want{statuses: statuses(verify.PrunedEarly, 0, 1), details: map[string]string{"0": "no prune statement signed by the camera"},
				checkpoints: okCps},
		},
		{
			name: "the marker moved beyond the camera's statement",
			tamper: func(t *testing.T, dir string) {
				prune(t, dir, 5, f.pruneStatement(t, cam, 3, retention.ReasonBytes))
			},
			want: want{statuses: merge(statuses(verify.Pruned, 0, 1, 2), statuses(verify.PrunedEarly, 3, 4)),
				details: map[string]string{"3": "allows only the seqs below 3"}, checkpoints: okCps},
		},
		{
			name: "clips deleted under the marker, not moved",
			tamper: func(t *testing.T, dir string) {
				prune(t, dir, 2, f.pruneStatement(t, cam, 2, retention.ReasonBytes))
				remove(t, segPath(dir, 2))
				remove(t, segPath(dir, 3))
			},
			want: want{statuses: merge(statuses(verify.Pruned, 0, 1), statuses(verify.Missing, 2, 3)), checkpoints: okCps},
		},
		{
			name: "a statement signed by another key",
			tamper: func(t *testing.T, dir string) {
				st := f.pruneStatementRaw(t, 3, retention.ReasonBytes)
				st.Sig, _ = mustKey(t).SignDigest(st.Digest())
				prune(t, dir, 3, st.Marshal())
			},
			want: want{statuses: statuses(verify.PrunedEarly, 0, 1, 2), details: map[string]string{"0": "does not verify"},
				problems: "not signed by its camera", checkpoints: okCps},
		},
		{
			name: "another camera's statement",
			tamper: func(t *testing.T, dir string) {
				k := mustKey(t)
				st := f.pruneStatementRaw(t, 3, retention.ReasonBytes)
				st.Camera = k.Address()
				if err := st.Sign(k); err != nil {
					t.Fatal(err)
				}
				prune(t, dir, 3, st.Marshal())
			},
			want: want{statuses: statuses(verify.PrunedEarly, 0, 1, 2), problems: "camera is", checkpoints: okCps},
		},
		{
			name: "a statement of another chain of the camera (last hash)",
			tamper: func(t *testing.T, dir string) {
				st := f.pruneStatementRaw(t, 3, retention.ReasonBytes)
				st.Last = f.chain.Records[5].Hash()
				if err := st.Sign(cam); err != nil {
					t.Fatal(err)
				}
				prune(t, dir, 3, st.Marshal())
			},
			want: want{statuses: statuses(verify.PrunedEarly, 0, 1, 2), problems: "last is", checkpoints: okCps},
		},
		{
			name: "an age statement for segments not old enough",
			tamper: func(t *testing.T, dir string) {
				st := f.pruneStatementRaw(t, 3, retention.ReasonAge)
				st.Limit = uint64(24 * time.Hour) // At is 1 h after the records
				if err := st.Sign(cam); err != nil {
					t.Fatal(err)
				}
				prune(t, dir, 3, st.Marshal())
			},
			want: want{statuses: statuses(verify.PrunedEarly, 0, 1, 2), problems: "age is", checkpoints: okCps},
		},
		{
			name: "a legitimate age statement",
			tamper: func(t *testing.T, dir string) {
				prune(t, dir, 3, f.pruneStatement(t, cam, 3, retention.ReasonAge))
			},
			want: want{statuses: statuses(verify.Pruned, 0, 1, 2), details: map[string]string{"2": "older than the retention"}, checkpoints: okCps, ok: true},
		},
		{
			name: "a statement truncated by a byte",
			tamper: func(t *testing.T, dir string) {
				prune(t, dir, 3, f.pruneStatement(t, cam, 3, retention.ReasonBytes)[:retention.StatementSize-1])
			},
			want: want{statuses: statuses(verify.PrunedEarly, 0, 1, 2), problems: "malformed prune statement", checkpoints: okCps},
		},
		{
			name: "log cut short",
			tamper: func(t *testing.T, dir string) {
				writeLog(t, dir, f.chain.Records[:9])
				remove(t, segPath(dir, 10))
				remove(t, segPath(dir, 11))
			},
			want: want{statuses: merge(statuses(verify.Pending, 5, 6, 7, 8, 9), statuses(verify.Missing, 10)),
				details:     map[string]string{"9": "cannot be checked without its record", "10": "no record and no clip for seq 10–11 (2 records)"},
				checkpoints: both(verify.Verified, verify.Unchecked), inRun: []uint64{11}},
		},
		{
			name: "torn log tail",
			tamper: func(t *testing.T, dir string) {
				p := filepath.Join(dir, verify.LogName)
				writeFile(t, p, append(readFile(t, p), 0, 0, 1))
			},
			want: want{checkpoints: okCps},
		},
		{
			name: "renamed clip",
			tamper: func(t *testing.T, dir string) {
				if err := os.Rename(segPath(dir, 10), filepath.Join(dir, verify.SegDirName, "door.mp4")); err != nil {
					t.Fatal(err)
				}
			},
			want: want{statuses: map[string]verify.Status{"10": verify.Verified}, details: map[string]string{"10": "matched to seq 10 by its content"},
				checkpoints: okCps, ok: true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := f.copyChain(t)
			if tc.tamper != nil {
				tc.tamper(t, dir)
			}
			cps := tc.cps
			if cps == nil {
				cps = f.full
			}
			rep := verifyDir(t, dir, cps)
			check(t, rep, tc.want)
			if tc.name == "torn log tail" && (len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "torn")) {
				t.Errorf("problems %v, want the torn tail", rep.Problems)
			}
		})
	}
}

func merge(ms ...map[string]verify.Status) map[string]verify.Status {
	out := map[string]verify.Status{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}
