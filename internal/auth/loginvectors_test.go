package auth

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// vectorRefusal is the refusal record of testdata/loginlog_vectors.json.
func vectorRefusal() *RefusalRecord {
	r := &RefusalRecord{Time: 1764648001, Reason: ReasonWrongDomain}
	for i := range r.Address {
		r.Address[i] = 0x66
	}
	for i := range r.Client {
		r.Client[i] = 0x77
	}
	for i := range r.Head {
		r.Head[i], r.Message[i] = 0x88, 0x99
	}
	return r
}

// proofCase is one proof of the vectors with the outcome it must have.
type proofCase struct {
	Name    string   `json:"name"`
	Entry   string   `json:"entry"`
	Index   uint64   `json:"index"`
	Path    []string `json:"path"`
	BatchTx string   `json:"batch_tx"`
	Expect  string   `json:"expect"` // ok | refused
}

type loginLogVectors struct {
	Comment     string      `json:"comment"`
	HubKey      string      `json:"hub_private_key"` // test key only
	ChainID     uint64      `json:"chain_id"`
	Refusal     string      `json:"refusal_record"`
	RefusalHash string      `json:"refusal_hash"`
	Entries     []string    `json:"entries"` // the batch's entries, in order
	LeafHashes  []string    `json:"entry_hashes"`
	Root        string      `json:"root"`
	BatchTx     string      `json:"batch_tx"`
	Index       uint64      `json:"index"`
	Path        []string    `json:"path"`
	Cases       []proofCase `json:"cases"`
}

