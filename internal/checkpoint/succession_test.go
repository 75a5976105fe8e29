package checkpoint

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/tx"
)

const successionComment = "checkpoint succession vectors (checkpoint.VerifySuccession; docs/SPEC.md §2.4 Checkpoint and §6.3). " +
	"The trees are over the 7 stand-in record hashes of vectors.json (record_hashes[i] = SHA-256(u64be(i))). " +
	"\"before\" is what the verifier knows of the checkpoints before (position unknown, first-of-epoch, right-after " +
	"or somewhere-after, with the earlier checkpoint's last_seq, period_end and root); \"checkpoint\" is the checkpoint's " +
	"fields (consistency: the encoded proof, hex). expect is pass or the rule the checkpoint breaks (fields, start, " +
	"period, consistency); linked says whether a passing checkpoint's place in its epoch is proved. " +
	"Regenerate: go test ./internal/checkpoint -run TestSuccessionVectors -update"

type successionFile struct {
	Comment string           `json:"comment"`
	Cases   []successionCase `json:"cases"`
}

type successionCase struct {
	Comment    string           `json:"comment"`
	Before     beforeVector     `json:"before"`
	Checkpoint checkpointVector `json:"checkpoint"`
	Expect     string           `json:"expect"`
	Linked     bool             `json:"linked"`
}

type beforeVector struct {
	Position  string `json:"position"`
	LastSeq   uint64 `json:"last_seq,omitempty"`
	PeriodEnd uint64 `json:"period_end,omitempty"`
	Root      string `json:"root,omitempty"`
}

type checkpointVector struct {
	PeriodStart uint64 `json:"period_start"`
	PeriodEnd   uint64 `json:"period_end"`
	FirstSeq    uint64 `json:"first_seq"`
	LastSeq     uint64 `json:"last_seq"`
	TreeSize    uint64 `json:"tree_size"`
	Root        string `json:"root"`
	ChainHead   string `json:"chain_head"`
	Consistency string `json:"consistency"`
}

var positions = map[string]Position{}

func init() {
	for _, p := range []Position{Unknown, FirstOfEpoch, RightAfter, SomewhereAfter} {
		positions[p.String()] = p
	}
}

func toBeforeVector(b Before) beforeVector {
	v := beforeVector{Position: b.Position.String()}
	if b.Position == RightAfter || b.Position == SomewhereAfter {
		v.LastSeq, v.PeriodEnd, v.Root = b.Prev.LastSeq, b.Prev.PeriodEnd, hexOf(b.Prev.Root)
	}
	return v
}

func toCheckpointVector(m *tx.Checkpoint) checkpointVector {
	return checkpointVector{PeriodStart: m.PeriodStart, PeriodEnd: m.PeriodEnd, FirstSeq: m.FirstSeq, LastSeq: m.LastSeq,
		TreeSize: m.TreeSize, Root: hexOf(m.Root), ChainHead: hexOf(m.ChainHead), Consistency: hex.EncodeToString(m.Consistency)}
}

