package evidence

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"

	"github.com/camchain/camchain/internal/canon"
	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// Label and Version open every bundle: the first two items of its CBOR
// array, so a reader can tell a bundle (and its version) before decoding
// the rest.
//
// Version 1 bundles carry the ledger's proofs alone; version 2 adds, to
// each checkpoint, witness cosignatures and RFC 3161 timestamps (SPEC
// §10.2, §16); version 3 adds the validator set's history from the
// genesis (History), for blocks signed after the set changed (§3.6).
// Encode writes the lowest version that holds the bundle — 3 with a
// history, else 2 when a checkpoint carries a cosignature or a timestamp,
// else 1 — so a bundle has one encoding and readers of an older version
// read every bundle it can hold; Decode reads all four.
//
// Version 4 is a bundle of version 1, 2 or 3 exactly as the hub served it,
// wrapped with the segment keys of some of its sealed clips (Reveals,
// `camchain evidence export --reveal`, SPEC §10.8): its inner bytes are
// the served ones, so their SHA-256 is still the one the hub's
// chain-of-custody event names.
const (
	Label     = "camchain-evidence"
	Version   = VersionV4 // the latest
	VersionV1 = 1
	VersionV2 = 2
	VersionV3 = 3
	VersionV4 = 4
)

// HashSize is the size of every hash in a bundle (SHA-256).
const HashSize = 32

// Decoding errors.
var (
	// ErrNotBundle: the bytes do not start like an evidence bundle.
	ErrNotBundle = errors.New("evidence: not a camchain evidence bundle")
	// ErrVersion: a bundle of a version this code does not read.
	ErrVersion = errors.New("evidence: unknown bundle version")
	// ErrMalformed: the bytes are not a canonical, well-formed bundle
	// within the limits of limits.go.
	ErrMalformed = errors.New("evidence: malformed bundle")
)

// Bundle is an evidence bundle: clips of one camera in one binding epoch
// with everything needed to check them offline (docs/SPEC.md §10).
type Bundle struct {
	// LedgerChainID is the ledger's CometBFT chain id, "camchain-<n>".
	LedgerChainID string
	Camera        keys.Address
	Epoch         uint64
	// Checkpoints are the ledger checkpoints the clips rely on, in ledger
	// order; each is used by at least one clip.
	Checkpoints []Checkpoint
	// Clips are in increasing sequence number.
	Clips []Clip
	// History is the validator set's history from the genesis to the
	// bundle's last block (version 3); nil when the set never changed
	// before it, and the genesis set signs every block.
	History *History
	// Reveals are the segment keys of some of the sealed clips (SPEC
	// §10.8), in increasing Seq, one per clip at most (version 4); nil for
	// a bundle that reveals nothing.
	Reveals []Reveal
}

// Reveal is the segment key of one sealed clip (SPEC §17.2): 32 bytes
// that open that clip's segment, and no other segment, bound to the clip
// by its seq and the serial of the content key it derives from (the
// camera, epoch and stream are the bundle's).
type Reveal struct {
	_      struct{} `cbor:",toarray"`
	Seq    uint64
	Serial uint64
	Key    []byte // 32 bytes
}

// Checkpoint is one camera-signed checkpoint transaction with the proof
// that the ledger committed and applied it.
type Checkpoint struct {
	_ struct{} `cbor:",toarray"`
	// Tx is the wire bytes of the tx.Checkpoint (SPEC §2.3).
	Tx []byte
	// TxProof proves Tx is in the data of block H.
	TxProof TxProof
	// Header is block H's signed header: the protobuf encoding of
	// cometbft.types.v1.SignedHeader, with the canonical commit of H (the
	// one block H+1 carries).
	Header []byte
	// Validators is the validator set of block H, in the set's order.
	Validators []Validator
	// NextHeader is block H+1's signed header. Its LastCommitHash and
	// LastBlockID bind Header's commit and block; its LastResultsHash
	// covers Results.
	NextHeader []byte
	// NextValidators is the validator set of block H+1.
	NextValidators []Validator
	// Results are the results of every transaction of block H, in block
	// order: the fields CometBFT hashes into LastResultsHash.
	Results Results

	// Cosignatures are witnesses' tlog-cosignatures of the checkpoint's
	// tree (SPEC §16.3), in the order the hub got them (version 2).
	Cosignatures []Cosignature `cbor:"-"`
	// Timestamps are RFC 3161 TimeStampTokens (DER) over the checkpoint
	// (SPEC §16.5) (version 2).
	Timestamps [][]byte `cbor:"-"`
}