func vectorHubKey(t testing.TB) *keys.PrivateKey {
	k, err := keys.FromBytes(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestLoginLogVectors checks testdata/loginlog_vectors.json (docs/SPEC.md
// §11.7): a refusal record, a batch of three entries (the §11.4 record,
// the refusal, a renewal), its root, the LoginBatch that commits it, a
// proof, and corruptions of the proof each with its outcome.
// UPDATE_VECTORS=1 regenerates it.
func TestLoginLogVectors(t *testing.T) {
	hub := vectorHubKey(t)
	ref := vectorRefusal()
	renew := vectorRecord()
	renew.Kind, renew.Prev, renew.Message, renew.Time = KindRenew, vectorRecord().Hash(), [32]byte{}, 1764648002
	entries := []*Entry{{Record: vectorRecord()}, {Refusal: ref}, {Record: renew}}
	var hashes []feedchain.Hash
	for _, e := range entries {
		hashes = append(hashes, feedchain.Hash(e.Hash()))
	}
	root := checkpoint.Root(hashes)
	signed, err := tx.Sign(4242, &tx.LoginBatch{Hub: hub.Address(), Seq: 0, PeriodStart: 1764648000, PeriodEnd: 1764648060,
		Size: 3, Root: root, Unverified: 42, Nonce: 1, Expiry: 2000000000}, hub)
	if err != nil {
		t.Fatal(err)
	}
	batchTx, _ := signed.Encode()
	tree := checkpoint.NewTree()
	for _, h := range hashes {
		tree.Append(h)
	}
	proof, _ := tree.InclusionProof(1, 3)
	hx := func(b []byte) string { return hex.EncodeToString(b) }
	hxs := func(p []feedchain.Hash) []string {
		out := []string{}
		for _, h := range p {
			out = append(out, hx(h[:]))
		}
		return out
	}
	path := filepath.Join("testdata", "loginlog_vectors.json")
	if os.Getenv("UPDATE_VECTORS") != "" {
		v := loginLogVectors{
			Comment: "camchain login log (docs/SPEC.md §11.7): a refusal record (address 0x66…, client 0x77…, head 0x88…, time 1764648001, message digest 0x99…, reason 1 wrong domain); " +
				"a batch of the §11.4 vector record, this refusal and a renewal after the record; its RFC 6962 root; the LoginBatch (chain 4242, seq 0, unverified 42) signed by the hub key; the proof of entry 1. " +
				"Regenerate: UPDATE_VECTORS=1 go test ./internal/auth -run TestLoginLogVectors",
			HubKey: "0x" + hx(bytes.Repeat([]byte{3}, 32)), ChainID: 4242,
			Refusal: hx(ref.Encode()), RefusalHash: ref.Hash().String(),
			Root: hx(root[:]), BatchTx: hx(batchTx), Index: 1, Path: hxs(proof),
		}
		for i, e := range entries {
			v.Entries = append(v.Entries, hx(e.Encode()))
			v.LeafHashes = append(v.LeafHashes, hx(hashes[i][:]))
		}
		add := func(name string, entry []byte, index uint64, p []feedchain.Hash, btx []byte, expect string) {
			v.Cases = append(v.Cases, proofCase{name, hx(entry), index, hxs(p), hx(btx), expect})
		}
		flip := func(b []byte, i int) []byte { c := bytes.Clone(b); c[i] ^= 1; return c }
		ent := ref.Encode()
		add("genuine", ent, 1, proof, batchTx, "ok")
		add("entry bit flipped", flip(ent, 40), 1, proof, batchTx, "refused")
		add("entry trailing byte", append(bytes.Clone(ent), 0), 1, proof, batchTx, "refused")
		add("index 0", ent, 0, proof, batchTx, "refused")
		add("index 2", ent, 2, proof, batchTx, "refused")
		add("index 3 (the size)", ent, 3, proof, batchTx, "refused")
		bad := append([]feedchain.Hash(nil), proof...)
		bad[0][0] ^= 1
		add("path bit flipped", ent, 1, bad, batchTx, "refused")
		add("path cut", ent, 1, proof[:len(proof)-1], batchTx, "refused")
		add("path extended", ent, 1, append(append([]feedchain.Hash(nil), proof...), feedchain.Hash{}), batchTx, "refused")
		add("batch tx bit flipped", ent, 1, proof, flip(batchTx, len(batchTx)-70), "refused")
		add("batch tx trailing byte", ent, 1, proof, append(bytes.Clone(batchTx), 0), "refused")
		add("the entry of another index", entries[0].Encode(), 1, proof, batchTx, "refused")
		data, _ := json.MarshalIndent(v, "", "  ")
		if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		writeProofSeeds(t, v.Cases)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v loginLogVectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if v.Refusal != hx(ref.Encode()) || v.RefusalHash != ref.Hash().String() || len(ref.Encode()) != RefusalSize {
		t.Fatal("refusal encoding or hash differs from the committed vectors")
	}
	if back, err := DecodeRefusal(ref.Encode()); err != nil || *back != *ref {
		t.Fatalf("decode: %+v, %v", back, err)
	}
	if v.Root != hx(root[:]) || v.BatchTx != hx(batchTx) || !slicesEqual(v.Path, hxs(proof)) {
		t.Fatal("root, batch transaction or proof differs from the committed vectors")
	}
	for i, e := range entries {
		if v.Entries[i] != hx(e.Encode()) || v.LeafHashes[i] != hx(hashes[i][:]) {
			t.Fatalf("entry %d differs from the committed vectors", i)
		}
	}
	for _, c := range v.Cases {
		_, _, err := VerifyLoginProof(caseProof(t, c.Entry, c.Index, c.Path, c.BatchTx), v.ChainID, hub.Address())
		switch c.Expect {
		case "ok":
			if err != nil {
				t.Errorf("%s: %v", c.Name, err)
			}
		case "refused":
			if !errors.Is(err, ErrLoginProof) {
				t.Errorf("%s: %v, want refused", c.Name, err)
			}
		default:
			t.Errorf("%s: unknown expect %q", c.Name, c.Expect)
		}
	}
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func caseProof(t testing.TB, entry string, index uint64, path []string, batchTx string) LoginProof {
	dec := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	p := LoginProof{Entry: dec(entry), Index: index, BatchTx: dec(batchTx)}
	for _, h := range path {
		p.Path = append(p.Path, feedchain.Hash(dec(h)))
	}
	return p
}

// writeProofSeeds writes the vector cases as FuzzVerifyLoginProof seeds.
func writeProofSeeds(t testing.TB, cases []proofCase) {
	dir := filepath.Join("testdata", "fuzz", "FuzzVerifyLoginProof")
	os.MkdirAll(dir, 0o755)
	for i, c := range cases {
		p := caseProof(t, c.Entry, c.Index, c.Path, c.BatchTx)
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nuint64(%d)\n[]byte(%q)\n[]byte(%q)\n", p.Entry, p.Index, checkpoint.EncodeProof(p.Path), p.BatchTx)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("case-%02d", i)), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir = filepath.Join("testdata", "fuzz", "FuzzDecodeEntry")
	os.MkdirAll(dir, 0o755)
	for i, c := range cases[:3] {
		b, _ := hex.DecodeString(c.Entry)
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("entry-%02d", i)), fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b), 0o644)
	}
}

// FuzzDecodeEntry: an entry that decodes re-encodes to the same bytes.
func FuzzDecodeEntry(f *testing.F) {
	f.Add(vectorRecord().Encode())
	f.Add(vectorRefusal().Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEntry(b)
		if err != nil {
			return
		}
		if !bytes.Equal(e.Encode(), b) {
			t.Fatal("round trip differs")
		}
	})
}

// FuzzVerifyLoginProof: no input panics, and what verifies is exactly
// the vector's genuine proof (the hub key is the vectors', so nothing else
// can be signed by it).
func FuzzVerifyLoginProof(f *testing.F) {
	hub := vectorHubKey(f)
	f.Fuzz(func(t *testing.T, entry []byte, index uint64, path, batchTx []byte) {
		p, err := checkpoint.DecodeProof(path)
		if err != nil {
			return
		}
		e, m, err := VerifyLoginProof(LoginProof{Entry: entry, Index: index, Path: p, BatchTx: batchTx}, 4242, hub.Address())
		if err != nil {
			return
		}
		if !bytes.Equal(e.Encode(), entry) || m.Hub != hub.Address() {
			t.Fatal("verified something that is not its input")
		}
		if err := checkpoint.VerifyInclusion(index, m.Size, feedchain.Hash(e.Hash()), m.Root, p); err != nil {
			t.Fatalf("verified, but the inclusion does not hold: %v", err)
		}
	})
}
