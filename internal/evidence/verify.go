package evidence

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/tsa"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/witness"
)

// Options are what Verify takes besides the bundle.
type Options struct {
	// PinnedValidatorsHash is the hash of the ledger's validator set
	// (CometBFT's ValidatorSet.Hash, 32 bytes) obtained out of band. Every
	// block in the bundle must be signed by that set. Without it the
	// validator sets come from the bundle itself, and a valid bundle is only
	// self-consistent (see the package comment).
	PinnedValidatorsHash []byte
	// Now is the verifier's clock: blocks dated more than MaxClockSkew after
	// it are refused. The zero time skips the check.
	Now time.Time
	// Witnesses are the witness keys the verifier trusts (SPEC §16.3). With
	// any, every checkpoint must carry a valid cosignature by at least one
	// of them (else ErrNotWitnessed). Cosignatures by other keys are
	// checked all the same and reported as not trusted.
	Witnesses []witness.Key
	// TSARoots are the Time-Stamping Authority certificates the verifier
	// trusts (SPEC §16.5). With them, every checkpoint must carry an RFC
	// 3161 timestamp whose signer chains to one (else ErrNotTimestamped).
	// Timestamps by others are checked all the same and reported as not
	// trusted.
	TSARoots *x509.CertPool
}

// Verify checks everything a bundle claims, offline, and reports what it
// proved. The checks, for each checkpoint and then each clip, in order:
//
//  1. the checkpoint transaction decodes strictly as a tx.Checkpoint signed
//     for this ledger's chain id, for the bundle's camera and epoch, with a
//     consistent tree size, and signed by the camera; all of a bundle's
//     checkpoints are of one stream's chain (Checkpoint: main,
//     SubCheckpoint: sub);
//  2. the transaction proof is for exactly these transaction bytes and
//     leads to header H's DataHash;
//  3. headers H and H+1 are well formed, of the bundle's chain, consecutive,
//     not from the future; H+1's LastBlockID is H's block and its
//     LastCommitHash is the hash of H's commit (so the commit of H in the
//     bundle is the canonical one that finalised H);
//  4. each block's validator set hashes to its header's ValidatorsHash, H's
//     NextValidatorsHash names H+1's set, and, if a hash is pinned, both
//     sets are the pinned one — or, in a version 3 bundle, the history
//     (verified first, from its genesis set, which must be the pinned one:
//     each change signed by more than 2/3 of the set before it) gives
//     both sets at their heights;
//  5. each block's commit carries valid signatures of more than 2/3 of its
//     set's voting power, every signature in it valid;
//  6. block H's results hash to H+1's LastResultsHash, they number the
//     block's transactions, and the checkpoint's result code is 0;
//  7. for each clip: its record is well formed, of the bundle's camera,
//     epoch and stream, and signed by the camera; the segment's size and SHA-256 are
//     the record's; its leaf index is its seq, within the checkpoint's
//     FirstSeq..LastSeq; and the record hash is included at that index in
//     the checkpoint's tree (its TreeSize and Root, from the signed
//     transaction).
//
// The first failure is returned as a *CheckpointError or *ClipError (or an
// error matching ErrMalformed for a bundle that breaks the format).
func Verify(b *Bundle, opts Options) (*Report, error) {
	rep, cks, err := verifyCheckpoints(b, opts)
	if err != nil {
		return nil, err
	}
	facts, errs := verifyClips(b, cks)
	for i := range b.Clips {
		if errs[i] != nil {
			return nil, errs[i]
		}
		facts[i].CheckpointHeight = rep.Checkpoints[facts[i].Checkpoint].Height
		rep.Clips = append(rep.Clips, facts[i])
	}
	for i := range b.Reveals {
		j, err := verifyReveal(b, i, cks)
		if err != nil {
			return nil, err
		}
		rep.Clips[j].Revealed = true
	}
	rep.Missing = missing(rep.Clips)
	return rep, nil
}

// ErrSealed: a clip is end-to-end encrypted and the bundle does not reveal
// its key (OpenClip).
var ErrSealed = errors.New("the clip is end-to-end encrypted and the bundle does not reveal its key")

// clipOf is the index of the clip of record seq, or -1.
func clipOf(b *Bundle, seq uint64) int {
	j := sort.Search(len(b.Clips), func(j int) bool { return b.Clips[j].LeafIndex >= seq })
	if j < len(b.Clips) && b.Clips[j].LeafIndex == seq {
		return j
	}
	return -1
}