// Cosignature is one witness's C2SP tlog-cosignature/v1 of a checkpoint's
// tree: the witness's key name and Ed25519 public key, its time (Unix
// seconds) and its signature over "cosignature/v1\ntime <Time>\n" and the
// checkpoint body (witness.Body of the bundle's origin and the
// checkpoint's tree size and root).
type Cosignature struct {
	_         struct{} `cbor:",toarray"`
	Name      string
	Key       []byte // 32 bytes
	Time      uint64
	Signature []byte // 64 bytes
}

// checkpointV2 is a checkpoint on the wire in a version 2 bundle: the
// version 1 items, then the cosignatures and the timestamps.
type checkpointV2 struct {
	_              struct{} `cbor:",toarray"`
	Tx             []byte
	TxProof        TxProof
	Header         []byte
	Validators     []Validator
	NextHeader     []byte
	NextValidators []Validator
	Results        Results
	Cosignatures   []Cosignature
	Timestamps     [][]byte
}

func (c *Checkpoint) v2() checkpointV2 {
	return checkpointV2{Tx: c.Tx, TxProof: c.TxProof, Header: c.Header, Validators: c.Validators,
		NextHeader: c.NextHeader, NextValidators: c.NextValidators, Results: c.Results,
		Cosignatures: orEmpty(c.Cosignatures), Timestamps: orEmpty(c.Timestamps)}
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// version is the version Encode writes: 3 with a history, else 2 if any
// checkpoint carries a cosignature or a timestamp, else 1.
func (b *Bundle) version() uint64 {
	if len(b.Reveals) > 0 {
		return VersionV4
	}
	return b.innerVersion()
}

// innerVersion is the version of the bundle without its reveals: the one
// a version 4 bundle wraps.
func (b *Bundle) innerVersion() uint64 {
	if b.History != nil {
		return VersionV3
	}
	for i := range b.Checkpoints {
		if len(b.Checkpoints[i].Cosignatures) > 0 || len(b.Checkpoints[i].Timestamps) > 0 {
			return VersionV2
		}
	}
	return VersionV1
}

// Version is the version Encode writes for this bundle (4 with revealed
// segment keys; else 3 with a validator-set history; else 2 when a
// checkpoint carries a cosignature or a timestamp; else 1).
func (b *Bundle) Version() uint64 { return b.version() }

// items is the length of the bundle's top-level array at version v.
func items(v uint64) uint64 {
	switch v {
	case VersionV3:
		return 8
	case VersionV4:
		return 4
	}
	return 7
}

// wire is the bundle's wire form at its version, reveals left out (a
// version 4 bundle is that form wrapped, encode).
func (b *Bundle) wire() any {
	v := b.innerVersion()
	if v == VersionV1 {
		return wireBundle{Label: Label, Version: v, LedgerChainID: b.LedgerChainID,
			Camera: b.Camera[:], Epoch: b.Epoch, Checkpoints: b.Checkpoints, Clips: b.Clips}
	}
	cks := make([]checkpointV2, len(b.Checkpoints))
	for i := range b.Checkpoints {
		cks[i] = b.Checkpoints[i].v2()
	}
	if v == VersionV3 {
		return wireBundleV3{Label: Label, Version: v, LedgerChainID: b.LedgerChainID,
			Camera: b.Camera[:], Epoch: b.Epoch, History: *b.History, Checkpoints: cks, Clips: b.Clips}
	}
	return wireBundleV2{Label: Label, Version: v, LedgerChainID: b.LedgerChainID,
		Camera: b.Camera[:], Epoch: b.Epoch, Checkpoints: cks, Clips: b.Clips}
}

// TxProof is CometBFT's Merkle proof of a transaction in a block's data
// (types.TxProof without its Data, which is Checkpoint.Tx).
type TxProof struct {
	_        struct{} `cbor:",toarray"`
	RootHash []byte   // the block's DataHash
	Total    uint64   // transactions in the block
	Index    uint64   // the transaction's position in the block
	LeafHash []byte   // SHA-256(0x00 ‖ SHA-256(tx))
	Aunts    [][]byte // sibling hashes from the leaf up
}

// Validator is one member of a validator set: what CometBFT hashes into
// the set's hash (public key and voting power).
type Validator struct {
	_       struct{} `cbor:",toarray"`
	KeyType string   // CometBFT key type: "ed25519", "secp256k1", …
	PubKey  []byte
	Power   uint64
}

// TxResult is the deterministic part of a transaction's result
// (CometBFT's abci.DeterministicExecTxResult).
type TxResult struct {
	_         struct{} `cbor:",toarray"`
	Code      uint32
	Data      []byte
	GasWanted int64
	GasUsed   int64
}

// Clip is one segment with its record and the record's inclusion proof.
type Clip struct {
	_ struct{} `cbor:",toarray"`
	// Checkpoint is the index in Bundle.Checkpoints of the checkpoint whose
	// period covers the record (FirstSeq ≤ seq ≤ LastSeq).
	Checkpoint uint64
	// LeafIndex is the record's leaf in the checkpoint's tree: its seq.
	LeafIndex uint64
	// Record is the feed-chain record (SPEC §6.1), signature included.
	Record []byte
	// Proof is the RFC 6962 inclusion proof of the record's hash in the
	// checkpoint's tree, as checkpoint.EncodeProof encodes it.
	Proof []byte
	// Segment is the segment file's bytes.
	Segment []byte
}

// wireBundle is the bundle on the wire: a CBOR array of 7 items.
type wireBundle struct {
	_             struct{} `cbor:",toarray"`
	Label         string
	Version       uint64
	LedgerChainID string
	Camera        []byte
	Epoch         uint64
	Checkpoints   []Checkpoint
	Clips         []Clip
}

// wireBundleV2 is a version 2 bundle on the wire.
type wireBundleV2 struct {
	_             struct{} `cbor:",toarray"`
	Label         string
	Version       uint64
	LedgerChainID string
	Camera        []byte
	Epoch         uint64
	Checkpoints   []checkpointV2
	Clips         []Clip
}

// wireBundleV3 is a version 3 bundle on the wire: an array of 8, the
// history before the checkpoints (which are as in version 2).
type wireBundleV3 struct {
	_             struct{} `cbor:",toarray"`
	Label         string
	Version       uint64
	LedgerChainID string
	Camera        []byte
	Epoch         uint64
	History       History
	Checkpoints   []checkpointV2
	Clips         []Clip
}

// wireBundleV4 is a version 4 bundle on the wire: the inner bundle's
// canonical bytes and the revealed keys.
type wireBundleV4 struct {
	_       struct{} `cbor:",toarray"`
	Label   string
	Version uint64
	Bundle  []byte
	Reveals []Reveal
}

// encMode is the canonical encoder; Decode (decode.go) accepts exactly
// its output.
var encMode = func() cbor.UserBufferEncMode {
	m, err := canon.EncOptions().UserBufferEncMode()
	if err != nil {
		panic("evidence: cbor encoder options: " + err.Error())
	}
	return m
}()

// Encode returns the bundle's canonical bytes. It refuses a bundle that
// Decode would refuse.
func (b *Bundle) Encode() ([]byte, error) { return b.encode(0) }

// encode is Encode into a buffer of sizeHint bytes to start with (a bundle
// is mostly video: growing the buffer would copy it again and again).
func (b *Bundle) encode(sizeHint int) ([]byte, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	if sizeHint == 0 {
		sizeHint = 1024 * (len(b.Checkpoints) + len(b.Clips))
		for i := range b.Clips {
			sizeHint += len(b.Clips[i].Segment)
		}
	}
	buf := bytes.NewBuffer(make([]byte, 0, min(sizeHint, MaxBundleBytes)))
	err := encMode.MarshalToBuffer(b.wire(), buf)
	if err != nil {
		return nil, fmt.Errorf("evidence: encode: %w", err)
	}
	if len(b.Reveals) > 0 {
		inner := buf.Bytes()
		buf = bytes.NewBuffer(make([]byte, 0, len(inner)+64*len(b.Reveals)+64))
		w := wireBundleV4{Label: Label, Version: VersionV4, Bundle: inner, Reveals: b.Reveals}
		if err := encMode.MarshalToBuffer(w, buf); err != nil {
			return nil, fmt.Errorf("evidence: encode: %w", err)
		}
	}
	if buf.Len() > MaxBundleBytes {
		return nil, fmt.Errorf("%w: %d bytes, over the %d-byte limit", ErrMalformed, buf.Len(), MaxBundleBytes)
	}
	return buf.Bytes(), nil
}

// check enforces the limits and the structure Decode guarantees: sizes of
// every field, references between clips and checkpoints, and order.
func (b *Bundle) check() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, a...)...)
	}
	switch {
	case len(b.LedgerChainID) == 0 || len(b.LedgerChainID) > MaxLedgerChainIDBytes || !utf8.ValidString(b.LedgerChainID):
		return bad("chain id must be 1..%d bytes of UTF-8", MaxLedgerChainIDBytes)
	case len(b.Checkpoints) == 0 || len(b.Checkpoints) > MaxCheckpoints:
		return bad("%d checkpoints, want 1..%d", len(b.Checkpoints), MaxCheckpoints)
	case len(b.Clips) == 0 || len(b.Clips) > MaxClips:
		return bad("%d clips, want 1..%d", len(b.Clips), MaxClips)
	}
	if b.History != nil {
		if err := b.History.check(); err != nil {
			return bad("validator-set history: %v", err)
		}
	}
	for i := range b.Checkpoints {
		if err := b.Checkpoints[i].check(); err != nil {
			return bad("checkpoint %d: %v", i, err)
		}
	}
	used := make([]bool, len(b.Checkpoints))
	for i := range b.Clips {
		c := &b.Clips[i]
		switch {
		case c.Checkpoint >= uint64(len(b.Checkpoints)):
			return bad("clip %d refers to checkpoint %d of %d", i, c.Checkpoint, len(b.Checkpoints))
		case i > 0 && c.LeafIndex <= b.Clips[i-1].LeafIndex:
			return bad("clip %d: leaf index %d does not follow %d: clips must be in increasing sequence", i, c.LeafIndex, b.Clips[i-1].LeafIndex)
		case i > 0 && c.Checkpoint < b.Clips[i-1].Checkpoint:
			return bad("clip %d: checkpoint %d before the previous clip's %d: checkpoints must be in ledger order", i, c.Checkpoint, b.Clips[i-1].Checkpoint)
		case len(c.Record) == 0 || len(c.Record) > feedchain.MaxRecordSize:
			return bad("clip %d: record of %d bytes, want 1..%d", i, len(c.Record), feedchain.MaxRecordSize)
		case len(c.Proof)%checkpoint.HashSize != 0 || len(c.Proof)/checkpoint.HashSize > checkpoint.MaxProofHashes:
			return bad("clip %d: inclusion proof of %d bytes is not 0..%d whole %d-byte hashes", i, len(c.Proof), checkpoint.MaxProofHashes, checkpoint.HashSize)
		case len(c.Segment) > MaxSegmentBytes:
			return bad("clip %d: segment of %d bytes, over the %d-byte limit", i, len(c.Segment), MaxSegmentBytes)
		}
		used[c.Checkpoint] = true
	}
	for i, u := range used {
		if !u {
			return bad("checkpoint %d is used by no clip", i)
		}
	}
	if len(b.Reveals) > len(b.Clips) {
		return bad("%d revealed keys for %d clips", len(b.Reveals), len(b.Clips))
	}
	for i, r := range b.Reveals {
		switch {
		case len(r.Key) != RevealKeyBytes:
			return bad("revealed key %d is %d bytes, want %d", i, len(r.Key), RevealKeyBytes)
		case i > 0 && r.Seq <= b.Reveals[i-1].Seq:
			return bad("revealed key %d: record #%d does not follow #%d: keys must be in increasing sequence, one per clip", i, r.Seq, b.Reveals[i-1].Seq)
		}
	}
	return nil
}