func mustHash(t *testing.T, s string) feedchain.Hash {
	t.Helper()
	var h feedchain.Hash
	if s == "" {
		return h
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(h) {
		t.Fatalf("bad hash %q", s)
	}
	copy(h[:], b)
	return h
}

func (v beforeVector) before(t *testing.T) Before {
	p, ok := positions[v.Position]
	if !ok {
		t.Fatalf("unknown position %q", v.Position)
	}
	return Before{Position: p, Prev: Prev{LastSeq: v.LastSeq, PeriodEnd: v.PeriodEnd, Root: mustHash(t, v.Root)}}
}

func (v checkpointVector) checkpoint(t *testing.T) *tx.Checkpoint {
	c, err := hex.DecodeString(v.Consistency)
	if err != nil {
		t.Fatal(err)
	}
	return &tx.Checkpoint{PeriodStart: v.PeriodStart, PeriodEnd: v.PeriodEnd, FirstSeq: v.FirstSeq, LastSeq: v.LastSeq,
		TreeSize: v.TreeSize, Root: mustHash(t, v.Root), ChainHead: mustHash(t, v.ChainHead), Consistency: c}
}

// successionCases builds the vectors from the 7-record tree: an epoch's
// first checkpoint a (records 0–2) and the one right after it, b (3–6),
// then systematic corruptions of each, and the same checkpoints seen with
// less known before them.
func successionCases(t *testing.T) []successionCase {
	tr, rh := vectorTree()
	cons, err := tr.ConsistencyProof(3, 7)
	if err != nil {
		t.Fatal(err)
	}
	a := &tx.Checkpoint{PeriodStart: 1_800_000_000, PeriodEnd: 1_800_000_060, FirstSeq: 0, LastSeq: 2, TreeSize: 3,
		Root: rootOf(tr, 3), ChainHead: rh[2]}
	b := &tx.Checkpoint{PeriodStart: 1_800_000_060, PeriodEnd: 1_800_000_120, FirstSeq: 3, LastSeq: 6, TreeSize: 7,
		Root: rootOf(tr, 7), ChainHead: rh[6], Consistency: EncodeProof(cons)}
	afterA := After(PrevOf(a))
	// A history rewritten below a's tree: record 1 replaced.
	other := NewTree()
	for i, h := range rh {
		if i == 1 {
			h[0] ^= 1
		}
		other.Append(h)
	}

	with := func(m *tx.Checkpoint, change func(c *tx.Checkpoint)) *tx.Checkpoint {
		c := *m
		c.Consistency = append([]byte(nil), m.Consistency...)
		change(&c)
		return &c
	}
	var cases []successionCase
	add := func(comment string, before Before, m *tx.Checkpoint, expect string, linked bool) {
		cases = append(cases, successionCase{Comment: comment, Before: toBeforeVector(before), Checkpoint: toCheckpointVector(m), Expect: expect, Linked: linked})
	}

	add("the epoch's first checkpoint", First(), a, "pass", true)
	add("the checkpoint right after it", afterA, b, "pass", true)
	add("known to come somewhere after a, and starting right after it: nothing can be between", LaterThan(PrevOf(a)), b, "pass", true)
	add("nothing known before, but starting at record 0: it is the epoch's first", Before{}, a, "pass", true)
	add("nothing known before: only its own fields and the shape of its proof", Before{}, b, "pass", false)
	add("somewhere after an earlier checkpoint of records up to 1: its link is not checked", LaterThan(Prev{LastSeq: 1, PeriodEnd: a.PeriodEnd, Root: rootOf(tr, 2)}), b, "pass", false)
	add("its period starting right where the previous one ended", afterA, with(b, func(c *tx.Checkpoint) { c.PeriodStart = a.PeriodEnd }), "pass", true)

	// Its own fields.
	add("period start equal to its end", First(), with(a, func(c *tx.Checkpoint) { c.PeriodStart = c.PeriodEnd }), "fields", false)
	add("period start after its end", First(), with(a, func(c *tx.Checkpoint) { c.PeriodStart = c.PeriodEnd + 1 }), "fields", false)
	add("first sequence after the last", First(), with(a, func(c *tx.Checkpoint) { c.FirstSeq = 3 }), "fields", false)
	add("tree size last + 2", First(), with(a, func(c *tx.Checkpoint) { c.TreeSize = 4 }), "fields", false)
	add("tree size last (one short)", First(), with(a, func(c *tx.Checkpoint) { c.TreeSize = 2 }), "fields", false)
	add("last sequence 2^64-1: no tree size", First(), with(a, func(c *tx.Checkpoint) { c.LastSeq, c.TreeSize = math.MaxUint64, 0 }), "fields", false)
	add("tree size over MaxTreeSize", First(), with(a, func(c *tx.Checkpoint) { c.LastSeq, c.TreeSize = MaxTreeSize, MaxTreeSize+1 }), "fields", false)
	add("no root", First(), with(a, func(c *tx.Checkpoint) { c.Root = feedchain.Hash{} }), "fields", false)
	add("no chain head", First(), with(a, func(c *tx.Checkpoint) { c.ChainHead = feedchain.Hash{} }), "fields", false)
	add("bad fields whatever is known before", Before{}, with(b, func(c *tx.Checkpoint) { c.TreeSize = 8 }), "fields", false)

	// Where it starts.
	add("a first checkpoint not starting at 0", First(), b, "start", false)
	add("right after a, starting one record late (a gap)", afterA, with(b, func(c *tx.Checkpoint) { c.FirstSeq = 4 }), "start", false)
	add("right after a, starting one record early (an overlap)", afterA, with(b, func(c *tx.Checkpoint) { c.FirstSeq = 2 }), "start", false)
	add("right after a, starting at 0 again", afterA, a, "start", false)
	add("somewhere after a, starting inside it", LaterThan(PrevOf(a)), with(b, func(c *tx.Checkpoint) { c.FirstSeq = 2 }), "start", false)
	add("somewhere after a, the same checkpoint again", LaterThan(PrevOf(a)), a, "start", false)
	add("after a checkpoint ending at 2^64-1", After(Prev{LastSeq: math.MaxUint64, PeriodEnd: a.PeriodEnd, Root: a.Root}), b, "start", false)

	// Period order.
	add("right after a, its period starting a second before a's ended", afterA, with(b, func(c *tx.Checkpoint) { c.PeriodStart = a.PeriodEnd - 1 }), "period", false)
	add("somewhere after a, its period starting before a's ended", LaterThan(Prev{LastSeq: 1, PeriodEnd: b.PeriodStart + 1, Root: rootOf(tr, 2)}), b, "period", false)

	// The consistency proof.
	add("a first checkpoint with a consistency proof", First(), with(a, func(c *tx.Checkpoint) { c.Consistency = b.Consistency }), "consistency", false)
	add("a bit of the proof flipped", afterA, with(b, func(c *tx.Checkpoint) { c.Consistency[5] ^= 0x10 }), "consistency", false)
	add("the proof one hash short", afterA, with(b, func(c *tx.Checkpoint) { c.Consistency = c.Consistency[:len(c.Consistency)-HashSize] }), "consistency", false)
	add("the proof with a hash appended", afterA, with(b, func(c *tx.Checkpoint) { c.Consistency = append(c.Consistency, a.Root[:]...) }), "consistency", false)
	add("the proof not whole hashes", afterA, with(b, func(c *tx.Checkpoint) { c.Consistency = c.Consistency[:len(c.Consistency)-1] }), "consistency", false)
	add("no proof", afterA, with(b, func(c *tx.Checkpoint) { c.Consistency = nil }), "consistency", false)
	add("after a checkpoint with another root", After(Prev{LastSeq: a.LastSeq, PeriodEnd: a.PeriodEnd, Root: rootOf(other, 3)}), b, "consistency", false)
	add("a root over a rewritten history, with that history's proof", afterA, with(b, func(c *tx.Checkpoint) {
		p, _ := other.ConsistencyProof(3, 7)
		c.Root, c.Consistency = rootOf(other, 7), EncodeProof(p)
	}), "consistency", false)
	add("nothing known before, the proof one hash short", Before{}, with(b, func(c *tx.Checkpoint) { c.Consistency = c.Consistency[:len(c.Consistency)-HashSize] }), "consistency", false)
	add("somewhere after, no proof", LaterThan(Prev{LastSeq: 1, PeriodEnd: a.PeriodEnd, Root: rootOf(tr, 2)}), with(b, func(c *tx.Checkpoint) { c.Consistency = nil }), "consistency", false)
	return cases
}

var successionVectors = filepath.Join("testdata", "succession_vectors.json")

func TestSuccessionVectors(t *testing.T) {
	if *update {
		b, err := json.MarshalIndent(successionFile{Comment: successionComment, Cases: successionCases(t)}, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(successionVectors, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		// Every case is a fuzz seed too.
		var seeds [][]any
		for _, c := range successionCases(t) {
			m := c.Checkpoint.checkpoint(t)
			seeds = append(seeds, []any{uint8(c.Before.before(t).Position), c.Before.LastSeq, c.Before.PeriodEnd,
				m.PeriodStart, m.PeriodEnd, m.FirstSeq, m.LastSeq, m.TreeSize, m.Consistency})
		}
		writeSeedFiles(t, map[string][][]any{"FuzzVerifySuccession": seeds})
	}
	raw, err := os.ReadFile(successionVectors)
	if err != nil {
		t.Fatal(err)
	}
	var v successionFile
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if got, want := len(v.Cases), len(successionCases(t)); got != want {
		t.Fatalf("%s has %d cases, the generator makes %d: regenerate it", successionVectors, got, want)
	}
	for _, c := range v.Cases {
		s, err := VerifySuccession(c.Before.before(t), c.Checkpoint.checkpoint(t))
		var se *SuccessionError
		switch {
		case c.Expect == "pass" && err != nil:
			t.Errorf("%s: %v, want pass", c.Comment, err)
		case c.Expect == "pass" && s.Linked != c.Linked:
			t.Errorf("%s: linked %v (%q), want %v", c.Comment, s.Linked, s.NotChecked, c.Linked)
		case c.Expect == "pass" && !s.Linked && s.NotChecked == "":
			t.Errorf("%s: not linked, and it does not say what was not checked", c.Comment)
		case c.Expect != "pass" && !errors.As(err, &se):
			t.Errorf("%s: %v, want a *SuccessionError breaking %s", c.Comment, err, c.Expect)
		case c.Expect != "pass" && string(se.Rule) != c.Expect:
			t.Errorf("%s: breaks %s (%v), want %s", c.Comment, se.Rule, err, c.Expect)
		}
	}
}

// FuzzVerifySuccession: never panics; whatever it accepts has sane
// fields; whatever it calls linked right after a known checkpoint is
// consistent with it.
func FuzzVerifySuccession(f *testing.F) {
	tr, rh := vectorTree()
	cons, _ := tr.ConsistencyProof(3, 7)
	f.Add(uint8(RightAfter), uint64(2), uint64(1_800_000_060), uint64(1_800_000_060), uint64(1_800_000_120), uint64(3), uint64(6), uint64(7), EncodeProof(cons))
	f.Add(uint8(FirstOfEpoch), uint64(0), uint64(0), uint64(1_800_000_000), uint64(1_800_000_060), uint64(0), uint64(2), uint64(3), []byte{})
	f.Add(uint8(Unknown), uint64(0), uint64(0), uint64(1_800_000_060), uint64(1_800_000_120), uint64(3), uint64(6), uint64(7), EncodeProof(cons))
	f.Fuzz(func(t *testing.T, pos uint8, prevLast, prevEnd, start, end, first, last, size uint64, proof []byte) {
		prevRoot := rootOf(tr, min(prevLast, 7)+1)
		root := rootOf(tr, min(size, 8))
		m := &tx.Checkpoint{PeriodStart: start, PeriodEnd: end, FirstSeq: first, LastSeq: last, TreeSize: size,
			Root: root, ChainHead: rh[min(last, 6)], Consistency: proof}
		before := Before{Position: Position(pos % 4), Prev: Prev{LastSeq: prevLast, PeriodEnd: prevEnd, Root: prevRoot}}
		s, err := VerifySuccession(before, m)
		if err != nil {
			var se *SuccessionError
			if !errors.As(err, &se) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if VerifyFields(m) != nil {
			t.Fatalf("accepted a checkpoint with bad fields: %+v", m)
		}
		if s.Linked && before.Position == RightAfter {
			p, _ := DecodeProof(proof)
			if VerifyConsistency(prevLast+1, size, prevRoot, root, p) != nil || first != prevLast+1 || start < prevEnd {
				t.Fatalf("linked but not a successor: %+v after %+v", m, before)
			}
		}
		if !s.Linked && s.NotChecked == "" {
			t.Fatal("not linked, and nothing said")
		}
	})
}
