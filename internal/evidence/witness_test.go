package evidence_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/testutil/litewitness"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/witness"
)

// witnessedVector is the vector bundle (SPEC §10.6) with each checkpoint
// cosigned by a real, independent witness (torchwood's litewitness) to
// which the checkpoints were published in order with consistency proofs.
type witnessedVector struct {
	plain   *evidence.Bundle // the vector, as decoded
	signed  []byte           // version 2, with the cosignatures
	key     witness.Key
	pin     []byte
	witness *litewitness.Witness
}

func newWitnessedVector(t *testing.T) *witnessedVector {
	t.Helper()
	data, err := os.ReadFile("testdata/bundle-v1.cbor")
	if err != nil {
		t.Fatal(err)
	}
	b, err := evidence.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	// The vector's clips are every record of its epoch: rebuild the tree.
	tree := checkpoint.NewTree()
	for _, c := range b.Clips {
		r, err := feedchain.Parse(c.Record)
		if err != nil {
			t.Fatal(err)
		}
		tree.Append(r.Hash())
	}
	secret := make([]byte, witness.LogSecretSize)
	rand.Read(secret)
	lk, err := witness.NewLogKeys(secret)
	if err != nil {
		t.Fatal(err)
	}
	origin := witness.Origin(b.LedgerChainID, b.Camera, b.Epoch)
	w := litewitness.Start(t, "witness.example/evidence")
	vkey, err := lk.VerifierKey(origin)
	if err != nil {
		t.Fatal(err)
	}
	w.AddLog(t, origin, vkey)
	c := &witness.Client{Key: witness.Key{Name: w.Name, Public: w.Public}, URL: w.URL}
	signed := *b
	signed.Checkpoints = append([]evidence.Checkpoint(nil), b.Checkpoints...)
	last := uint64(0)
	for i := range signed.Checkpoints {
		t2, err := tx.Decode(signed.Checkpoints[i].Tx)
		if err != nil {
			t.Fatal(err)
		}
		size := t2.Msg.(*tx.Checkpoint).TreeSize
		cs, err := witness.Publish(context.Background(), c, lk, origin, tree, size, last)
		if err != nil {
			t.Fatalf("publish checkpoint %d (size %d): %v", i, size, err)
		}
		last = size
		signed.Checkpoints[i].Cosignatures = []evidence.Cosignature{{Name: cs.Witness.Name, Key: cs.Witness.Public, Time: cs.Time, Signature: cs.Signature[:]}}
	}
	enc, err := signed.Encode()
	if err != nil {
		t.Fatal(err)
	}
	pin := vectorPin(t)
	return &witnessedVector{plain: b, signed: enc, key: c.Key, pin: pin, witness: w}
}

// vectorPin is the validators hash the vector is pinned to.
func vectorPin(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile(vectorFile)
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	for _, c := range v.Cases {
		if c.Expect == "ok" && c.Pin != "" {
			pin, err := hex.DecodeString(c.Pin)
			if err != nil {
				t.Fatal(err)
			}
			return pin
		}
	}
	t.Fatal("no pinned case in the vectors")
	return nil
}