func (c *Checkpoint) check() error {
	switch {
	case len(c.Tx) == 0 || len(c.Tx) > MaxTxBytes:
		return fmt.Errorf("transaction of %d bytes, want 1..%d", len(c.Tx), MaxTxBytes)
	case len(c.Header) == 0 || len(c.Header) > MaxHeaderBytes:
		return fmt.Errorf("header of %d bytes, want 1..%d", len(c.Header), MaxHeaderBytes)
	case len(c.NextHeader) == 0 || len(c.NextHeader) > MaxHeaderBytes:
		return fmt.Errorf("next header of %d bytes, want 1..%d", len(c.NextHeader), MaxHeaderBytes)
	case c.Results.Len() == 0 || c.Results.Len() > MaxResults:
		return fmt.Errorf("%d transaction results, want 1..%d", c.Results.Len(), MaxResults)
	}
	if err := c.TxProof.check(); err != nil {
		return fmt.Errorf("transaction proof: %w", err)
	}
	if err := checkValidators(c.Validators); err != nil {
		return fmt.Errorf("validators: %w", err)
	}
	if err := checkValidators(c.NextValidators); err != nil {
		return fmt.Errorf("next validators: %w", err)
	}
	for i, r := range c.Results.All() {
		if n := len(r.Data); n > MaxResultDataBytes {
			return fmt.Errorf("result %d: %d bytes of data, over the %d-byte limit", i, n, MaxResultDataBytes)
		}
	}
	if len(c.Cosignatures) > MaxCosignatures {
		return fmt.Errorf("%d cosignatures, over the limit of %d", len(c.Cosignatures), MaxCosignatures)
	}
	for i, cs := range c.Cosignatures {
		switch {
		case len(cs.Name) == 0 || len(cs.Name) > MaxWitnessNameBytes || !utf8.ValidString(cs.Name):
			return fmt.Errorf("cosignature %d: the witness name must be 1..%d bytes of UTF-8", i, MaxWitnessNameBytes)
		case len(cs.Key) != ed25519.PublicKeySize || len(cs.Signature) != ed25519.SignatureSize:
			return fmt.Errorf("cosignature %d: want a %d-byte key and a %d-byte signature", i, ed25519.PublicKeySize, ed25519.SignatureSize)
		}
	}
	if len(c.Timestamps) > MaxTimestamps {
		return fmt.Errorf("%d timestamps, over the limit of %d", len(c.Timestamps), MaxTimestamps)
	}
	for i, t := range c.Timestamps {
		if len(t) == 0 || len(t) > MaxTimestampBytes {
			return fmt.Errorf("timestamp %d: %d bytes, want 1..%d", i, len(t), MaxTimestampBytes)
		}
	}
	return nil
}

