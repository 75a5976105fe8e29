package evidence_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/camchain/camchain/internal/canon"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/evidence/evidencetest"
	"github.com/camchain/camchain/internal/feedchain"
)

// Version 4 vectors (SPEC §10.6, §10.8): bundle-v4.cbor is a real hub's
// bundle of 3 sealed clips (#0–#2, random plaintext, content key 1) that
// reveals the keys of #0 and #2; bundle-v4.json gives its SHA-256, the
// pin, the clock, the plaintexts' SHA-256 and the cases, each a change to
// the revealed keys (or to the bytes) and the kind it must fail with.
const (
	revealBundle = "testdata/bundle-v4.cbor"
	revealFile   = "testdata/bundle-v4.json"
)

type revealVectors struct {
	Comment   []string          `json:"comment"`
	SHA256    string            `json:"sha256"`
	Pin       string            `json:"validators_hash"`
	Now       string            `json:"now"`
	Plaintext map[string]string `json:"plaintext_sha256"` // by seq
	Cases     []revealCase      `json:"cases"`
	// Report is Verify's report of the bundle as is, pinned.
	Report *evidence.Report `json:"report"`
}

type revealCase struct {
	Name   string `json:"name"`
	Expect string `json:"expect"`
	Reason string `json:"reason,omitempty"`
}

// revealCases are the corruptions of the vectors, by name: each rewrites
// the bundle (decoded) or its bytes.
var revealCases = []struct {
	name, expect, reason string
	edit                 func(b *evidence.Bundle) // nil: raw
	raw                  func(t *testing.T, data []byte) []byte
}{
	{name: "as is", expect: "ok"},
	{name: "wrong key: a bit of #0's key flipped", expect: "reveal", reason: "does not open",
		edit: func(b *evidence.Bundle) { b.Reveals[0].Key = flipBit(b.Reveals[0].Key, 5) }},
	{name: "the key of #2 given for #0", expect: "reveal", reason: "does not open",
		edit: func(b *evidence.Bundle) { b.Reveals[0].Key = b.Reveals[1].Key }},
	{name: "a key for record #9, not a clip of the bundle", expect: "reveal", reason: "not a clip of this bundle",
		edit: func(b *evidence.Bundle) {
			b.Reveals = append(b.Reveals, evidence.Reveal{Seq: 9, Serial: 1, Key: b.Reveals[0].Key})
		}},
	{name: "#0's key bound to another content key", expect: "reveal", reason: "sealed under content key 1",
		edit: func(b *evidence.Bundle) { b.Reveals[0].Serial = 2 }},
	{name: "a key of #1 derived from a guess", expect: "reveal", reason: "does not open",
		edit: func(b *evidence.Bundle) {
			b.Reveals = []evidence.Reveal{b.Reveals[0], {Seq: 1, Serial: 1, Key: bytes.Repeat([]byte{7}, 32)}, b.Reveals[1]}
		}},
	{name: "#0's key twice", expect: "malformed", raw: func(t *testing.T, data []byte) []byte {
		b, _ := evidence.Decode(data)
		return wrapV4(t, innerOf(t, data), []evidence.Reveal{b.Reveals[0], b.Reveals[0], b.Reveals[1]})
	}},
	{name: "keys out of order", expect: "malformed", raw: func(t *testing.T, data []byte) []byte {
		b, _ := evidence.Decode(data)
		return wrapV4(t, innerOf(t, data), []evidence.Reveal{b.Reveals[1], b.Reveals[0]})
	}},
	{name: "no key at all, as version 4", expect: "malformed", raw: func(t *testing.T, data []byte) []byte {
		return wrapV4(t, innerOf(t, data), []evidence.Reveal{})
	}},
	{name: "a key of 31 bytes", expect: "malformed", raw: func(t *testing.T, data []byte) []byte {
		b, _ := evidence.Decode(data)
		b.Reveals[0].Key = b.Reveals[0].Key[:31]
		return wrapV4(t, innerOf(t, data), b.Reveals)
	}},
	{name: "a version 4 bundle inside", expect: "malformed", raw: func(t *testing.T, data []byte) []byte {
		b, _ := evidence.Decode(data)
		return wrapV4(t, data, b.Reveals)
	}},
	{name: "a byte of the inner bundle's first segment flipped", expect: "segment", raw: func(t *testing.T, data []byte) []byte {
		b, _ := evidence.Decode(data)
		seg := b.Clips[0].Segment
		i := bytes.Index(data, seg)
		out := append([]byte(nil), data...)
		out[i+len(seg)/2] ^= 1
		return out
	}},
	{name: "the version flipped to 5", expect: "version", raw: func(t *testing.T, data []byte) []byte {
		out := append([]byte(nil), data...)
		out[1+1+len(evidence.Label)] = 5
		return out
	}},
}

