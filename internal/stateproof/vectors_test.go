package stateproof

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/ethereum/go-ethereum/triedb/database"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json and the fuzz seeds from the generator")

// The vector state: a few entries shaped like the ledger's (a device
// record, an empty index entry, a nonce), enough for branch, extension and
// leaf nodes on the proven paths.
var vectorState = [][2]string{
	{"meta/chain", "camchain-4242"},
	{"hub/\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11", ""},
	{"dev/\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22\x22", "\x8b\x94device-record"},
	{"own/owner/camera", ""},
	{"nonce/signer/00000001", "expiry+txhash"},
	{"nonce/signer/00000002", "expiry+txhash-2"},
	{"ev/00000001", "event one"},
	{"ev/00000002", "event two"},
}

// noNodes serves no stored nodes: the vector trie lives in memory.
type noNodes struct{}

func (noNodes) NodeReader(common.Hash) (database.NodeReader, error) { return noNodes{}, nil }
func (noNodes) Node(common.Hash, []byte, common.Hash) ([]byte, error) {
	return nil, nil
}

type nodeList struct{ nodes [][]byte }

func (p *nodeList) Put(_, v []byte) error { p.nodes = append(p.nodes, common.CopyBytes(v)); return nil }
func (p *nodeList) Delete([]byte) error   { return errors.New("delete") }

// buildVectorTrie is the reference prover, written from the spec: the same
// steps as internal/ledger's tree, over vectorState.
func buildVectorTrie(t testing.TB) (*trie.Trie, Hash) {
	t.Helper()
	tr := trie.NewEmpty(noNodes{})
	for _, kv := range vectorState {
		p := TrieKey([]byte(kv[0]))
		if err := tr.Update(p[:], LeafValue([]byte(kv[1]))); err != nil {
			t.Fatal(err)
		}
	}
	return tr, Hash(tr.Hash())
}

func prove(t testing.TB, tr *trie.Trie, root Hash, key string) *Proof {
	t.Helper()
	var w nodeList
	p := TrieKey([]byte(key))
	if err := tr.Prove(p[:], &w); err != nil {
		t.Fatal(err)
	}
	pr := &Proof{Height: 7, Key: []byte(key), Root: root, Nodes: w.nodes}
	pr.Absent = true
	for _, kv := range vectorState {
		if kv[0] == key {
			pr.Value, pr.Absent = []byte(kv[1]), false
		}
	}
	return pr
}

// vectorCase is one line of testdata/vectors.json.
type vectorCase struct {
	Name    string   `json:"name"`
	AppHash string   `json:"app_hash"`
	Key     string   `json:"key"`
	Value   string   `json:"value"`
	Absent  bool     `json:"absent,omitempty"`
	Root    string   `json:"root"`
	Nodes   []string `json:"nodes"`
	Expect  string   `json:"expect"` // ok | malformed | app_hash | path | value
}

type vectorFile struct {
	Comment string       `json:"comment"`
	State   [][2]string  `json:"state_hex"`
	Root    string       `json:"root"`
	AppHash string       `json:"app_hash"`
	Cases   []vectorCase `json:"cases"`
}

func toCase(name, expect string, appHash []byte, p *Proof) vectorCase {
	c := vectorCase{Name: name, AppHash: hex.EncodeToString(appHash), Key: hex.EncodeToString(p.Key),
		Value: hex.EncodeToString(p.Value), Absent: p.Absent, Root: hex.EncodeToString(p.Root[:]), Expect: expect}
	for _, n := range p.Nodes {
		c.Nodes = append(c.Nodes, hex.EncodeToString(n))
	}
	return c
}

func clone(p *Proof) *Proof {
	q := *p
	q.Key, q.Value = bytes.Clone(p.Key), bytes.Clone(p.Value)
	q.Nodes = make([][]byte, len(p.Nodes))
	for i, n := range p.Nodes {
		q.Nodes[i] = bytes.Clone(n)
	}
	return &q
}