// verifyReveal checks revealed key i (SPEC §10.8): it is for a clip of the
// bundle, sealed under the content key it names, and it opens that clip.
// It returns the clip's index.
func verifyReveal(b *Bundle, i int, cks []*tx.Checkpoint) (int, error) {
	r := &b.Reveals[i]
	fail := func(err error, format string, a ...any) (int, error) {
		return 0, &RevealError{Index: i, Seq: r.Seq, Kind: ErrReveal, Reason: fmt.Sprintf(format, a...), Err: err}
	}
	j := clipOf(b, r.Seq)
	if j < 0 {
		return fail(nil, "a key for record #%d, which is not a clip of this bundle: a bundle reveals the keys of its own clips and no other", r.Seq)
	}
	seg := b.Clips[j].Segment
	h, err := e2ee.ParseSealedHeader(seg)
	if err != nil {
		return fail(err, "clip %d is not sealed: it has no key to reveal", j)
	}
	stream := cks[b.Clips[j].Checkpoint].Stream
	switch {
	case h.Camera != b.Camera || h.Epoch != b.Epoch || h.Stream != stream || h.Seq != r.Seq:
		return fail(nil, "clip %d is sealed as segment %d of stream %d of camera %s epoch %d, not as this clip", j, h.Seq, h.Stream, h.Camera.Hex(), h.Epoch)
	case h.Serial != r.Serial:
		return fail(nil, "clip %d is sealed under content key %d, the key revealed is of content key %d", j, h.Serial, r.Serial)
	}
	sk, err := e2ee.NewSegmentKey(b.Camera, b.Epoch, stream, r.Seq, r.Serial, r.Key)
	if err != nil {
		return fail(err, "%v", err)
	}
	if _, err := sk.OpenSegment(seg); err != nil {
		return fail(err, "the key does not open clip %d: %v", j, err)
	}
	return j, nil
}

// OpenClip returns what clip i of a verified bundle plays: its segment
// when it is not sealed, its plaintext when it is sealed and the bundle
// reveals its key (checked by Verify), else ErrSealed.
func OpenClip(b *Bundle, i int) ([]byte, error) {
	c := &b.Clips[i]
	h, err := e2ee.ParseSealedHeader(c.Segment)
	if err != nil {
		return c.Segment, nil
	}
	k := sort.Search(len(b.Reveals), func(k int) bool { return b.Reveals[k].Seq >= c.LeafIndex })
	if k == len(b.Reveals) || b.Reveals[k].Seq != c.LeafIndex {
		return nil, ErrSealed
	}
	r := &b.Reveals[k]
	sk, err := e2ee.NewSegmentKey(b.Camera, b.Epoch, h.Stream, r.Seq, r.Serial, r.Key)
	if err != nil {
		return nil, err
	}
	return sk.OpenSegment(c.Segment)
}

// VerifyEach is Verify checking every clip instead of stopping at the
// first that fails: a checkpoint that fails is still the error, but a clip
// that fails is reported in clipErrs[i] (a *ClipError; nil for a clip that
// verified), and Report.Clips lists the clips that verified. An exported
// video (internal/export) uses it to name every stretch that does not
// verify.
//
// When segment is not nil it supplies the segment bytes of clip i (of a
// bundle whose segments travel apart from it: an export's video), and an
// error from it fails that clip; each is put in b.Clips[i].Segment for its
// check and removed after, so one segment is held at a time.
func VerifyEach(b *Bundle, opts Options, segment func(i int) ([]byte, error)) (rep *Report, clipErrs []error, err error) {
	rep, cks, err := verifyCheckpoints(b, opts)
	if err != nil {
		return nil, nil, err
	}
	clipErrs = make([]error, len(b.Clips))
	for i := range b.Clips {
		if segment != nil {
			seg, err := segment(i)
			if err != nil {
				clipErrs[i] = &ClipError{Index: i, Seq: b.Clips[i].LeafIndex, Kind: ErrSegment, Reason: err.Error(), Err: err}
				continue
			}
			b.Clips[i].Segment = seg
		}
		fact, err := verifyClip(b, i, cks)
		if segment != nil {
			b.Clips[i].Segment = nil
		}
		if err != nil {
			clipErrs[i] = err
			continue
		}
		fact.CheckpointHeight = rep.Checkpoints[fact.Checkpoint].Height
		rep.Clips = append(rep.Clips, fact)
	}
	rep.Missing = missing(rep.Clips)
	return rep, clipErrs, nil
}

