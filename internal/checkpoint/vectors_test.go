package checkpoint

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/camchain/camchain/internal/feedchain"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json and the fuzz seeds in testdata/fuzz")

const vectorsComment = "checkpoint Merkle tree vectors (RFC 6962 tree over feed-chain record hashes); " +
	"docs/SPEC.md §6 and internal/checkpoint/doc.go. The 7 record hashes are stand-ins, " +
	"record_hashes[i] = SHA-256(u64be(i)); leaf_hashes[i] = SHA-256(0x00 ‖ record_hashes[i]); " +
	"roots[n] is the root of the tree of the first n records. Each case is valid (expect pass) " +
	"or a systematic corruption of a valid one (expect fail); a changed size comes with the root of that size " +
	"(or 0xee00…00 past the 7 records). Regenerate: go test ./internal/checkpoint -run TestVectors -update"

// The vector tree and the proofs it lists.
const vectorTreeSize = 7

var (
	vectorInclusions   = [][2]uint64{{0, 1}, {0, 7}, {2, 5}, {3, 7}, {4, 7}, {6, 7}}
	vectorConsistency  = [][2]uint64{{0, 7}, {1, 7}, {2, 5}, {3, 7}, {4, 7}, {5, 7}, {6, 7}, {7, 7}}
	corruptedInclusion = [2]uint64{4, 7} // index 4 of 7: an ephemeral node in the proof
	corruptedConsist   = [2]uint64{3, 7} // 3 → 7: a proof of 5 hashes
)

type vectorFile struct {
	Comment      string              `json:"comment"`
	RecordHashes []string            `json:"record_hashes"`
	LeafHashes   []string            `json:"leaf_hashes"`
	Roots        []string            `json:"roots"`
	Inclusion    []inclusionVector   `json:"inclusion"`
	Consistency  []consistencyVector `json:"consistency"`
}

type inclusionVector struct {
	Comment    string   `json:"comment"`
	Index      uint64   `json:"index"`
	Size       uint64   `json:"size"`
	RecordHash string   `json:"record_hash"`
	Root       string   `json:"root"`
	Proof      []string `json:"proof"`
	Expect     string   `json:"expect"`
}

type consistencyVector struct {
	Comment string   `json:"comment"`
	Size1   uint64   `json:"size1"`
	Size2   uint64   `json:"size2"`
	Root1   string   `json:"root1"`
	Root2   string   `json:"root2"`
	Proof   []string `json:"proof"`
	Expect  string   `json:"expect"`
}

func hexOf(h feedchain.Hash) string { return hex.EncodeToString(h[:]) }

func hexList(p []feedchain.Hash) []string {
	out := []string{}
	for _, h := range p {
		out = append(out, hexOf(h))
	}
	return out
}

func vectorTree() (*Tree, []feedchain.Hash) {
	rh := testRecordHashes(vectorTreeSize)
	tr := NewTree()
	for _, h := range rh {
		tr.Append(h)
	}
	return tr, rh
}