// generate builds the vector file: for a present and an absent key, the
// valid proof, then systematic corruptions of it.
func generate(t testing.TB) vectorFile {
	tr, root := buildVectorTrie(t)
	app := AppHash(root)
	f := vectorFile{Comment: "camchain state proofs (docs/SPEC.md §3.4); generator: internal/stateproof/vectors_test.go (go test -run TestVectors -update)",
		Root: hex.EncodeToString(root[:]), AppHash: hex.EncodeToString(app)}
	for _, kv := range vectorState {
		f.State = append(f.State, [2]string{hex.EncodeToString([]byte(kv[0])), hex.EncodeToString([]byte(kv[1]))})
	}
	dev := prove(t, tr, root, vectorState[2][0])
	hub := prove(t, tr, root, vectorState[1][0])
	absent := prove(t, tr, root, "dev/not-a-camera")
	f.Cases = append(f.Cases, toCase("device record present", "ok", app, dev),
		toCase("empty index entry present", "ok", app, hub),
		toCase("key absent", "ok", app, absent))
	add := func(name, expect string, app []byte, p *Proof) {
		f.Cases = append(f.Cases, toCase(name, expect, app, p))
	}
	for i := range dev.Nodes {
		for _, at := range []int{0, len(dev.Nodes[i]) / 2, len(dev.Nodes[i]) - 1} {
			q := clone(dev)
			q.Nodes[i][at] ^= 0x01
			add(fmt.Sprintf("node %d byte %d flipped", i, at), "path", app, q)
		}
	}
	q := clone(dev)
	q.Nodes = q.Nodes[:len(q.Nodes)-1]
	add("leaf node dropped", "path", app, q)
	q = clone(dev)
	q.Value[len(q.Value)-1] ^= 0x01
	add("value bit flipped", "value", app, q)
	q = clone(dev)
	q.Value = append(q.Value, 0)
	add("value with a trailing byte", "value", app, q)
	q = clone(dev)
	q.Value, q.Absent = nil, true
	add("present key claimed absent", "value", app, q)
	q = clone(absent)
	q.Value, q.Absent = []byte("forged"), false
	add("absent key claimed present", "value", app, q)
	q = clone(dev)
	q.Key[len(q.Key)-1] ^= 0x01
	add("key bit flipped (another path)", "path", app, q)
	q = clone(dev)
	q.Root[0] ^= 0x01
	add("root bit flipped", "app_hash", app, q)
	wrong := bytes.Clone(app)
	wrong[31] ^= 0x80
	add("app hash of another header", "app_hash", wrong, dev)
	add("app hash truncated", "malformed", app[:31], dev)
	q = clone(dev)
	q.Nodes = nil
	add("no nodes", "malformed", app, q)
	q = clone(dev)
	q.Nodes[0] = append(q.Nodes[0], make([]byte, MaxNodeSize)...)
	add("oversize node", "malformed", app, q)
	q = clone(dev)
	q.Key = nil
	add("empty key", "malformed", app, q)
	q = clone(absent)
	q.Value = []byte("x")
	add("absence proof with a value", "malformed", app, q)
	return f
}

func decodeCase(t testing.TB, c vectorCase) ([]byte, *Proof) {
	t.Helper()
	h := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		return b
	}
	p := &Proof{Height: 7, Key: h(c.Key), Absent: c.Absent}
	if v := h(c.Value); len(v) > 0 {
		p.Value = v
	}
	copy(p.Root[:], h(c.Root))
	for _, n := range c.Nodes {
		p.Nodes = append(p.Nodes, h(n))
	}
	return h(c.AppHash), p
}

var expectErr = map[string]error{"ok": nil, "malformed": ErrMalformed, "app_hash": ErrAppHash, "path": ErrPath, "value": ErrValue}

// TestVectors checks testdata/vectors.json: that the generator still
// produces it byte for byte, and that Verify gives each case its outcome.
func TestVectors(t *testing.T) {
	got, err := json.MarshalIndent(generate(t), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "vectors.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		writeSeeds(t)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestVectors -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("testdata/vectors.json differs from the generator's output (a format change? run -update and update docs/SPEC.md §3.4)")
	}
	var f vectorFile
	if err := json.Unmarshal(want, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) < 20 {
		t.Fatalf("only %d cases", len(f.Cases))
	}
	for _, c := range f.Cases {
		app, p := decodeCase(t, c)
		want, ok := expectErr[c.Expect]
		if !ok {
			t.Fatalf("%s: unknown expect %q", c.Name, c.Expect)
		}
		err := Verify(app, p)
		if want == nil && err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
		if want != nil && !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", c.Name, err, want)
		}
	}
}

// TestVectorRootIndependent pins the root of the vector state to the value
// a second construction reaches: inserting in another order.
func TestVectorRootIndependent(t *testing.T) {
	_, root := buildVectorTrie(t)
	tr := trie.NewEmpty(noNodes{})
	keys := make([]string, len(vectorState))
	vals := map[string]string{}
	for i, kv := range vectorState {
		keys[i], vals[kv[0]] = kv[0], kv[1]
	}
	sort.Sort(sort.Reverse(sort.StringSlice(keys)))
	for _, k := range keys {
		p := TrieKey([]byte(k))
		if err := tr.Update(p[:], LeafValue([]byte(vals[k]))); err != nil {
			t.Fatal(err)
		}
	}
	if Hash(tr.Hash()) != root {
		t.Fatal("the root depends on insertion order")
	}
	// The labels are part of the format: pin them.
	if hex.EncodeToString(AppHash(Hash{}))[:8] == "" || KeyLabel != "camchain/v2/state-key" || LeafLabel != "camchain/v2/state-leaf" || AppHashLabel != "camchain/v2/apphash" {
		t.Fatal("labels changed")
	}
}

// encodeFuzz packs a proof as the fuzz target's arguments.
func encodeFuzz(app []byte, p *Proof) (appHash, key, value []byte, absent bool, root, nodes []byte) {
	for _, n := range p.Nodes {
		nodes = append(nodes, byte(len(n)>>8), byte(len(n)))
		nodes = append(nodes, n...)
	}
	return app, p.Key, p.Value, p.Absent, p.Root[:], nodes
}

func writeSeeds(t testing.TB) {
	dir := filepath.Join("testdata", "fuzz", "FuzzVerify")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := generate(t)
	for i, c := range f.Cases {
		app, p := decodeCase(t, c)
		a, k, v, abs, r, n := encodeFuzz(app, p)
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n[]byte(%q)\n[]byte(%q)\nbool(%v)\n[]byte(%q)\n[]byte(%q)\n", a, k, v, abs, r, n)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("case%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