// verifyCheckpoints checks the bundle's form and every checkpoint (steps
// 1–6 of Verify) and returns the report so far and the checkpoint
// transactions.
func verifyCheckpoints(b *Bundle, opts Options) (*Report, []*tx.Checkpoint, error) {
	if err := b.check(); err != nil {
		return nil, nil, err
	}
	if n := len(opts.PinnedValidatorsHash); n != 0 && n != HashSize {
		return nil, nil, fmt.Errorf("evidence: the pinned validators hash is %d bytes, want %d", n, HashSize)
	}
	chainNum, err := tx.ParseLedgerChainID(b.LedgerChainID)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	rep := &Report{LedgerChainID: b.LedgerChainID, Camera: b.Camera.Hex(), Epoch: b.Epoch, Pinned: len(opts.PinnedValidatorsHash) > 0}
	for _, k := range opts.Witnesses {
		rep.TrustedWitnesses = append(rep.TrustedWitnesses, k.String())
	}
	// 0. The validator set's history (version 3), from the genesis set.
	var sets *setHistory
	if b.History != nil {
		var changes []ValidatorChangeFact
		if sets, changes, rep.GenesisValidatorsHash, err = verifyHistory(b, opts); err != nil {
			return nil, nil, err
		}
		rep.ValidatorChanges = changes
	}
	cks := make([]*tx.Checkpoint, len(b.Checkpoints))
	var stream feedchain.Stream
	for i := range b.Checkpoints {
		m, fact, err := verifyCheckpoint(b, i, chainNum, sets, opts)
		if err != nil {
			return nil, nil, err
		}
		// One chain per bundle: the first checkpoint's type names the
		// stream (Checkpoint: main, SubCheckpoint: sub), and every other
		// checkpoint and every clip must be of that stream's chain.
		if i == 0 {
			stream = m.Stream
			rep.Stream = stream.String()
			rep.Origin = witness.StreamOrigin(b.LedgerChainID, b.Camera, b.Epoch, stream)
		} else if m.Stream != stream {
			return nil, nil, &CheckpointError{Index: i, Height: fact.Height, Kind: ErrCheckpointTx,
				Reason: fmt.Sprintf("a checkpoint of the %s stream's chain, the bundle's first is of the %s stream's", m.Stream, stream)}
		}
		// The succession rule, as far as the bundle allows: it holds the
		// checkpoints its clips use, in ledger order, not every one.
		before := checkpoint.Before{}
		if i > 0 {
			before = checkpoint.LaterThan(checkpoint.PrevOf(cks[i-1]))
		}
		s, err := checkpoint.VerifySuccession(before, m)
		if err != nil {
			return nil, nil, &CheckpointError{Index: i, Height: fact.Height, Kind: ErrSuccession, Reason: err.Error(), Err: err}
		}
		fact.Linked, fact.NotChecked = s.Linked, s.NotChecked
		if fact.Witnesses, fact.Timestamps, err = verifyWitnesses(b, i, m, opts); err != nil {
			return nil, nil, err
		}
		cks[i] = m
		rep.Checkpoints = append(rep.Checkpoints, fact)
		if !containsString(rep.ValidatorsHashes, fact.ValidatorsHash) {
			rep.ValidatorsHashes = append(rep.ValidatorsHashes, fact.ValidatorsHash)
		}
	}
	// Every change in the history is needed: none after the last block
	// the bundle proves (the last checkpoint's H+1, which a change at H
	// hands over).
	if sets != nil {
		if last, h := rep.Checkpoints[len(rep.Checkpoints)-1].Height, sets.lastLink(); h > last {
			return nil, nil, &HistoryError{Link: len(b.History.Links) - 1, Height: h, Kind: ErrHistory,
				Reason: fmt.Sprintf("block %d comes after every block the bundle proves (the last checkpoint is at block %d): a change the bundle does not need", h, last)}
		}
	}
	return rep, cks, nil
}

// VerifyBytes decodes and verifies an encoded bundle.
func VerifyBytes(data []byte, opts Options) (*Report, error) {
	b, err := Decode(data)
	if err != nil {
		return nil, err
	}
	return Verify(b, opts)
}