// TestWitnessedBundle: a version 2 bundle carrying a real witness's
// cosignatures verifies, says who witnessed each checkpoint and when, and
// says exactly what is no longer proven when a cosignature is removed,
// altered, moved, or made by a key the verifier does not trust.
func TestWitnessedBundle(t *testing.T) {
	v := newWitnessedVector(t)
	if i := bytes.Index(v.signed, []byte(evidence.Label)) + len(evidence.Label); v.signed[i] != evidence.VersionV2 {
		t.Fatalf("a bundle with cosignatures is written as version %d", v.signed[i])
	}
	now := time.Now()
	trusted := evidence.Options{PinnedValidatorsHash: v.pin, Now: now, Witnesses: []witness.Key{v.key}}

	rep, err := evidence.VerifyBytes(v.signed, trusted)
	if err != nil {
		t.Fatalf("the witnessed bundle: %v", err)
	}
	for i, c := range rep.Checkpoints {
		if len(c.Witnesses) != 1 || !c.Witnesses[0].Trusted || c.Witnesses[0].Name != v.key.Name || c.Witnesses[0].Key != v.key.String() {
			t.Fatalf("checkpoint %d: witnesses %+v", i, c.Witnesses)
		}
		if wt, err := time.Parse(time.RFC3339, c.Witnesses[0].Time); err != nil || now.Sub(wt) > time.Minute || wt.Sub(now) > time.Minute {
			t.Fatalf("checkpoint %d cosigned at %q, now is %s", i, c.Witnesses[0].Time, now)
		}
	}
	if s := rep.String(); !strings.Contains(s, "cosigned by a witness you trust") || !strings.Contains(s, "cosigned by witness "+v.key.Name) {
		t.Fatalf("report does not say who witnessed:\n%s", s)
	}

	// Trusting no witness: the same bundle verifies, the cosignatures are
	// checked and listed, and the report says nothing is witnessed.
	rep, err = evidence.VerifyBytes(v.signed, evidence.Options{PinnedValidatorsHash: v.pin, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if w := rep.Checkpoints[0].Witnesses; len(w) != 1 || w[0].Trusted {
		t.Fatalf("untrusted witnesses %+v", w)
	}
	if s := rep.String(); !strings.Contains(s, "NOT WITNESSED") || !strings.Contains(s, "NOT a witness you trust") {
		t.Fatalf("report without trusted witnesses:\n%s", s)
	}

	// The version 1 vector under a trusted witness: not witnessed.
	v1, err := v.plain.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := evidence.VerifyBytes(v1, trusted); !errors.Is(err, evidence.ErrNotWitnessed) {
		t.Fatalf("version 1 bundle with a trusted witness: %v, want not_witnessed", err)
	}

	other := witness.Key{Name: v.key.Name}
	other.Public, _, _ = ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name  string
		edit  func(b *evidence.Bundle)
		opts  evidence.Options
		kind  error
		index int
		says  string
	}{
		{"cosignature of checkpoint 1 removed", func(b *evidence.Bundle) { b.Checkpoints[1].Cosignatures = nil }, trusted, evidence.ErrNotWitnessed, 1, "no witness you trust (witness.example/evidence) cosigned this checkpoint (tree size 3)"},
		{"signature altered", func(b *evidence.Bundle) { b.Checkpoints[0].Cosignatures[0].Signature[7] ^= 1 }, trusted, evidence.ErrCosignature, 0, "does not verify over this checkpoint's tree (size 2"},
		{"time altered", func(b *evidence.Bundle) { b.Checkpoints[1].Cosignatures[0].Time-- }, trusted, evidence.ErrCosignature, 1, "does not verify"},
		{"key replaced", func(b *evidence.Bundle) { b.Checkpoints[0].Cosignatures[0].Key = other.Public }, trusted, evidence.ErrCosignature, 0, "does not verify"},
		{"cosignatures swapped between checkpoints", func(b *evidence.Bundle) {
			b.Checkpoints[0].Cosignatures, b.Checkpoints[1].Cosignatures = b.Checkpoints[1].Cosignatures, b.Checkpoints[0].Cosignatures
		}, trusted, evidence.ErrCosignature, 0, "size 2"},
		{"cosigned twice", func(b *evidence.Bundle) {
			b.Checkpoints[0].Cosignatures = append(b.Checkpoints[0].Cosignatures, b.Checkpoints[0].Cosignatures[0])
		}, trusted, evidence.ErrCosignature, 0, "cosigned twice"},
		{"trusting another key of that name", func(*evidence.Bundle) {}, evidence.Options{PinnedValidatorsHash: v.pin, Now: now, Witnesses: []witness.Key{other}}, evidence.ErrNotWitnessed, 0, "not proven"},
		{"verifier's clock before the cosignature", func(*evidence.Bundle) {}, evidence.Options{PinnedValidatorsHash: v.pin, Now: now.Add(-time.Hour), Witnesses: []witness.Key{v.key}}, evidence.ErrCosignature, 0, "after the verifier's clock"},
		{"a timestamp that is not a token", func(b *evidence.Bundle) { b.Checkpoints[0].Timestamps = [][]byte{{0x30, 0}} }, trusted, evidence.ErrTimestamp, 0, "timestamp 0: tsa: timestamp token invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := mutate(t, v.signed, tc.edit)
			_, err := evidence.VerifyBytes(data, tc.opts)
			var ce *evidence.CheckpointError
			if !errors.Is(err, tc.kind) || !errors.As(err, &ce) || ce.Index != tc.index || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want %v at checkpoint %d saying %q", err, tc.kind, tc.index, tc.says)
			}
		})
	}
}

const (
	witnessedBundle = "testdata/bundle-v2.cbor"
	witnessedFile   = "testdata/bundle-v2.json"
)

// witnessedVectors is testdata/bundle-v2.json: the vector bundle of
// bundle-v1.json with each checkpoint cosigned by a litewitness
// (version 2), and the outcome of verifying it, trusting Witness or not,
// as is and with corruptions of its cosignatures.
type witnessedVectors struct {
	Comment string `json:"comment"`
	Bundle  string `json:"bundle"`
	SHA256  string `json:"sha256"`
	Now     string `json:"now"`
	// Witness is the verifier key of the witness that cosigned.
	Witness string                `json:"witness"`
	Cases   []witnessedVectorCase `json:"cases"`
}

type witnessedVectorCase struct {
	vectorCase
	// Trust: the case trusts Witness.
	Trust bool `json:"trust_witness"`
}

