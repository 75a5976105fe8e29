package retention

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json and the fuzz seeds")

// The vector chain: camera key 0x0202…02 (SPEC's test camera), epoch 3,
// five 2 s records from 2026-01-01T00:00:00Z.
func vectorChain(t testing.TB) (*keys.PrivateKey, []*feedchain.Record) {
	t.Helper()
	k, err := keys.FromBytes(bytes.Repeat([]byte{2}, 32))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var recs []*feedchain.Record
	for i := range 5 {
		seg := bytes.Repeat([]byte{byte(0xa0 + i)}, 100)
		r := &feedchain.Record{Version: feedchain.Version2, Camera: k.Address(), Epoch: 3, Seq: uint64(i),
			Segment: feedchain.SegmentHash(seg), Start: t0.Add(time.Duration(i) * 2 * time.Second).UnixNano(),
			Duration: 2 * time.Second, Size: 100, Codec: "avc1.4d401e", Clock: feedchain.ClockArrival}
		if i > 0 {
			r.Prev = recs[i-1].Hash()
		}
		if err := r.Sign(k); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	return k, recs
}

// vectorStatements: one of each reason, pruning below 3.
func vectorStatements(t testing.TB) (*keys.PrivateKey, []*feedchain.Record, map[string]*Statement) {
	k, recs := vectorChain(t)
	at := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC).UnixNano()
	out := map[string]*Statement{
		"bytes": {Camera: k.Address(), Epoch: 3, Below: 3, Last: recs[2].Hash(), At: at, Reason: ReasonBytes, Limit: 2 << 30},
		"age":   {Camera: k.Address(), Epoch: 3, Below: 3, Last: recs[2].Hash(), At: at, Reason: ReasonAge, Limit: uint64(12 * time.Hour)},
	}
	for _, st := range out {
		if err := st.Sign(k); err != nil {
			t.Fatal(err)
		}
	}
	return k, recs, out
}

type vectorFile struct {
	Comment       string          `json:"comment"`
	CameraKey     string          `json:"camera_private_key"`
	Records       []string        `json:"records_hex"` // the chain, encoded (SPEC §6.1)
	Statements    []vectorValid   `json:"statements"`
	Corruptions   []vectorCorrupt `json:"corruptions"`
	DomainLabel   string          `json:"label"`
	StatementSize int             `json:"statement_size"`
}

type vectorValid struct {
	Name    string `json:"name"`
	Body    string `json:"body_hex"`
	Digest  string `json:"digest_hex"`
	Encoded string `json:"statement_hex"`
}

type vectorCorrupt struct {
	Name    string `json:"name"`
	Encoded string `json:"statement_hex"`
	Expect  string `json:"expect"` // "parse" (ParseStatement refuses) or the failing field of VerifyStatement
}