func verifyCheckpoint(b *Bundle, i int, chainNum uint64, sets *setHistory, opts Options) (*tx.Checkpoint, CheckpointFact, error) {
	c := &b.Checkpoints[i]
	var height int64
	fail := func(kind, err error, format string, a ...any) (*tx.Checkpoint, CheckpointFact, error) {
		return nil, CheckpointFact{}, &CheckpointError{Index: i, Height: height, Kind: kind, Reason: fmt.Sprintf(format, a...), Err: err}
	}

	// 1. The camera-signed checkpoint.
	t, err := tx.Decode(c.Tx)
	if err != nil {
		return fail(ErrCheckpointTx, err, "the transaction does not decode: %v", err)
	}
	m, ok := t.Msg.(*tx.Checkpoint)
	switch {
	case !ok:
		return fail(ErrCheckpointTx, nil, "a %s transaction, not a Checkpoint", t.Msg.Type())
	case t.EVMChainID != chainNum:
		return fail(ErrCheckpointTx, nil, "signed for chain id %d, the bundle's ledger is %s", t.EVMChainID, b.LedgerChainID)
	case m.Camera != b.Camera:
		return fail(ErrCheckpointTx, nil, "for camera %s, the bundle is camera %s's", m.Camera.Hex(), b.Camera.Hex())
	case m.Epoch != b.Epoch:
		return fail(ErrCheckpointTx, nil, "for epoch %d, the bundle is of epoch %d", m.Epoch, b.Epoch)
	}
	if err := checkpoint.VerifyFields(m); err != nil {
		return fail(ErrCheckpointTx, err, "%v", err)
	}
	signers, err := t.Signers()
	if err != nil {
		return fail(ErrCheckpointTx, err, "signature does not recover: %v", err)
	}
	if signers[0] != m.Camera {
		return fail(ErrCheckpointTx, nil, "signed by %s, not by the camera %s", signers[0].Hex(), m.Camera.Hex())
	}

	// The two blocks, decoded (checked below).
	sh, err := decodeSignedHeader(c.Header)
	if err != nil {
		return fail(ErrHeader, err, "block H: %v", err)
	}
	height = sh.Height
	next, err := decodeSignedHeader(c.NextHeader)
	if err != nil {
		return fail(ErrHeader, err, "block H+1: %v", err)
	}

	// 2. The transaction is in block H.
	p := &c.TxProof
	switch want := txLeafHash(c.Tx); {
	case !bytes.Equal(p.LeafHash, want):
		return fail(ErrTxProof, nil, "the proof is for another transaction: leaf %X, this transaction's is %X", p.LeafHash, want)
	case p.Total != uint64(c.Results.Len()):
		return fail(ErrTxProof, nil, "the proof is for a block of %d transactions, the bundle has results for %d", p.Total, c.Results.Len())
	case !bytes.Equal(p.RootHash, sh.DataHash):
		return fail(ErrTxProof, nil, "the proof is for data hash %X, block H's is %X", p.RootHash, []byte(sh.DataHash))
	}
	if err := p.cometbft(c.Tx).Validate(sh.DataHash); err != nil {
		return fail(ErrTxProof, err, "the proof does not lead to block H's data hash: %v", err)
	}

	// 3. The headers.
	for _, x := range []struct {
		name string
		sh   *types.SignedHeader
	}{{"H", sh}, {"H+1", next}} {
		if x.sh.ChainID != b.LedgerChainID {
			return fail(ErrHeader, nil, "block %s is of chain %q, not %q", x.name, x.sh.ChainID, b.LedgerChainID)
		}
		if err := x.sh.ValidateBasic(b.LedgerChainID); err != nil {
			return fail(ErrHeader, err, "block %s: %v", x.name, err)
		}
		if !opts.Now.IsZero() && x.sh.Time.After(opts.Now.Add(MaxClockSkew)) {
			return fail(ErrHeader, nil, "block %s is dated %s, after the verifier's clock (%s)", x.name,
				x.sh.Time.UTC().Format(time.RFC3339), opts.Now.UTC().Format(time.RFC3339))
		}
	}
	switch {
	case next.Height != sh.Height+1:
		return fail(ErrHeader, nil, "the next block is %d, want %d", next.Height, sh.Height+1)
	case !next.LastBlockID.Equals(sh.Commit.BlockID):
		return fail(ErrHeader, nil, "block H+1 follows block %v, not block H (%v)", next.LastBlockID, sh.Commit.BlockID)
	case !bytes.Equal(next.LastCommitHash, sh.Commit.Hash()):
		return fail(ErrHeader, nil, "block H's commit is not the one block H+1 carries (hash %X, H+1 names %X)",
			[]byte(sh.Commit.Hash()), []byte(next.LastCommitHash))
	}

	// 4. The validator sets.
	vals, err := validatorSet(c.Validators)
	if err != nil {
		return fail(ErrValidators, err, "block H's set: %v", err)
	}
	nextVals, err := validatorSet(c.NextValidators)
	if err != nil {
		return fail(ErrValidators, err, "block H+1's set: %v", err)
	}
	switch {
	case !bytes.Equal(vals.Hash(), sh.ValidatorsHash):
		return fail(ErrValidators, nil, "block H's set hashes to %X, its header names %X", vals.Hash(), []byte(sh.ValidatorsHash))
	case !bytes.Equal(nextVals.Hash(), next.ValidatorsHash):
		return fail(ErrValidators, nil, "block H+1's set hashes to %X, its header names %X", nextVals.Hash(), []byte(next.ValidatorsHash))
	case !bytes.Equal(sh.NextValidatorsHash, next.ValidatorsHash):
		return fail(ErrValidators, nil, "block H names %X as the next set, block H+1 is signed by %X", []byte(sh.NextValidatorsHash), []byte(next.ValidatorsHash))
	}
	if sets != nil {
		// Version 3: each block is signed by the set the history (from the
		// genesis set, pinned or not) gives at its height.
		if err := checkBlockSet(sets, "H", sh.Height, vals.Hash()); err != nil {
			return fail(ErrHistory, nil, "%v", err)
		}
		if err := checkBlockSet(sets, "H+1", next.Height, nextVals.Hash()); err != nil {
			return fail(ErrHistory, nil, "%v", err)
		}
	} else if pin := opts.PinnedValidatorsHash; len(pin) > 0 {
		for _, x := range []struct {
			name string
			hash []byte
		}{{"H", vals.Hash()}, {"H+1", nextVals.Hash()}} {
			if !bytes.Equal(x.hash, pin) {
				return fail(ErrNotPinned, nil, "block %s is signed by validator set %X, the pinned set is %X", x.name, x.hash, pin)
			}
		}
	}

	// 5. The signatures.
	if err := verifyCommit(b.LedgerChainID, vals, sh); err != nil {
		return fail(ErrCommit, err, "block H: %v", err)
	}
	if err := verifyCommit(b.LedgerChainID, nextVals, next); err != nil {
		return fail(ErrCommit, err, "block H+1: %v", err)
	}

	// 6. The ledger applied the checkpoint.
	got, err := resultsHash(c.Results)
	if err != nil {
		return fail(ErrResults, err, "block H's results: %v", err)
	}
	if !bytes.Equal(got, next.LastResultsHash) {
		return fail(ErrResults, nil, "block H's results hash to %X, block H+1 names %X", got, []byte(next.LastResultsHash))
	}
	if code := c.Results.At(int(p.Index)).Code; code != 0 {
		return fail(ErrResults, nil, "the ledger refused the checkpoint: result code %d (docs/SPEC.md §3.2)", code)
	}

	fact := CheckpointFact{
		Height: sh.Height, BlockTime: sh.Time.UTC().Format(time.RFC3339Nano),
		TxHash: fmt.Sprintf("%X", txHash(c.Tx)), TxIndex: p.Index,
		PeriodStart: unixRFC3339(m.PeriodStart), PeriodEnd: unixRFC3339(m.PeriodEnd),
		FirstSeq: m.FirstSeq, LastSeq: m.LastSeq, TreeSize: m.TreeSize, Root: fmt.Sprintf("%x", m.Root[:]),
		ValidatorsHash: fmt.Sprintf("%X", vals.Hash()), Validators: vals.Size(), VotingPower: vals.TotalVotingPower(),
		AppHashAfter: fmt.Sprintf("%X", []byte(next.AppHash)),
	}
	return m, fact, nil
}

