package evidence_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/api/cometbft/types/v1"
	"github.com/cometbft/cometbft/types"

	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/evidence/evidencetest"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/hub"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/tx"
)

// The tests share one real hub (real CometBFT node, real store, real HTTP
// API), started on first use: a camera with 10 records, the first 8 under
// two checkpoints (#0–#3, #4–#7), the last 2 pending.
type fixture struct {
	dir    string
	hub    *hub.Hub
	cam    *evidencetest.Camera
	pin    []byte
	t0     time.Time
	bundle []byte // records #0–#7
}

var (
	fxOnce sync.Once
	fx     *fixture
	fxErr  error
	closeF []func()
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, f := range closeF {
		f()
	}
	os.Exit(code)
}

func shared(t *testing.T) *fixture {
	t.Helper()
	fxOnce.Do(func() { fx, fxErr = newFixture() })
	if fxErr != nil {
		t.Fatal(fxErr)
	}
	return fx
}

// startHub starts a hub in a fresh directory that lives until the test
// binary ends.
func startHub() (*hub.Hub, string, error) {
	dir, err := os.MkdirTemp("", "camchain-evidence-test-*")
	if err != nil {
		return nil, "", err
	}
	h, err := evidencetest.StartHub(filepath.Join(dir, "hub"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	closeF = append(closeF, func() { h.Close(); os.RemoveAll(dir) })
	return h, filepath.Join(dir, "hub"), nil
}

// freshCamera starts a hub of its own (a ledger of its own) with a new
// camera on it, for a test that changes what the shared fixture must keep:
// the camera, the hub and the hub's pinned validators hash.
func freshCamera(t *testing.T) (*evidencetest.Camera, *hub.Hub, string, []byte) {
	t.Helper()
	h, dir, err := startHub()
	if err != nil {
		t.Fatal(err)
	}
	pin, err := evidencetest.PinnedValidatorsHash(dir)
	if err != nil {
		t.Fatal(err)
	}
	cam, err := evidencetest.NewCamera(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	return cam, h, dir, pin
}

func newFixture() (*fixture, error) {
	ctx := context.Background()
	h, dir, err := startHub()
	if err != nil {
		return nil, err
	}
	f := &fixture{dir: dir, hub: h, t0: time.Now().Add(-time.Hour).Truncate(time.Second)}
	if f.pin, err = evidencetest.PinnedValidatorsHash(dir); err != nil {
		return nil, err
	}
	if f.cam, err = evidencetest.NewCamera(ctx, h); err != nil {
		return nil, err
	}
	steps := []func() error{
		func() error { return f.cam.Record(4, f.t0, 2*time.Second, 300) },
		func() error { return f.cam.Checkpoint(ctx) },
		func() error { return f.cam.Record(4, f.t0.Add(8*time.Second), 2*time.Second, 300) },
		func() error { return f.cam.Checkpoint(ctx) },
		func() error { return f.cam.Record(2, f.t0.Add(16*time.Second), 2*time.Second, 300) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, err
		}
	}
	f.bundle, err = f.cam.Export(ctx, f.t0, f.t0.Add(16*time.Second))
	return f, err
}

func (f *fixture) opts() evidence.Options {
	return evidence.Options{PinnedValidatorsHash: f.pin, Now: time.Now()}
}

func TestBundleVerifies(t *testing.T) {
	f := shared(t)
	rep, err := evidence.VerifyBytes(f.bundle, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Pinned || rep.Camera != f.cam.Key.Address().Hex() || rep.Epoch != 0 || len(rep.Clips) != 8 || len(rep.Checkpoints) != 2 ||
		len(rep.ValidatorsHashes) != 1 || rep.ValidatorsHashes[0] != fmt.Sprintf("%X", f.pin) || len(rep.Missing) != 0 {
		t.Fatalf("report: %+v", rep)
	}
	for i, c := range rep.Clips {
		r := f.cam.Records[i]
		if c.Seq != uint64(i) || c.SHA256 != fmt.Sprintf("%x", r.Segment[:]) || c.Size != 300 || c.Duration != 2 ||
			c.Start != r.StartTime().Format(time.RFC3339Nano) || c.Checkpoint != i/4 || c.CheckpointHeight != rep.Checkpoints[i/4].Height {
			t.Errorf("clip %d: %+v", i, c)
		}
	}
	for i, c := range rep.Checkpoints {
		if c.FirstSeq != uint64(4*i) || c.LastSeq != uint64(4*i+3) || c.TreeSize != uint64(4*i+4) || c.Validators != 1 {
			t.Errorf("checkpoint %d: %+v", i, c)
		}
	}
	s := rep.String()
	for _, want := range []string{"VERIFIED: 8 clip(s)", "records #0–#7", "the one you pinned", f.cam.Key.Address().Hex()} {
		if !strings.Contains(s, want) {
			t.Errorf("report text lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "NOT PINNED") {
		t.Errorf("pinned report says NOT PINNED:\n%s", s)
	}

	// Without a pin the same bundle is only self-consistent, and says so.
	rep, err = evidence.VerifyBytes(f.bundle, evidence.Options{Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if u := rep.String(); rep.Pinned || !strings.Contains(u, "NOT PINNED") || !strings.HasPrefix(u, "SELF-CONSISTENT ONLY") || strings.Contains(u, "VERIFIED:") {
		t.Fatalf("unpinned report:\n%s", rep)
	}
}

// A sub-range gives a bundle of just those clips, with only the checkpoint
// they need; one with a gap is reported as such.
func TestBundleSubsets(t *testing.T) {
	f := shared(t)
	ctx := context.Background()
	data, err := f.cam.Export(ctx, f.t0.Add(10*time.Second), f.t0.Add(13*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := evidence.VerifyBytes(data, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Clips) != 2 || rep.Clips[0].Seq != 5 || rep.Clips[1].Seq != 6 || len(rep.Checkpoints) != 1 || rep.Checkpoints[0].FirstSeq != 4 {
		t.Fatalf("report of #5–#6: %+v", rep)
	}
	b, err := evidence.Decode(f.bundle)
	if err != nil {
		t.Fatal(err)
	}
	b.Clips = append(b.Clips[:2:2], b.Clips[5:]...) // drop #2–#4
	rep, err = evidence.Verify(b, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Missing) != 1 || rep.Missing[0] != (evidence.SeqRange{First: 2, Last: 4}) || !strings.Contains(rep.String(), "leaves out records #2–#4") {
		t.Fatalf("gap not reported: %+v\n%s", rep.Missing, rep)
	}
}

// The hub refuses what it cannot prove, saying why.
func TestExportRefusals(t *testing.T) {
	f := shared(t)
	ctx := context.Background()
	for _, c := range []struct {
		name     string
		from, to time.Time
		want     []string
	}{
		{"pending records", f.t0, f.t0.Add(time.Minute), []string{"409", "#8–#9", "up to #7"}},
		{"nothing recorded", f.t0.Add(-time.Hour), f.t0, []string{"404", "no recordings in the time range"}},
		{"empty range", f.t0, f.t0, []string{"400", "before"}},
	} {
		_, err := f.cam.Export(ctx, c.from, c.to)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v, want %q", c.name, err, w)
			}
		}
	}
}

// mutate decodes the bundle, changes it and re-encodes it.
func mutate(t *testing.T, data []byte, fn func(b *evidence.Bundle)) []byte {
	t.Helper()
	b, err := evidence.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	fn(b)
	out, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// editHeader changes a signed header's protobuf fields.
func editHeader(t *testing.T, raw []byte, fn func(*cmtproto.SignedHeader)) []byte {
	t.Helper()
	var pb cmtproto.SignedHeader
	if err := pb.Unmarshal(raw); err != nil {
		t.Fatal(err)
	}
	fn(&pb)
	out, err := pb.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// editTx changes a checkpoint transaction and signs it with k.
func editTx(t *testing.T, chain uint64, raw []byte, k *keys.PrivateKey, fn func(*tx.Checkpoint)) []byte {
	t.Helper()
	old, err := tx.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	m := *old.Msg.(*tx.Checkpoint)
	fn(&m)
	s, err := tx.Sign(chain, &m, k)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// resign replaces a clip's record by the same record signed by k.
func resign(t *testing.T, raw []byte, k *keys.PrivateKey, fn func(*feedchain.Record)) []byte {
	t.Helper()
	r, err := feedchain.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	fn(r)
	if r.Sig, err = k.SignDigest(r.Hash()); err != nil {
		t.Fatal(err)
	}
	return r.Marshal()
}

// Targeted corruptions, one per link of the chain of proof: each fails with
// the error that names it.
func TestCorruptions(t *testing.T) {
	f := shared(t)
	stranger, _ := keys.Generate()
	chain := f.cam.Chain
	for _, c := range []struct {
		name   string
		fn     func(b *evidence.Bundle)
		kind   error
		clip   int // for clip errors, the clip index; -1 for checkpoint errors
		reason string
	}{
		{"segment bit flip", func(b *evidence.Bundle) { b.Clips[3].Segment[150] ^= 0x10 }, evidence.ErrSegment, 3, "sha256"},
		{"segment truncated", func(b *evidence.Bundle) { b.Clips[3].Segment = b.Clips[3].Segment[:299] }, evidence.ErrSegment, 3, "size"},
		{"segment of another clip", func(b *evidence.Bundle) { b.Clips[3].Segment = b.Clips[4].Segment }, evidence.ErrSegment, 3, "sha256"},
		{"record re-signed by another key", func(b *evidence.Bundle) {
			b.Clips[2].Record = resign(t, b.Clips[2].Record, stranger, func(*feedchain.Record) {})
		}, evidence.ErrRecord, 2, "not signed by its camera"},
		{"record of another camera", func(b *evidence.Bundle) {
			b.Clips[2].Record = resign(t, b.Clips[2].Record, stranger, func(r *feedchain.Record) { r.Camera = stranger.Address() })
		}, evidence.ErrRecord, 2, "of camera"},
		{"record with a changed start, re-signed by the camera", func(b *evidence.Bundle) {
			b.Clips[2].Record = resign(t, b.Clips[2].Record, f.cam.Key, func(r *feedchain.Record) { r.Start += int64(time.Hour) })
		}, evidence.ErrInclusion, 2, "root mismatch"},
		{"inclusion proof element", func(b *evidence.Bundle) { b.Clips[1].Proof[40] ^= 1 }, evidence.ErrInclusion, 1, "root mismatch"},
		{"inclusion proof shortened", func(b *evidence.Bundle) { b.Clips[1].Proof = b.Clips[1].Proof[32:] }, evidence.ErrInclusion, 1, "hashes, want"},
		{"wrong leaf index", func(b *evidence.Bundle) { b.Clips[7].LeafIndex = 8 }, evidence.ErrInclusion, 7, "leaf index 8 is not the record's seq 7"},
		{"clip under another checkpoint", func(b *evidence.Bundle) { b.Clips[3].Checkpoint = 1 }, evidence.ErrInclusion, 3, "covers records 4..7"},
		{"checkpoint tx: root changed, re-signed by another key", func(b *evidence.Bundle) {
			b.Checkpoints[0].Tx = editTx(t, chain, b.Checkpoints[0].Tx, stranger, func(m *tx.Checkpoint) { m.Root[0] ^= 1 })
		}, evidence.ErrCheckpointTx, -1, "not by the camera"},
		{"checkpoint tx: root changed, re-signed by the camera", func(b *evidence.Bundle) {
			b.Checkpoints[0].Tx = editTx(t, chain, b.Checkpoints[0].Tx, f.cam.Key, func(m *tx.Checkpoint) { m.Root[0] ^= 1 })
		}, evidence.ErrTxProof, -1, "another transaction"},
		{"checkpoint tx for another chain", func(b *evidence.Bundle) {
			b.Checkpoints[0].Tx = editTx(t, chain+1, b.Checkpoints[0].Tx, f.cam.Key, func(*tx.Checkpoint) {})
		}, evidence.ErrCheckpointTx, -1, "signed for chain id"},
		{"checkpoint tx of another epoch", func(b *evidence.Bundle) { b.Epoch = 1 }, evidence.ErrCheckpointTx, -1, "for epoch 0"},
		{"tx proof for another tx", func(b *evidence.Bundle) { b.Checkpoints[1].TxProof = b.Checkpoints[0].TxProof }, evidence.ErrTxProof, -1, "another transaction"},
		{"tx proof root", func(b *evidence.Bundle) { b.Checkpoints[1].TxProof.RootHash[0] ^= 1 }, evidence.ErrTxProof, -1, "data hash"},
		{"header from another chain id", func(b *evidence.Bundle) {
			b.Checkpoints[0].Header = editHeader(t, b.Checkpoints[0].Header, func(sh *cmtproto.SignedHeader) { sh.Header.ChainID = "camchain-1" })
		}, evidence.ErrHeader, -1, `of chain "camchain-1"`},
		{"header time changed", func(b *evidence.Bundle) {
			b.Checkpoints[0].Header = editHeader(t, b.Checkpoints[0].Header, func(sh *cmtproto.SignedHeader) { sh.Header.Time = sh.Header.Time.Add(time.Second) })
		}, evidence.ErrHeader, -1, "commit signs block"},
		{"next header of another block", func(b *evidence.Bundle) { b.Checkpoints[0].NextHeader = b.Checkpoints[1].NextHeader }, evidence.ErrHeader, -1, "next block"},
		{"commit signature altered", func(b *evidence.Bundle) {
			b.Checkpoints[0].Header = editHeader(t, b.Checkpoints[0].Header, func(sh *cmtproto.SignedHeader) { sh.Commit.Signatures[0].Signature[5] ^= 1 })
		}, evidence.ErrHeader, -1, "block H's commit is not the one block H+1 carries"},
		{"next block's commit signature altered", func(b *evidence.Bundle) {
			b.Checkpoints[0].NextHeader = editHeader(t, b.Checkpoints[0].NextHeader, func(sh *cmtproto.SignedHeader) { sh.Commit.Signatures[0].Signature[5] ^= 1 })
		}, evidence.ErrCommit, -1, "wrong signature"},
		{"commit signer address altered", func(b *evidence.Bundle) {
			b.Checkpoints[0].NextHeader = editHeader(t, b.Checkpoints[0].NextHeader, func(sh *cmtproto.SignedHeader) { sh.Commit.Signatures[0].ValidatorAddress[0] ^= 1 })
		}, evidence.ErrCommit, -1, "names validator"},
		{"commit vote changed to nil", func(b *evidence.Bundle) {
			b.Checkpoints[0].NextHeader = editHeader(t, b.Checkpoints[0].NextHeader, func(sh *cmtproto.SignedHeader) {
				sh.Commit.Signatures[0].BlockIdFlag = cmtproto.BlockIDFlagNil
			})
		}, evidence.ErrCommit, -1, "block H+1"},
		{"validator power changed", func(b *evidence.Bundle) { b.Checkpoints[0].Validators[0].Power++ }, evidence.ErrValidators, -1, "its header names"},
		{"results with a non-zero code", func(b *evidence.Bundle) {
			editResults(t, b, func(rs []evidence.TxResult) { rs[b.Checkpoints[0].TxProof.Index].Code = ledger.CodeInvalid })
		}, evidence.ErrResults, -1, "results hash to"},
		{"results of another block", func(b *evidence.Bundle) {
			editResults(t, b, func(rs []evidence.TxResult) { rs[0].GasUsed = 1 })
		}, evidence.ErrResults, -1, "results hash to"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := mutate(t, f.bundle, c.fn)
			_, err := evidence.VerifyBytes(data, f.opts())
			if !errors.Is(err, c.kind) {
				t.Fatalf("got %v, want %v", err, c.kind)
			}
			if !strings.Contains(err.Error(), c.reason) {
				t.Errorf("error %q does not say %q", err, c.reason)
			}
			var ce *evidence.ClipError
			var ke *evidence.CheckpointError
			switch {
			case c.clip >= 0 && (!errors.As(err, &ce) || ce.Index != c.clip):
				t.Errorf("error %#v does not name clip %d", err, c.clip)
			case c.clip < 0 && !errors.As(err, &ke):
				t.Errorf("error %#v is not a *CheckpointError", err)
			}
		})
	}
}

// A second, unrelated ledger: its bundles verify as self-consistent only,
// never against the pinned set of the first.
func TestBundleOfAnotherLedger(t *testing.T) {
	f := shared(t)
	ctx := context.Background()
	cam, _, _, pin2 := freshCamera(t)
	if err := cam.Record(3, f.t0, 2*time.Second, 100); err != nil {
		t.Fatal(err)
	}
	if err := cam.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	foreign, err := cam.Export(ctx, f.t0, f.t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := evidence.VerifyBytes(foreign, evidence.Options{Now: time.Now()}); err != nil || rep.Pinned {
		t.Fatalf("foreign bundle, unpinned: %v, %+v", err, rep)
	}
	if _, err := evidence.VerifyBytes(foreign, evidence.Options{Now: time.Now(), PinnedValidatorsHash: pin2}); err != nil {
		t.Fatalf("foreign bundle against its own ledger's pin: %v", err)
	}
	if _, err := evidence.VerifyBytes(foreign, f.opts()); !errors.Is(err, evidence.ErrNotPinned) {
		t.Fatalf("foreign bundle against the first ledger's pin: %v", err)
	}
	// The first ledger's pin against the first bundle with the second's
	// validator set swapped in.
	fb, _ := evidence.Decode(foreign)
	swapped := mutate(t, f.bundle, func(b *evidence.Bundle) {
		b.Checkpoints[0].Validators, b.Checkpoints[0].NextValidators = fb.Checkpoints[0].Validators, fb.Checkpoints[0].NextValidators
	})
	if _, err := evidence.VerifyBytes(swapped, evidence.Options{Now: time.Now()}); !errors.Is(err, evidence.ErrValidators) {
		t.Fatalf("swapped validator set, unpinned: %v", err)
	}
	// The foreign bundle relabelled as the first ledger's.
	relabelled := mutate(t, foreign, func(b *evidence.Bundle) { b.LedgerChainID = fmt.Sprintf("camchain-%d", f.cam.Chain) })
	if _, err := evidence.VerifyBytes(relabelled, evidence.Options{Now: time.Now()}); !errors.Is(err, evidence.ErrCheckpointTx) {
		t.Fatalf("relabelled foreign bundle: %v", err)
	}
}

// Blocks dated after the verifier's clock are refused.
func TestBlocksFromTheFuture(t *testing.T) {
	f := shared(t)
	_, err := evidence.VerifyBytes(f.bundle, evidence.Options{PinnedValidatorsHash: f.pin, Now: time.Now().Add(-24 * time.Hour)})
	if !errors.Is(err, evidence.ErrHeader) || !strings.Contains(err.Error(), "after the verifier's clock") {
		t.Fatalf("got %v", err)
	}
}

// nodeLedger is evidence.Ledger over a node, with extra checkpoints the
// ledger's state does not list (refused ones).
type nodeLedger struct {
	n     *ledger.Node
	extra []evidence.LedgerCheckpoint
}

func (l nodeLedger) LedgerChainID() string { return l.n.LedgerChainID() }
func (l nodeLedger) ValidatorChanges(ctx context.Context, upTo int64) ([]int64, error) {
	return l.n.ValidatorChanges(ctx, upTo)
}
func (l nodeLedger) Checkpoints(keys.Address, uint64, feedchain.Stream) ([]evidence.LedgerCheckpoint, error) {
	return l.extra, nil
}
func (l nodeLedger) Tx(ctx context.Context, h feedchain.Hash) (*evidence.LedgerTx, error) {
	r, err := l.n.Tx(ctx, h, true)
	if err != nil {
		return nil, err
	}
	return &evidence.LedgerTx{Raw: r.Tx, Height: r.Height, Proof: r.Proof}, nil
}
func (l nodeLedger) WaitForHeight(ctx context.Context, h int64) error {
	return l.n.WaitForHeight(ctx, uint64(h))
}
func (l nodeLedger) SignedHeader(ctx context.Context, h int64) (*types.SignedHeader, bool, error) {
	return l.n.SignedHeader(ctx, h)
}
func (l nodeLedger) Validators(ctx context.Context, h int64) (*types.ValidatorSet, error) {
	return l.n.Validators(ctx, h)
}
func (l nodeLedger) Results(ctx context.Context, h int64) ([]*abci.ExecTxResult, error) {
	return l.n.BlockResults(ctx, h)
}

// A checkpoint in a block that the ledger's rules refused: our CheckTx
// keeps such transactions out of blocks, but a faulty or byzantine
// validator's mempool need not (the hub here admits everything, as one
// would). A genuine bundle of it fails on its result code.
func TestRefusedCheckpoint(t *testing.T) {
	f := shared(t)
	ctx := context.Background()
	dir := t.TempDir()
	h, err := evidencetest.StartHubConfig(hub.Config{DataDir: dir, LedgerAdmitAll: true})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	pin, err := evidencetest.PinnedValidatorsHash(dir)
	if err != nil {
		t.Fatal(err)
	}
	cam, err := evidencetest.NewCamera(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := cam.Record(2, f.t0, 2*time.Second, 100); err != nil {
		t.Fatal(err)
	}
	root, _ := cam.Tree.RootAt(2)
	far := uint64(time.Now().Add(time.Hour).Unix()) // periodEnd more than 300 s ahead: refused as future
	m := &tx.Checkpoint{Camera: cam.Key.Address(), PeriodStart: far - 10, PeriodEnd: far, FirstSeq: 0, LastSeq: 1, TreeSize: 2,
		Root: root, ChainHead: cam.Records[1].Hash(), Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}
	s, _ := tx.Sign(cam.Chain, m, cam.Key)
	raw, _ := s.Encode()
	res, err := h.Node().Submit(ctx, raw)
	if err != nil || res.Code != ledger.CodeFuture || res.Height == 0 {
		t.Fatalf("submit: %+v %v (want refused in a block)", res, err)
	}
	chain, err := h.Store().Lookup(cam.Key.Address(), 0)
	if err != nil {
		t.Fatal(err)
	}
	l := nodeLedger{n: h.Node(), extra: []evidence.LedgerCheckpoint{{Msg: *m, Height: res.Height, TxHash: res.Hash}}}
	b, err := evidence.Build(ctx, chain, l, evidence.Request{Camera: cam.Key.Address(), From: f.t0, To: f.t0.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = evidence.Verify(b, evidence.Options{PinnedValidatorsHash: pin, Now: time.Now()})
	if !errors.Is(err, evidence.ErrResults) || !strings.Contains(err.Error(), fmt.Sprintf("result code %d", ledger.CodeFuture)) {
		t.Fatalf("got %v", err)
	}
}

// Decode refuses anything but one canonical bundle.
func TestDecodeStrict(t *testing.T) {
	f := shared(t)
	withVersion := func(v byte) []byte {
		b := bytes.Clone(f.bundle)
		i := bytes.Index(b, []byte(evidence.Label)) + len(evidence.Label)
		b[i] = v
		return b
	}
	for _, c := range []struct {
		name string
		data []byte
		kind error
	}{
		{"empty", nil, evidence.ErrNotBundle},
		{"a transaction", f.cam.Records[0].Marshal(), evidence.ErrNotBundle},
		{"version 5", withVersion(5), evidence.ErrVersion},
		{"version 4 (revealed keys) as an array of 7", withVersion(4), evidence.ErrMalformed},
		{"version 3 without a history: an array of 7", withVersion(3), evidence.ErrMalformed},
		{"version 2 without cosignatures or timestamps", withVersion(2), evidence.ErrMalformed},
		{"trailing byte", append(bytes.Clone(f.bundle), 0), evidence.ErrMalformed},
		{"truncated", f.bundle[:len(f.bundle)-1], evidence.ErrMalformed},
		{"no clips", mutateRaw(t, f.bundle, func(b *evidence.Bundle) { b.Clips = nil }), evidence.ErrMalformed},
		{"unused checkpoint", mutateRaw(t, f.bundle, func(b *evidence.Bundle) { b.Clips = b.Clips[:4] }), evidence.ErrMalformed},
		{"clips out of order", mutateRaw(t, f.bundle, func(b *evidence.Bundle) { b.Clips[0], b.Clips[1] = b.Clips[1], b.Clips[0] }), evidence.ErrMalformed},
		{"bad chain id", mutateRaw(t, f.bundle, func(b *evidence.Bundle) { b.LedgerChainID = "camchain-007" }), evidence.ErrMalformed},
	} {
		_, err := evidence.VerifyBytes(c.data, f.opts())
		if !errors.Is(err, c.kind) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.kind)
		}
	}
	// A non-minimal length (same value, longer head) is not canonical.
	b := bytes.Clone(f.bundle)
	i := bytes.Index(b, []byte(evidence.Label)) - 1 // text head 0x71 ("camchain-evidence" is 17 bytes)
	nonMin := append(append(append([]byte{}, b[:i]...), 0x78, byte(len(evidence.Label))), b[i+1:]...)
	if _, err := evidence.Decode(nonMin); err == nil {
		t.Error("a non-minimal text length decoded")
	}
}

// mutateRaw is mutate without the encoder's checks: it writes the wire
// form of whatever the bundle holds.
func mutateRaw(t *testing.T, data []byte, fn func(b *evidence.Bundle)) []byte {
	t.Helper()
	b, err := evidence.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	fn(b)
	return evidence.EncodeUnchecked(b)
}

// Every byte of the bundle matters: flipping one bit of any byte makes it
// fail to decode or to verify, with a typed error. One bit per byte,
// cycling through the bit positions (byte i has bit i mod 8 flipped), over
// the whole file: not every bit (8 times the run time); -short strides
// through the bytes.
func TestOneBitOfEveryByteFlippedFails(t *testing.T) {
	f := shared(t)
	stride := 1
	if testing.Short() {
		stride = 7
	}
	counts := map[string]int{}
	for i := 0; i < len(f.bundle); i += stride {
		b := bytes.Clone(f.bundle)
		b[i] ^= 1 << (i % 8)
		_, err := evidence.VerifyBytes(b, f.opts())
		if err == nil {
			t.Fatalf("flipping bit %d of byte %d (of %d) still verifies", i%8, i, len(b))
		}
		counts[evidence.KindOf(err)]++
	}
	t.Logf("outcomes of %d bit flips: %v", (len(f.bundle)+stride-1)/stride, counts)
	if counts["other"] > 0 {
		t.Errorf("%d flips failed with an untyped error", counts["other"])
	}
}

// The hub's records must match the checkpoint for it to export anything.
func TestBuildRefusesRecordsThatDiffer(t *testing.T) {
	f := shared(t)
	ctx := context.Background()
	cam, err := evidencetest.NewCamera(ctx, f.hub)
	if err != nil {
		t.Fatal(err)
	}
	if err := cam.Record(3, f.t0, 2*time.Second, 100); err != nil {
		t.Fatal(err)
	}
	// The camera commits a tree over records the hub does not hold.
	other := checkpoint.NewTree()
	for i := range 3 {
		other.Append(feedchain.Hash{byte(i + 1)})
	}
	cam.Tree = other
	if err := cam.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = cam.Export(ctx, f.t0, f.t0.Add(time.Minute))
	if err == nil || !strings.Contains(err.Error(), "409") || !strings.Contains(err.Error(), "differ") {
		t.Fatalf("got %v", err)
	}
}

// editResults applies fn to checkpoint 0's results.
func editResults(t *testing.T, b *evidence.Bundle, fn func([]evidence.TxResult)) {
	t.Helper()
	rs := b.Checkpoints[0].Results.List()
	fn(rs)
	var err error
	if b.Checkpoints[0].Results, err = evidence.NewResults(rs); err != nil {
		t.Fatal(err)
	}
}

// A bundle applies the checkpoint succession rule as far as the
// checkpoints it holds allow, and says what it could not check: the whole
// epoch from its first checkpoint is linked; a bundle of a later
// checkpoint alone says its link to the history before is not proved; and
// a bundle that holds one checkpoint twice (each copy valid on its own) is
// refused.
func TestBundleCheckpointSuccession(t *testing.T) {
	f := shared(t)
	rep, err := evidence.VerifyBytes(f.bundle, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Checkpoints[0].Linked || !rep.Checkpoints[1].Linked || rep.Checkpoints[1].NotChecked != "" {
		t.Fatalf("whole epoch: %+v", rep.Checkpoints)
	}
	if s := rep.String(); !strings.Contains(s, "the first checkpoint of its epoch") || !strings.Contains(s, "extends checkpoint [0] (consistency proof verified)") {
		t.Fatalf("report text:\n%s", s)
	}

	data, err := f.cam.Export(context.Background(), f.t0.Add(10*time.Second), f.t0.Add(13*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	rep, err = evidence.VerifyBytes(data, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Checkpoints[0]; c.FirstSeq != 4 || c.Linked || !strings.Contains(c.NotChecked, "that it extends the checkpoint before it") {
		t.Fatalf("a later checkpoint alone: %+v", c)
	}
	if s := rep.String(); !strings.Contains(s, "not proven: that it extends the checkpoint before it") {
		t.Fatalf("report text does not say what was not proven:\n%s", s)
	}

	twice := mutateRaw(t, f.bundle, func(b *evidence.Bundle) {
		b.Checkpoints = []evidence.Checkpoint{b.Checkpoints[0], b.Checkpoints[0], b.Checkpoints[1]}
		for i := range b.Clips {
			switch {
			case i >= 4:
				b.Clips[i].Checkpoint = 2
			case i >= 2:
				b.Clips[i].Checkpoint = 1
			}
		}
	})
	_, err = evidence.VerifyBytes(twice, f.opts())
	if !errors.Is(err, evidence.ErrSuccession) || evidence.KindOf(err) != "succession" || !strings.Contains(err.Error(), "checkpoint 1") {
		t.Fatalf("one checkpoint twice: %v", err)
	}
}