func generateWitnessedVectors(t *testing.T) {
	v := newWitnessedVector(t)
	b, err := evidence.Decode(v.signed)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(time.Minute).UTC().Truncate(time.Second)
	pin := hex.EncodeToString(v.pin)
	rep, err := evidence.VerifyBytes(v.signed, evidence.Options{PinnedValidatorsHash: v.pin, Now: now, Witnesses: []witness.Key{v.key}})
	if err != nil {
		t.Fatal(err)
	}
	untrusted, err := evidence.VerifyBytes(v.signed, evidence.Options{PinnedValidatorsHash: v.pin, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	at := func(part []byte, n int) int {
		i := bytes.Index(v.signed, part)
		if i < 0 {
			t.Fatal("part not in the bundle")
		}
		return i + n
	}
	cs0, cs1 := b.Checkpoints[0].Cosignatures[0], b.Checkpoints[1].Cosignatures[0]
	flipAt := func(comment string, off int, xor byte, expect string) witnessedVectorCase {
		return witnessedVectorCase{vectorCase{Comment: comment, Pin: pin, Flip: &flip{Offset: off, Xor: xor}, Expect: expect}, true}
	}
	// The cosignature's time is the 8-byte uint just before its signature's
	// 2-byte head.
	timeByte := at(cs1.Signature, 0) - 2 - 1
	out := witnessedVectors{
		Comment: "The bundle of bundle-v1.json with each checkpoint cosigned (C2SP tlog-cosignature/v1, docs/SPEC.md §16) " +
			"by a real litewitness (filippo.io/torchwood v0.6.1) to which the checkpoints were published in order: a version 2 " +
			"bundle. Cases trust the witness (trust_witness) or not. Regenerate: go test ./internal/evidence -run TestWitnessedVectors -update",
		Bundle: "bundle-v2.cbor", Now: now.Format(time.RFC3339), Witness: v.key.String(),
		Cases: []witnessedVectorCase{
			{vectorCase{Comment: "as is, pinned, witness trusted: verifies, witnessed", Pin: pin, Expect: "ok", Report: rep}, true},
			{vectorCase{Comment: "as is, pinned, no witness trusted: verifies, cosignatures listed as not trusted", Pin: pin, Expect: "ok", Report: untrusted}, false},
			flipAt("checkpoint 0's cosignature: a signature byte", at(cs0.Signature, 10), 0x01, "cosignature"),
			flipAt("checkpoint 1's cosignature: its time", timeByte, 0x01, "cosignature"),
			flipAt("checkpoint 0's cosignature: the witness key", at(cs0.Key, 3), 0x01, "cosignature"),
			flipAt("checkpoint 1's cosignature: the witness name", at([]byte(cs1.Name), 0)+2, 0x01, "not_witnessed"),
			flipAt("the version (2 → 6)", at([]byte(evidence.Label), len(evidence.Label)), 0x04, "version"),
			flipAt("the version (2 → 1): a version 1 bundle has 7 items per checkpoint", at([]byte(evidence.Label), len(evidence.Label)), 0x03, "malformed"),
		},
	}
	sum := sha256.Sum256(v.signed)
	out.SHA256 = hex.EncodeToString(sum[:])
	js, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(witnessedBundle, v.signed, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(witnessedFile, append(js, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", out.Cases[2].apply(t, v.signed))
	if err := os.WriteFile("testdata/fuzz/FuzzDecodeBundle/seed-v2-bad-cosignature", []byte(seed), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestWitnessedVectors checks testdata/bundle-v2.json.
func TestWitnessedVectors(t *testing.T) {
	if *update {
		generateWitnessedVectors(t)
	}
	bundle, err := os.ReadFile(witnessedBundle)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(witnessedFile)
	if err != nil {
		t.Fatal(err)
	}
	var v witnessedVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(bundle); hex.EncodeToString(sum[:]) != v.SHA256 {
		t.Fatalf("%s does not have the SHA-256 %s names", witnessedBundle, witnessedFile)
	}
	now, err := time.Parse(time.RFC3339, v.Now)
	if err != nil {
		t.Fatal(err)
	}
	key, err := witness.ParseKey(v.Witness)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range v.Cases {
		pin, err := hex.DecodeString(c.Pin)
		if err != nil {
			t.Fatal(err)
		}
		opts := evidence.Options{PinnedValidatorsHash: pin, Now: now}
		if c.Trust {
			opts.Witnesses = []witness.Key{key}
		}
		rep, err := evidence.VerifyBytes(c.apply(t, bundle), opts)
		if got := evidence.KindOf(err); got != c.Expect {
			t.Errorf("%s: got %s (%v), want %s", c.Comment, got, err, c.Expect)
			continue
		}
		if c.Report != nil {
			got, _ := json.Marshal(rep)
			want, _ := json.Marshal(c.Report)
			if !bytes.Equal(got, want) {
				t.Errorf("%s: report\n got %s\nwant %s", c.Comment, got, want)
			}
		}
	}
}