// verifyWitnesses checks checkpoint i's cosignatures over the tree the
// camera signed (SPEC §16.3) and, when the verifier trusts witnesses, that
// one of them cosigned.
func verifyWitnesses(b *Bundle, i int, m *tx.Checkpoint, opts Options) ([]WitnessFact, []TimestampFact, error) {
	c := &b.Checkpoints[i]
	height := int64(0)
	if sh, err := decodeSignedHeader(c.Header); err == nil {
		height = sh.Height
	}
	fail := func(kind error, format string, a ...any) ([]WitnessFact, []TimestampFact, error) {
		return nil, nil, &CheckpointError{Index: i, Height: height, Kind: kind, Reason: fmt.Sprintf(format, a...)}
	}
	body := witness.Body(witness.StreamOrigin(b.LedgerChainID, b.Camera, b.Epoch, m.Stream), m.TreeSize, m.Root)
	var facts []WitnessFact
	trusted := false
	for j, cs := range c.Cosignatures {
		w := witness.Cosignature{Witness: witness.Key{Name: cs.Name, Public: cs.Key}, Time: cs.Time}
		copy(w.Signature[:], cs.Signature)
		for _, f := range facts {
			if f.Key == w.Witness.String() {
				return fail(ErrCosignature, "cosignature %d: witness %s cosigned twice", j, cs.Name)
			}
		}
		if err := w.Verify(body); err != nil {
			return fail(ErrCosignature, "cosignature %d by witness %s (key %s) does not verify over this checkpoint's tree (size %d, root %x)",
				j, cs.Name, w.Witness, m.TreeSize, m.Root[:])
		}
		if !opts.Now.IsZero() && cs.Time > uint64(opts.Now.Add(MaxClockSkew).Unix()) {
			return fail(ErrCosignature, "cosignature %d by witness %s is dated %s, after the verifier's clock (%s)", j, cs.Name,
				unixRFC3339(cs.Time), opts.Now.UTC().Format(time.RFC3339))
		}
		f := WitnessFact{Name: cs.Name, Key: w.Witness.String(), Time: unixRFC3339(cs.Time)}
		for _, k := range opts.Witnesses {
			if k.Equal(w.Witness) {
				f.Trusted, trusted = true, true
			}
		}
		facts = append(facts, f)
	}
	if len(opts.Witnesses) > 0 && !trusted {
		names := make([]string, len(opts.Witnesses))
		for j, k := range opts.Witnesses {
			names[j] = k.Name
		}
		return fail(ErrNotWitnessed, "no witness you trust (%s) cosigned this checkpoint (tree size %d): that someone outside the owner's control saw this history is not proven",
			strings.Join(names, ", "), m.TreeSize)
	}
	var stamps []TimestampFact
	stamped := false
	for j, der := range c.Timestamps {
		tok, err := tsa.Verify(der, body, opts.TSARoots)
		if errors.Is(err, tsa.ErrUntrusted) {
			tok, err = tsa.Verify(der, body, nil) // valid, by a TSA the verifier does not trust
		}
		if err != nil {
			return fail(ErrTimestamp, "timestamp %d: %v", j, err)
		}
		if !opts.Now.IsZero() && tok.Time.After(opts.Now.Add(MaxClockSkew)) {
			return fail(ErrTimestamp, "timestamp %d by %s is dated %s, after the verifier's clock (%s)", j, tok.Signer,
				tok.Time.Format(time.RFC3339), opts.Now.UTC().Format(time.RFC3339))
		}
		stamped = stamped || tok.Trusted
		stamps = append(stamps, TimestampFact{Time: tok.Time.Format(time.RFC3339Nano), Signer: tok.Signer, Serial: tok.Serial.String(), Trusted: tok.Trusted})
	}
	if opts.TSARoots != nil && !stamped {
		return fail(ErrNotTimestamped, "no RFC 3161 timestamp of this checkpoint (tree size %d) by a TSA you trust: when its history existed is not proven by a TSA", m.TreeSize)
	}
	return facts, stamps, nil
}