func generateVectors(t *testing.T) vectorFile {
	tr, rh := vectorTree()
	v := vectorFile{Comment: vectorsComment, RecordHashes: hexList(rh)}
	for _, h := range rh {
		v.LeafHashes = append(v.LeafHashes, hex.EncodeToString(leafHash(h)))
	}
	for n := uint64(0); n <= vectorTreeSize; n++ {
		v.Roots = append(v.Roots, hexOf(rootOf(tr, n)))
	}
	for _, c := range vectorInclusions {
		p, err := tr.InclusionProof(c[0], c[1])
		if err != nil {
			t.Fatal(err)
		}
		v.Inclusion = append(v.Inclusion, inclusionVector{Comment: "valid", Index: c[0], Size: c[1],
			RecordHash: hexOf(rh[c[0]]), Root: hexOf(rootOf(tr, c[1])), Proof: hexList(p), Expect: "pass"})
	}
	index, size := corruptedInclusion[0], corruptedInclusion[1]
	p, _ := tr.InclusionProof(index, size)
	for _, c := range corruptInclusion(tr, rh, index, size, rootOf(tr, size), p) {
		if len(c.proof) > MaxProofHashes {
			continue // "too long" is covered by DecodeProof's limit
		}
		v.Inclusion = append(v.Inclusion, inclusionVector{Comment: fmt.Sprintf("%d of %d, %s", index, size, c.desc),
			Index: c.index, Size: c.size, RecordHash: hexOf(c.recordHash), Root: hexOf(c.root), Proof: hexList(c.proof), Expect: "fail"})
	}
	for _, c := range vectorConsistency {
		p, err := tr.ConsistencyProof(c[0], c[1])
		if err != nil {
			t.Fatal(err)
		}
		v.Consistency = append(v.Consistency, consistencyVector{Comment: "valid", Size1: c[0], Size2: c[1],
			Root1: hexOf(rootOf(tr, c[0])), Root2: hexOf(rootOf(tr, c[1])), Proof: hexList(p), Expect: "pass"})
	}
	size1, size2 := corruptedConsist[0], corruptedConsist[1]
	p, _ = tr.ConsistencyProof(size1, size2)
	for _, c := range corruptConsistency(tr, size1, size2, rootOf(tr, size1), rootOf(tr, size2), p) {
		if len(c.proof) > MaxProofHashes {
			continue
		}
		v.Consistency = append(v.Consistency, consistencyVector{Comment: fmt.Sprintf("%d → %d, %s", size1, size2, c.desc),
			Size1: c.size1, Size2: c.size2, Root1: hexOf(c.root1), Root2: hexOf(c.root2), Proof: hexList(c.proof), Expect: "fail"})
	}
	return v
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func parseHash(t *testing.T, s string) feedchain.Hash {
	t.Helper()
	return hexHashes(t, []string{s})[0]
}

// TestVectors checks testdata/vectors.json against this implementation (and
// with -update rewrites it, and the fuzz seeds, from this implementation).
func TestVectors(t *testing.T) {
	path := filepath.Join("testdata", "vectors.json")
	if *update {
		writeJSON(t, path, generateVectors(t))
		writeFuzzSeeds(t)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	tr := NewTree()
	for i, s := range v.RecordHashes {
		rh := parseHash(t, s)
		if got := hex.EncodeToString(leafHash(rh)); got != v.LeafHashes[i] {
			t.Errorf("leaf hash %d: %s, vector %s", i, got, v.LeafHashes[i])
		}
		tr.Append(rh)
	}
	if len(v.Roots) != vectorTreeSize+1 {
		t.Fatalf("%d roots", len(v.Roots))
	}
	for n, s := range v.Roots {
		if got := hexOf(rootOf(tr, uint64(n))); got != s {
			t.Errorf("root at size %d: %s, vector %s", n, got, s)
		}
	}
	var pass, fail int
	for _, c := range v.Inclusion {
		err := VerifyInclusion(c.Index, c.Size, parseHash(t, c.RecordHash), parseHash(t, c.Root), hexHashes(t, c.Proof))
		var ie *InclusionError
		switch c.Expect {
		case "pass":
			pass++
			if err != nil {
				t.Errorf("inclusion %q: %v", c.Comment, err)
			}
			if p, _ := tr.InclusionProof(c.Index, c.Size); !equalProofs(p, hexHashes(t, c.Proof)) {
				t.Errorf("inclusion %d of %d: tree gives %x", c.Index, c.Size, p)
			}
		case "fail":
			fail++
			if !errors.As(err, &ie) {
				t.Errorf("inclusion %q: %v, want *InclusionError", c.Comment, err)
			}
		default:
			t.Errorf("inclusion %q: expect %q", c.Comment, c.Expect)
		}
	}
	for _, c := range v.Consistency {
		err := VerifyConsistency(c.Size1, c.Size2, parseHash(t, c.Root1), parseHash(t, c.Root2), hexHashes(t, c.Proof))
		var ce *ConsistencyError
		switch c.Expect {
		case "pass":
			pass++
			if err != nil {
				t.Errorf("consistency %q: %v", c.Comment, err)
			}
			if p, _ := tr.ConsistencyProof(c.Size1, c.Size2); !equalProofs(p, hexHashes(t, c.Proof)) {
				t.Errorf("consistency %d → %d: tree gives %x", c.Size1, c.Size2, p)
			}
		case "fail":
			fail++
			if !errors.As(err, &ce) {
				t.Errorf("consistency %q: %v, want *ConsistencyError", c.Comment, err)
			}
		default:
			t.Errorf("consistency %q: expect %q", c.Comment, c.Expect)
		}
	}
	if pass == 0 || fail == 0 {
		t.Fatalf("%d passing and %d failing cases", pass, fail)
	}
	// The file must be what the generator writes today.
	want, _ := json.MarshalIndent(generateVectors(t), "", "  ")
	if strings.TrimSpace(string(b)) != string(want) {
		t.Error("testdata/vectors.json differs from the generator's output; run with -update and review")
	}
}

// writeFuzzSeeds writes the seed corpus in testdata/fuzz: every valid proof
// of the vector tree, and a few corruptions, as seed-NNN files. Other files
// there are inputs the fuzzer found failing once; they stay.
func writeFuzzSeeds(t *testing.T) {
	tr, _ := vectorTree()
	seeds := map[string][][]any{}
	for size := uint64(1); size <= vectorTreeSize; size++ {
		for i := uint64(0); i < size; i++ {
			p, _ := tr.InclusionProof(i, size)
			seeds["FuzzVerifyInclusion"] = append(seeds["FuzzVerifyInclusion"], []any{i, size, uint16(i), EncodeProof(p)})
		}
		for s1 := uint64(0); s1 <= size; s1++ {
			p, _ := tr.ConsistencyProof(s1, size)
			seeds["FuzzVerifyConsistency"] = append(seeds["FuzzVerifyConsistency"], []any{s1, size, EncodeProof(p)})
		}
	}
	p, _ := tr.InclusionProof(4, 7)
	seeds["FuzzVerifyInclusion"] = append(seeds["FuzzVerifyInclusion"],
		[]any{uint64(4), uint64(8), uint16(4), EncodeProof(p)}, // the size-7 proof with size 8 (and root 8)
		[]any{uint64(4), uint64(7), uint16(5), EncodeProof(p)}) // another record
	seeds["FuzzDecodeProof"] = [][]any{{EncodeProof(p)}, {[]byte{}}, {make([]byte, 31)},
		{make([]byte, MaxProofHashes*HashSize)}, {make([]byte, (MaxProofHashes+1)*HashSize)}}
	writeSeedFiles(t, seeds)
}

// writeSeedFiles writes each fuzz target's seed arguments as
// testdata/fuzz/<target>/seed-NNN.
func writeSeedFiles(t *testing.T, seeds map[string][][]any) {
	for target, list := range seeds {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, args := range list {
			var b strings.Builder
			b.WriteString("go test fuzz v1\n")
			for _, a := range args {
				switch a := a.(type) {
				case []byte:
					fmt.Fprintf(&b, "[]byte(%q)\n", a)
				default:
					fmt.Fprintf(&b, "%T(%v)\n", a, a)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%03d", i)), []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