func (p *TxProof) check() error {
	switch {
	case len(p.RootHash) != HashSize || len(p.LeafHash) != HashSize:
		return fmt.Errorf("root and leaf hashes must be %d bytes", HashSize)
	case p.Total == 0 || p.Total > MaxResults || p.Index >= p.Total:
		return fmt.Errorf("index %d of %d transactions: want index < total ≤ %d", p.Index, p.Total, MaxResults)
	case len(p.Aunts) > MaxAunts:
		return fmt.Errorf("%d aunts, over the limit of %d", len(p.Aunts), MaxAunts)
	}
	for i, a := range p.Aunts {
		if len(a) != HashSize {
			return fmt.Errorf("aunt %d is %d bytes, want %d", i, len(a), HashSize)
		}
	}
	return nil
}

func checkValidators(vs []Validator) error {
	if len(vs) == 0 || len(vs) > MaxValidators {
		return fmt.Errorf("%d validators, want 1..%d", len(vs), MaxValidators)
	}
	for i, v := range vs {
		switch {
		case len(v.KeyType) == 0 || len(v.KeyType) > MaxKeyTypeBytes:
			return fmt.Errorf("validator %d: key type must be 1..%d bytes", i, MaxKeyTypeBytes)
		case len(v.PubKey) < MinPubKeyBytes || len(v.PubKey) > MaxPubKeyBytes:
			return fmt.Errorf("validator %d: public key must be %d..%d bytes", i, MinPubKeyBytes, MaxPubKeyBytes)
		case v.Power == 0 || v.Power > maxTotalVotingPower:
			return fmt.Errorf("validator %d: voting power %d, want 1..%d", i, v.Power, maxTotalVotingPower)
		}
	}
	return nil
}