// clipsPerWorker is the fewest clips worth a goroutine of their own in
// verifyClips (each costs a signature recovery, ~40 µs, and a SHA-256 of
// its segment).
const clipsPerWorker = 64

// verifyClips runs verifyClip on every clip, on up to GOMAXPROCS
// goroutines: a clip's check reads the bundle and its checkpoints and
// nothing else, so the facts and errors (by clip index) are those of the
// checks one after another.
func verifyClips(b *Bundle, cks []*tx.Checkpoint) ([]ClipFact, []error) {
	n := len(b.Clips)
	facts, errs := make([]ClipFact, n), make([]error, n)
	workers := min(runtime.GOMAXPROCS(0), (n+clipsPerWorker-1)/clipsPerWorker)
	if workers <= 1 {
		for i := range n {
			facts[i], errs[i] = verifyClip(b, i, cks)
		}
		return facts, errs
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				lo := int(next.Add(clipsPerWorker)) - clipsPerWorker
				if lo >= n {
					return
				}
				for i := lo; i < min(lo+clipsPerWorker, n); i++ {
					facts[i], errs[i] = verifyClip(b, i, cks)
				}
			}
		})
	}
	wg.Wait()
	return facts, errs
}

func verifyClip(b *Bundle, i int, cks []*tx.Checkpoint) (ClipFact, error) {
	c := &b.Clips[i]
	seq := c.LeafIndex
	fail := func(kind, err error, format string, a ...any) (ClipFact, error) {
		return ClipFact{}, &ClipError{Index: i, Seq: seq, Kind: kind, Reason: fmt.Sprintf(format, a...), Err: err}
	}
	r, err := feedchain.Parse(c.Record)
	if err != nil {
		return fail(ErrRecord, err, "the record does not parse: %v", err)
	}
	seq = r.Seq
	switch {
	case r.Camera != b.Camera:
		return fail(ErrRecord, nil, "a record of camera %s, the bundle is camera %s's", r.Camera.Hex(), b.Camera.Hex())
	case r.Epoch != b.Epoch:
		return fail(ErrRecord, nil, "a record of epoch %d, the bundle is of epoch %d", r.Epoch, b.Epoch)
	case r.Stream != cks[c.Checkpoint].Stream:
		return fail(ErrRecord, nil, "a record of the %s stream, its checkpoint is of the %s stream's chain", r.Stream, cks[c.Checkpoint].Stream)
	}
	if err := feedchain.Verify(r); err != nil {
		return fail(ErrRecord, err, "%v", err)
	}
	if err := feedchain.VerifySegment(r, c.Segment); err != nil {
		var se *feedchain.SegmentError
		if errors.As(err, &se) {
			return fail(ErrSegment, err, "%s is %s, the record says %s", se.Field, se.Got, se.Expected)
		}
		return fail(ErrSegment, err, "%v", err)
	}
	ck := cks[c.Checkpoint]
	switch {
	case c.LeafIndex != r.Seq:
		return fail(ErrInclusion, nil, "leaf index %d is not the record's seq %d", c.LeafIndex, r.Seq)
	case r.Seq < ck.FirstSeq || r.Seq > ck.LastSeq:
		return fail(ErrInclusion, nil, "checkpoint %d covers records %d..%d, not %d", c.Checkpoint, ck.FirstSeq, ck.LastSeq, r.Seq)
	}
	proof, err := checkpoint.DecodeProof(c.Proof)
	if err != nil {
		return fail(ErrInclusion, err, "%v", err)
	}
	if err := checkpoint.VerifyInclusion(r.Seq, ck.TreeSize, r.Hash(), ck.Root, proof); err != nil {
		return fail(ErrInclusion, err, "%v", err)
	}
	rh := r.Hash()
	return ClipFact{
		Seq: r.Seq, Start: r.StartTime().Format(time.RFC3339Nano), Duration: r.Duration.Seconds(),
		Size: r.Size, SHA256: fmt.Sprintf("%x", r.Segment[:]), RecordHash: fmt.Sprintf("%x", rh[:]),
		Codec: r.Codec, Clock: clockOf(r), Checkpoint: int(c.Checkpoint),
		Sealed: isSealed(c.Segment),
	}, nil
}

// isSealed: the segment is end-to-end encrypted (a sealed header, SPEC
// §17.2).
func isSealed(seg []byte) bool {
	_, err := e2ee.ParseSealedHeader(seg)
	return err == nil
}

func unixRFC3339(s uint64) string {
	if s > 1<<62 {
		return strconv.FormatUint(s, 10)
	}
	return time.Unix(int64(s), 0).UTC().Format(time.RFC3339)
}

func containsString(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// clockOf names where a record's start time comes from (record v2, SPEC
// §6.5): "rtcp" (the camera's own clock, from its RTCP sender reports),
// "arrival" (the recording machine's clock) or "arrival-ntp" (that clock,
// NTP-synchronised); "" for a version 1 record, which does not say.
func clockOf(r *feedchain.Record) string {
	if r.Clock == feedchain.ClockUnknown {
		return ""
	}
	return r.Clock.String()
}
