package evidence_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmtproto "github.com/cometbft/cometbft/api/cometbft/types/v1"
	"github.com/cometbft/cometbft/types"
	"github.com/fxamacker/cbor/v2"

	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/evidence/evidencetest"
	"github.com/camchain/camchain/internal/tx"
)

var update = flag.Bool("update", false, "make a new testdata/bundle-v1.cbor with a real hub and rewrite testdata/bundle-v1.json and the fuzz seeds")

const (
	vectorBundle = "testdata/bundle-v1.cbor"
	vectorFile   = "testdata/bundle-v1.json"
)

// vectors is testdata/bundle-v1.json: the expected outcome of verifying
// testdata/bundle-v1.cbor, as is and with systematic corruptions, for
// another implementation to check itself against (docs/SPEC.md §10).
type vectors struct {
	Comment string `json:"comment"`
	Bundle  string `json:"bundle"`
	SHA256  string `json:"sha256"`
	// Now is the verifier's clock to use (any time after the bundle's
	// blocks works).
	Now   string       `json:"now"`
	Cases []vectorCase `json:"cases"`
}

type vectorCase struct {
	Comment string `json:"comment"`
	// Pin is the pinned validator-set hash (hex), empty for none.
	Pin string `json:"pinned_validators_hash"`
	// Flip, if set, xors Xor into the byte at Offset of the bundle.
	Flip *flip `json:"flip,omitempty"`
	// Append, if set, is hex appended to the bundle.
	Append string `json:"append,omitempty"`
	// Expect is "ok" or the kind of error (evidence.KindOf).
	Expect string           `json:"expect"`
	Report *evidence.Report `json:"report,omitempty"`
}

type flip struct {
	Offset int  `json:"offset"`
	Xor    byte `json:"xor"`
}

func (c *vectorCase) apply(t *testing.T, bundle []byte) []byte {
	b := bytes.Clone(bundle)
	if c.Flip != nil {
		b[c.Flip.Offset] ^= c.Flip.Xor
	}
	if c.Append != "" {
		x, err := hex.DecodeString(c.Append)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, x...)
	}
	return b
}