// corruptions derives, from the valid byte-budget statement, encodings
// that every implementation must refuse, each with where.
func corruptions(t testing.TB, k *keys.PrivateKey, recs []*feedchain.Record, good *Statement) []vectorCorrupt {
	enc := good.Marshal()
	flip := func(i int) []byte { b := bytes.Clone(enc); b[i] ^= 1; return b }
	resign := func(f func(s *Statement)) []byte {
		s := *good
		f(&s)
		if err := s.Sign(k); err != nil {
			t.Fatal(err)
		}
		return s.Marshal()
	}
	other, err := keys.FromBytes(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	byOther := *good
	byOther.Sig, _ = other.SignDigest(good.Digest())
	raw := func(f func(b []byte)) []byte { b := bytes.Clone(enc); f(b); return b }
	return []vectorCorrupt{
		{"empty", "", "parse"},
		{"one byte short", hex.EncodeToString(enc[:len(enc)-1]), "parse"},
		{"trailing byte", hex.EncodeToString(append(bytes.Clone(enc), 0)), "parse"},
		{"version 2", hex.EncodeToString(raw(func(b []byte) { b[0] = 2 })), "parse"},
		{"below 0", hex.EncodeToString(raw(func(b []byte) { clear(b[29:37]) })), "parse"},
		{"reason 0", hex.EncodeToString(raw(func(b []byte) { b[77] = 0 })), "parse"},
		{"reason 3", hex.EncodeToString(raw(func(b []byte) { b[77] = 3 })), "parse"},
		{"limit 0", hex.EncodeToString(raw(func(b []byte) { clear(b[78:86]) })), "parse"},
		{"negative time", hex.EncodeToString(raw(func(b []byte) { b[69] |= 0x80 })), "parse"},
		{"below flipped to 2, old signature", hex.EncodeToString(flip(36)), "last"},
		{"below 4, re-signed: last is record 2's", hex.EncodeToString(resign(func(s *Statement) { s.Below = 4 })), "last"},
		{"epoch 2, re-signed", hex.EncodeToString(resign(func(s *Statement) { s.Epoch = 2 })), "epoch"},
		{"time flipped, old signature", hex.EncodeToString(flip(76)), "sig"},
		{"signature r flipped", hex.EncodeToString(flip(statementBody + 5)), "sig"},
		{"v = 29", hex.EncodeToString(raw(func(b []byte) { b[len(b)-1] = 29 })), "sig"},
		{"signed by key 0x0303…03", hex.EncodeToString(byOther.Marshal()), "sig"},
		{"age: last pruned segment ended 12 h before, limit 24 h", hex.EncodeToString(resign(func(s *Statement) {
			s.Reason, s.Limit = ReasonAge, uint64(24*time.Hour)
		})), "age"},
		{"beyond the records (below 9)", hex.EncodeToString(resign(func(s *Statement) { s.Below = 9 })), "below"},
	}
}

// TestVectors checks testdata/vectors.json against this implementation:
// the valid statements round-trip and verify; every corruption is refused
// where it says (regenerate with -update).
func TestVectors(t *testing.T) {
	k, recs, sts := vectorStatements(t)
	p := filepath.Join("testdata", "vectors.json")
	if *update {
		v := vectorFile{Comment: "prune statement vectors; docs/SPEC.md §14.1. Camera key 0x0202…02, epoch 3, five records; statements prune below 3 at 2026-01-02T00:00:00Z. expect: parse = ParseStatement refuses; otherwise the field VerifyStatement names. Regenerate: go test ./internal/retention -run TestVectors -update",
			CameraKey: "0x" + hex.EncodeToString(bytes.Repeat([]byte{2}, 32)), DomainLabel: LabelPrune, StatementSize: StatementSize}
		for _, r := range recs {
			v.Records = append(v.Records, hex.EncodeToString(r.Marshal()))
		}
		for _, name := range []string{"bytes", "age"} {
			st := sts[name]
			d := st.Digest()
			v.Statements = append(v.Statements, vectorValid{name, hex.EncodeToString(st.Body()), hex.EncodeToString(d[:]), hex.EncodeToString(st.Marshal())})
		}
		v.Corruptions = corruptions(t, k, recs, sts["bytes"])
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	var chain []*feedchain.Record
	for _, h := range v.Records {
		b, _ := hex.DecodeString(h)
		r, err := feedchain.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, r)
	}
	cam := k.Address()
	lastOf := func(s *Statement) *feedchain.Record {
		if s.Below-1 < uint64(len(chain)) {
			return chain[s.Below-1]
		}
		return nil
	}
	if len(v.Statements) != 2 || len(v.Corruptions) == 0 {
		t.Fatalf("vectors.json holds %d statements and %d corruptions", len(v.Statements), len(v.Corruptions))
	}
	for _, s := range v.Statements {
		enc, _ := hex.DecodeString(s.Encoded)
		st, err := ParseStatement(enc)
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		d := st.Digest()
		if hex.EncodeToString(st.Body()) != s.Body || hex.EncodeToString(d[:]) != s.Digest || !bytes.Equal(st.Marshal(), enc) {
			t.Errorf("%s: body, digest or encoding differ from the vector", s.Name)
		}
		if want := sts[s.Name].Marshal(); !bytes.Equal(enc, want) {
			t.Errorf("%s: the vector is not what this build signs (regenerate with -update)", s.Name)
		}
		if err := VerifyStatement(st, cam, 3, lastOf(st)); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
	}
	for _, c := range v.Corruptions {
		enc, _ := hex.DecodeString(c.Encoded)
		st, err := ParseStatement(enc)
		if c.Expect == "parse" {
			if err == nil || !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: ParseStatement = %v, want ErrMalformed", c.Name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: ParseStatement: %v, want it to parse and fail at %s", c.Name, err, c.Expect)
			continue
		}
		err = VerifyStatement(st, cam, 3, lastOf(st))
		var se *StatementError
		if !errors.As(err, &se) || se.Field != c.Expect {
			t.Errorf("%s: VerifyStatement = %v, want a failure at %s", c.Name, err, c.Expect)
		}
	}
}

// The golden bytes of SPEC §14.1: the layout, field by field.
func TestStatementLayout(t *testing.T) {
	_, recs, sts := vectorStatements(t)
	b := sts["bytes"].Marshal()
	if len(b) != StatementSize || StatementSize != 151 {
		t.Fatalf("statement of %d bytes, StatementSize %d; SPEC says 151", len(b), StatementSize)
	}
	cam := recs[0].Camera
	last := recs[2].Hash()
	want := fmt.Sprintf("01%x%016x%016x%x%016x%02x%016x", cam[:], 3, 3, last[:],
		time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC).UnixNano(), 1, uint64(2<<30))
	if got := hex.EncodeToString(b[:statementBody]); got != want {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}
}

func FuzzParseStatement(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzParseStatement (TestFuzzSeeds).
	k, recs, sts := vectorStatements(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseStatement(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseStatement error %v is not ErrMalformed", err)
			}
			return
		}
		if !bytes.Equal(st.Marshal(), b) {
			t.Fatalf("Marshal(Parse(x)) != x")
		}
		var last *feedchain.Record
		if st.Below-1 < uint64(len(recs)) {
			last = recs[st.Below-1]
		}
		if err := VerifyStatement(st, k.Address(), 3, last); err == nil {
			// Only what the camera signed verifies.
			ok := false
			for _, v := range sts {
				ok = ok || bytes.Equal(v.Marshal(), b)
			}
			if !ok && !bytes.Equal(b, signedCopy(t, k, st)) {
				t.Fatalf("a statement the camera did not sign verifies: %x", b)
			}
		}
	})
}

// signedCopy is st signed by k, as the camera would.
func signedCopy(t *testing.T, k *keys.PrivateKey, st *Statement) []byte {
	c := *st
	if err := c.Sign(k); err != nil {
		t.Fatal(err)
	}
	return c.Marshal()
}

// TestFuzzSeeds writes (with -update) and checks the committed seed
// corpus of FuzzParseStatement: the valid statements and every corruption.
func TestFuzzSeeds(t *testing.T) {
	k, recs, sts := vectorStatements(t)
	seeds := map[string][]byte{"valid-bytes": sts["bytes"].Marshal(), "valid-age": sts["age"].Marshal()}
	for i, c := range corruptions(t, k, recs, sts["bytes"]) {
		b, _ := hex.DecodeString(c.Encoded)
		seeds[fmt.Sprintf("corrupt-%02d", i)] = b
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParseStatement")
	for name, b := range seeds {
		p := filepath.Join(dir, name)
		content := fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, content, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, content) {
			t.Errorf("%s differs from the seed (regenerate with -update)", p)
		}
	}
}