func flipBit(b []byte, i int) []byte {
	out := append([]byte(nil), b...)
	out[i] ^= 0x10
	return out
}

// innerOf is the bundle a version 4 bundle wraps.
func innerOf(t *testing.T, data []byte) []byte {
	t.Helper()
	var w struct {
		_       struct{} `cbor:",toarray"`
		Label   string
		Version uint64
		Bundle  []byte
		Reveals cbor.RawMessage
	}
	if err := cbor.Unmarshal(data, &w); err != nil {
		t.Fatal(err)
	}
	return w.Bundle
}

// wrapV4 writes a version 4 bundle of inner and rs as they are, without
// Encode's checks.
func wrapV4(t *testing.T, inner []byte, rs []evidence.Reveal) []byte {
	t.Helper()
	em, err := canon.EncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	out, err := em.Marshal([]any{evidence.Label, uint64(evidence.VersionV4), inner, rs})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sealedBundle records 3 sealed segments of random plaintext under a
// fresh camera of the shared hub, checkpoints them and exports them: the
// bundle, the content key and the plaintexts.
func sealedBundle(t *testing.T) ([]byte, *e2ee.ContentKey, [][]byte, *fixture) {
	t.Helper()
	f := shared(t)
	ctx := context.Background()
	cam, err := evidencetest.NewCamera(ctx, f.hub)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := e2ee.NewContentKey(cam.Key.Address(), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	var plain, sealed [][]byte
	for seq := range 3 {
		p := make([]byte, 200)
		rand.Read(p)
		sk, err := ck.Segment(feedchain.StreamMain, uint64(seq))
		if err != nil {
			t.Fatal(err)
		}
		s, err := sk.Seal(0, p)
		if err != nil {
			t.Fatal(err)
		}
		plain, sealed = append(plain, p), append(sealed, s)
	}
	t0 := f.t0.Add(30 * time.Second)
	if err := cam.RecordData(sealed, t0, 2*time.Second, evidencetest.Codec); err != nil {
		t.Fatal(err)
	}
	if err := cam.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	data, err := cam.Export(ctx, t0, t0.Add(6*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return data, ck, plain, f
}

func segmentKey(t *testing.T, ck *e2ee.ContentKey, seq uint64) []byte {
	t.Helper()
	sk, err := ck.Segment(feedchain.StreamMain, seq)
	if err != nil {
		t.Fatal(err)
	}
	return sk.Bytes()
}

// A sealed bundle verifies without a key and says its clips do not play;
// with the keys of #0 and #2 revealed (version 4) it verifies, its inner
// bytes are the hub's exactly, #0 and #2 play (OpenClip gives their
// plaintext) and #1 still does not.
func TestReveal(t *testing.T) {
	data, ck, plain, f := sealedBundle(t)
	rep, err := evidence.VerifyBytes(data, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range rep.Clips {
		if !c.Sealed || c.Revealed {
			t.Fatalf("clip %d of the sealed bundle: sealed %v revealed %v", i, c.Sealed, c.Revealed)
		}
	}
	if s := rep.String(); !strings.Contains(s, "sealed: not playable without its key") || !strings.Contains(s, "they do not play") {
		t.Fatalf("report of a sealed bundle does not say its clips do not play:\n%s", s)
	}
	b, err := evidence.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := evidence.OpenClip(b, 0); !errors.Is(err, evidence.ErrSealed) {
		t.Fatalf("OpenClip of a sealed clip with no key: %v, want ErrSealed", err)
	}
	b.Reveals = []evidence.Reveal{{Seq: 0, Serial: 1, Key: segmentKey(t, ck, 0)}, {Seq: 2, Serial: 1, Key: segmentKey(t, ck, 2)}}
	v4, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(innerOf(t, v4), data) {
		t.Fatal("the version 4 bundle does not wrap the hub's bytes exactly")
	}
	if _, err := b.WriteTo(&bytes.Buffer{}, nil); err == nil {
		t.Fatal("WriteTo (the hub's path) wrote a bundle with revealed keys")
	}
	rep, err = evidence.VerifyBytes(v4, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false, true} {
		if c := rep.Clips[i]; !c.Sealed || c.Revealed != want {
			t.Errorf("clip %d: sealed %v revealed %v, want revealed %v", i, c.Sealed, c.Revealed, want)
		}
	}
	if s := rep.String(); !strings.Contains(s, "revealed: playable") || !strings.Contains(s, "segment keys of 2") {
		t.Fatalf("report:\n%s", s)
	}
	b2, err := evidence.Decode(v4)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := b2.Encode(); !bytes.Equal(again, v4) {
		t.Fatal("a version 4 bundle does not re-encode to its bytes")
	}
	for i, want := range [][]byte{plain[0], nil, plain[2]} {
		got, err := evidence.OpenClip(b2, i)
		switch {
		case want == nil && !errors.Is(err, evidence.ErrSealed):
			t.Errorf("clip %d, not revealed: %v, want ErrSealed", i, err)
		case want != nil && (err != nil || !bytes.Equal(got, want)):
			t.Errorf("clip %d, revealed: does not give its plaintext (%v)", i, err)
		}
	}

	// A key revealed for a clip that is not sealed is refused: there is
	// nothing of it to reveal.
	pb, err := evidence.Decode(f.bundle)
	if err != nil {
		t.Fatal(err)
	}
	pb.Reveals = []evidence.Reveal{{Seq: 0, Serial: 1, Key: segmentKey(t, ck, 0)}}
	enc, err := pb.Encode()
	if err != nil {
		t.Fatal(err)
	}
	var re *evidence.RevealError
	if _, err := evidence.VerifyBytes(enc, f.opts()); !errors.As(err, &re) || re.Seq != 0 || !strings.Contains(err.Error(), "not sealed") {
		t.Fatalf("a key for a clip in the clear: %v, want a *RevealError for record #0", err)
	}
	// Encode refuses two keys for one clip.
	b.Reveals = []evidence.Reveal{b.Reveals[0], b.Reveals[0]}
	if _, err := b.Encode(); !errors.Is(err, evidence.ErrMalformed) {
		t.Fatalf("Encode of two keys for one clip: %v, want malformed", err)
	}
}

func TestRevealVectors(t *testing.T) {
	if *update {
		generateRevealVectors(t)
	}
	data, err := os.ReadFile(revealBundle)
	if err != nil {
		t.Fatal(err)
	}
	var v revealVectors
	raw, err := os.ReadFile(revealFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != v.SHA256 {
		t.Fatalf("%s does not have the SHA-256 %s names", revealBundle, revealFile)
	}
	now, err := time.Parse(time.RFC3339, v.Now)
	if err != nil {
		t.Fatal(err)
	}
	pin, _ := hex.DecodeString(v.Pin)
	opts := evidence.Options{PinnedValidatorsHash: pin, Now: now}
	if len(v.Cases) != len(revealCases) {
		t.Fatalf("%s has %d cases, the test %d: regenerate", revealFile, len(v.Cases), len(revealCases))
	}
	for i, c := range revealCases {
		if v.Cases[i].Name != c.name || v.Cases[i].Expect != c.expect {
			t.Fatalf("case %d of %s is %+v, the test's %q (%s): regenerate", i, revealFile, v.Cases[i], c.name, c.expect)
		}
		in := revealCaseBytes(t, c.name, data)
		rep, err := evidence.VerifyBytes(in, opts)
		if got := evidence.KindOf(err); got != c.expect {
			t.Errorf("%s: %s (%v), want %s", c.name, got, err, c.expect)
			continue
		}
		if c.reason != "" && !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: %v, want it to say %q", c.name, err, c.reason)
		}
		if c.expect == "reveal" {
			var re *evidence.RevealError
			if !errors.As(err, &re) {
				t.Errorf("%s: %T, want a *RevealError", c.name, err)
			}
		}
		if err == nil && c.name == "as is" {
			got, _ := json.Marshal(rep)
			want, _ := json.Marshal(v.Report)
			if !bytes.Equal(got, want) {
				t.Errorf("report\n got %s\nwant %s", got, want)
			}
		}
		if err == nil {
			b, _ := evidence.Decode(in)
			for j, cl := range rep.Clips {
				p, err := evidence.OpenClip(b, j)
				want, revealed := v.Plaintext[strconv.FormatUint(cl.Seq, 10)]
				if revealed != cl.Revealed {
					t.Errorf("clip %d: revealed %v, want %v", j, cl.Revealed, revealed)
				}
				if sum := sha256.Sum256(p); revealed && (err != nil || hex.EncodeToString(sum[:]) != want) {
					t.Errorf("clip %d: its plaintext is not the vectors' (%v)", j, err)
				}
			}
		}
	}
}

// revealCaseBytes applies the named case to the vector bundle.
func revealCaseBytes(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	for _, c := range revealCases {
		if c.name != name {
			continue
		}
		switch {
		case c.raw != nil:
			return c.raw(t, data)
		case c.edit != nil:
			b, err := evidence.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			c.edit(b)
			out, err := b.Encode()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return out
		}
		return data
	}
	t.Fatalf("no case %q", name)
	return nil
}

func generateRevealVectors(t *testing.T) {
	data, ck, plain, f := sealedBundle(t)
	b, err := evidence.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	b.Reveals = []evidence.Reveal{{Seq: 0, Serial: 1, Key: segmentKey(t, ck, 0)}, {Seq: 2, Serial: 1, Key: segmentKey(t, ck, 2)}}
	v4, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(v4)
	v := revealVectors{
		Comment: []string{
			"A version 4 evidence bundle (docs/SPEC.md §10.8) made by a real hub: 3 clips #0-#2, each 200 random bytes",
			"sealed (SPEC §17.2) under content key 1, revealing the segment keys of #0 and #2. plaintext_sha256 are",
			"their plaintexts' SHA-256. Each case is a change the test (reveal_test.go, revealCases) makes, and the",
			"kind of failure it must give. Regenerate: go test ./internal/evidence -run TestRevealVectors -update",
		},
		SHA256: hex.EncodeToString(sum[:]), Pin: hex.EncodeToString(f.pin),
		Now:       time.Now().UTC().Format(time.RFC3339),
		Plaintext: map[string]string{},
	}
	for _, i := range []int{0, 2} {
		s := sha256.Sum256(plain[i])
		v.Plaintext[strconv.Itoa(i)] = hex.EncodeToString(s[:])
	}
	for _, c := range revealCases {
		v.Cases = append(v.Cases, revealCase{Name: c.name, Expect: c.expect, Reason: c.reason})
	}
	if v.Report, err = evidence.VerifyBytes(v4, f.opts()); err != nil {
		t.Fatal(err)
	}
	j, _ := json.MarshalIndent(v, "", "  ")
	if err := os.WriteFile(revealFile, append(j, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(revealBundle, v4, 0o644); err != nil {
		t.Fatal(err)
	}
	for i, c := range revealCases {
		seed := revealCaseBytes(t, c.name, v4)
		p := filepath.Join("testdata", "fuzz", "FuzzDecodeBundle", "v4-case-"+string(rune('a'+i)))
		if err := os.WriteFile(p, []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", seed)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