func TestVectors(t *testing.T) {
	if *update {
		generateVectors(t)
	}
	bundle, err := os.ReadFile(vectorBundle)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(vectorFile)
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(bundle); hex.EncodeToString(sum[:]) != v.SHA256 {
		t.Fatalf("%s does not have the SHA-256 %s names", vectorBundle, vectorFile)
	}
	now, err := time.Parse(time.RFC3339, v.Now)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range v.Cases {
		pin, err := hex.DecodeString(c.Pin)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := evidence.VerifyBytes(c.apply(t, bundle), evidence.Options{PinnedValidatorsHash: pin, Now: now})
		if got := evidence.KindOf(err); got != c.Expect {
			t.Errorf("%s: %s (%v), want %s", c.Comment, got, err, c.Expect)
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

// generateVectors makes a small bundle with a real hub — 3 clips of 64
// bytes under two checkpoints — and writes it with its expected outcomes.
func generateVectors(t *testing.T) {
	f := shared(t)
	ctx := context.Background()
	// A camera of its own, so the bundle stays small.
	cam, err := newVectorCamera(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := cam.Export(ctx, f.t0, f.t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	b, err := evidence.Decode(bundle)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(time.Minute).UTC().Truncate(time.Second)
	pin := hex.EncodeToString(f.pin)
	rep, err := evidence.VerifyBytes(bundle, evidence.Options{PinnedValidatorsHash: f.pin, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	unpinned, err := evidence.VerifyBytes(bundle, evidence.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}

	// at returns the offset of the n-th byte of part, which must occur in
	// the bundle at or after from.
	at := func(part []byte, from, n int) int {
		i := bytes.Index(bundle[from:], part)
		if i < 0 {
			t.Fatalf("part %x not in the bundle", part[:min(len(part), 8)])
		}
		return from + i + n
	}
	c0 := &b.Checkpoints[0]
	hdr0 := at(c0.Header, 0, 0)
	next0 := at(c0.NextHeader, 0, 0)
	sh0, err := decodeHeader(c0.Header)
	if err != nil {
		t.Fatal(err)
	}
	shNext0, err := decodeHeader(c0.NextHeader)
	if err != nil {
		t.Fatal(err)
	}
	tx0, _ := tx.Decode(c0.Tx)
	root0 := tx0.Msg.(*tx.Checkpoint).Root
	results0, err := cbor.Marshal(c0.Results)
	if err != nil {
		t.Fatal(err)
	}
	rec2 := at(b.Clips[2].Record, 0, 0)
	flipAt := func(comment string, off int, xor byte, expect string) vectorCase {
		return vectorCase{Comment: comment, Pin: pin, Flip: &flip{Offset: off, Xor: xor}, Expect: expect}
	}
	v := vectors{
		Comment: "An evidence bundle made by a real camchain hub (docs/SPEC.md §10): 3 clips of 64 random bytes, " +
			"records #0–#1 under the checkpoint in the first block, #2 under the one in the second. " +
			"Verify it with the pinned validator-set hash and the clock \"now\" of each case; each case " +
			"is the bundle as is or with one change (flip: xor a byte at an offset; append: hex appended) and " +
			"the outcome (ok, or the kind of failure). Regenerate: go test ./internal/evidence -run TestVectors -update",
		Bundle: filepath.Base(vectorBundle),
		Now:    now.Format(time.RFC3339),
		Cases: []vectorCase{
			{Comment: "as is, pinned: verifies; the report is what it proved", Pin: pin, Expect: "ok", Report: rep},
			{Comment: "as is, unpinned: verifies as self-consistent only", Expect: "ok", Report: unpinned},
			{Comment: "pinned to another validator set", Pin: strings.Repeat("ab", 32), Expect: "not_pinned"},
			flipAt("the label", 1, 0x01, "not_bundle"),
			flipAt("the version (1 → 5)", at([]byte(evidence.Label), 0, len(evidence.Label)), 0x04, "version"),
			{Comment: "a trailing zero byte", Pin: pin, Append: "00", Expect: "malformed"},
			flipAt("a digit of the chain id: the transactions are signed for another", at([]byte(b.LedgerChainID), 0, len(b.LedgerChainID)-1), 0x01, "checkpoint_tx"),
			flipAt("the camera address", at(b.Camera[:], 0, 5), 0x01, "checkpoint_tx"),
			flipAt("checkpoint 0's transaction: a bit of its Merkle root", at(root0[:], 0, 3), 0x01, "checkpoint_tx"),
			flipAt("checkpoint 0's transaction proof: the leaf hash", at(c0.TxProof.LeafHash, 0, 7), 0x01, "tx_proof"),
			flipAt("checkpoint 0's block H header: its app hash", at(sh0.AppHash, hdr0, 9), 0x01, "header"),
			flipAt("checkpoint 0's block H+1 commit: a signature byte", at(shNext0.Commit.Signatures[0].Signature, next0, 11), 0x01, "commit"),
			flipAt("checkpoint 0's validator set: a public key byte", at(c0.Validators[0].PubKey, hdr0+len(c0.Header), 13), 0x01, "validators"),
			flipAt("checkpoint 0's results: the result code (0 → 1)", at(results0, next0+len(c0.NextHeader), 2), 0x01, "results"),
			flipAt("clip 0's record: its start time", at(b.Clips[0].Record, 0, 1+20+8+8+32+32+7), 0x01, "record"),
			flipAt("clip 0's record: its signature", at(b.Clips[0].Record, 0, len(b.Clips[0].Record)-30), 0x01, "record"),
			flipAt("clip 1's segment", at(b.Clips[1].Segment, 0, 20), 0x80, "segment"),
			flipAt("clip 0's inclusion proof", at(b.Clips[0].Proof, 0, 4), 0x01, "inclusion"),
			flipAt("clip 2's leaf index (2 → 3)", rec2-3, 0x01, "inclusion"),
		},
	}
	if bundle[rec2-3] != 0x02 {
		t.Fatalf("clip 2's leaf index is not where expected: %x", bundle[rec2-5:rec2])
	}
	sum := sha256.Sum256(bundle)
	v.SHA256 = hex.EncodeToString(sum[:])
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vectorBundle, bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vectorFile, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	writeFuzzSeeds(t, bundle, v)
}

// writeFuzzSeeds writes the bundle and its corruptions as seeds of
// FuzzDecodeBundle. Inputs the fuzzer once found failing stay beside them.
func writeFuzzSeeds(t *testing.T, bundle []byte, v vectors) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeBundle")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, c := range v.Cases {
		data := c.apply(t, bundle)
		if i > 0 && bytes.Equal(data, bundle) {
			continue
		}
		s := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%03d", i)), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func newVectorCamera(ctx context.Context, f *fixture) (*evidencetest.Camera, error) {
	cam, err := evidencetest.NewCamera(ctx, f.hub)
	if err != nil {
		return nil, err
	}
	for _, step := range []func() error{
		func() error { return cam.Record(2, f.t0, 2*time.Second, 64) },
		func() error { return cam.Checkpoint(ctx) },
		func() error { return cam.Record(1, f.t0.Add(4*time.Second), 2*time.Second, 64) },
		func() error { return cam.Checkpoint(ctx) },
	} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return cam, nil
}

func decodeHeader(raw []byte) (*types.SignedHeader, error) {
	var pb cmtproto.SignedHeader
	if err := pb.Unmarshal(raw); err != nil {
		return nil, err
	}
	return types.SignedHeaderFromProto(&pb)
}
