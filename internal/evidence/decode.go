package evidence

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// Decode parses a bundle strictly: the label, a known version, then
// exactly the canonical encoding of a bundle within the limits, with
// nothing after it. Whether the bundle proves anything is for Verify.
//
// Decode is bounded before it allocates (docs/SPEC.md §10.5): every array
// is checked against its own limit, and against the bytes left to hold it,
// before its elements are made; it copies data once and the bundle's byte
// fields share that copy. So it allocates at most MaxDecodeAllocRatio times
// len(data) plus the fixed MaxDecodeAllocFixed, whatever the bytes.
func Decode(data []byte) (*Bundle, error) {
	if len(data) > MaxBundleBytes {
		return nil, fmt.Errorf("%w: %d bytes, over the %d-byte limit", ErrMalformed, len(data), MaxBundleBytes)
	}
	d := decoder{b: data}
	n, err := d.expect(majorArray)
	if err != nil {
		return nil, ErrNotBundle
	}
	if label, err := d.text(len(Label)); err != nil || label != Label {
		return nil, ErrNotBundle
	}
	v, err := d.uint()
	if err != nil {
		return nil, fmt.Errorf("%w: no version after the label: %v", ErrMalformed, err)
	}
	if v < VersionV1 || v > VersionV4 {
		return nil, fmt.Errorf("%w: %d (this code reads versions %d to %d)", ErrVersion, v, VersionV1, VersionV4)
	}
	if n != items(v) {
		return nil, fmt.Errorf("%w: a version %d bundle is an array of %d, this one of %d", ErrMalformed, v, items(v), n)
	}
	// From here on the bundle's byte fields are slices of one private copy.
	d.b = append([]byte(nil), data...)
	if v != VersionV4 {
		return d.rest(v)
	}
	// Version 4: the inner bundle's bytes, then the revealed keys.
	inner, err := d.bytes(MaxBundleBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: the inner bundle: %v", ErrMalformed, err)
	}
	in := decoder{b: inner}
	n, err = in.expect(majorArray)
	if err != nil {
		return nil, fmt.Errorf("%w: the inner bundle: %v", ErrMalformed, err)
	}
	if label, err := in.text(len(Label)); err != nil || label != Label {
		return nil, fmt.Errorf("%w: the inner bundle does not start with the label", ErrMalformed)
	}
	iv, err := in.uint()
	if err != nil || iv < VersionV1 || iv > VersionV3 || n != items(iv) {
		return nil, fmt.Errorf("%w: the inner bundle of a version 4 bundle must be of version 1 to 3, an array of its length", ErrMalformed)
	}
	b, err := in.rest(iv)
	if err != nil {
		return nil, fmt.Errorf("the inner bundle: %w", err)
	}
	if b.Reveals, err = d.reveals(); err != nil {
		return nil, fmt.Errorf("%w: revealed keys: %v", ErrMalformed, err)
	}
	if d.off != len(d.b) {
		return nil, fmt.Errorf("%w: %d bytes after the bundle", ErrMalformed, len(d.b)-d.off)
	}
	if err := b.check(); err != nil {
		return nil, err
	}
	return b, nil
}

// rest reads a bundle of version v (1 to 3) after its label and version,
// to the end of d's bytes, and checks it.
func (d *decoder) rest(v uint64) (*Bundle, error) {
	b, err := d.bundle(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if b.version() != v {
		return nil, fmt.Errorf("%w: a version %d bundle with no cosignature and no timestamp: such a bundle is written as version %d", ErrMalformed, v, b.version())
	}
	if d.off != len(d.b) {
		return nil, fmt.Errorf("%w: %d bytes after the bundle", ErrMalformed, len(d.b)-d.off)
	}
	if err := b.check(); err != nil {
		return nil, err
	}
	return b, nil
}

// reveals reads a version 4 bundle's revealed keys: 1..MaxClips of [seq,
// serial, key].
func (d *decoder) reveals() ([]Reveal, error) {
	n, err := d.list(MaxClips, minRevealBytes)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errors.New("none: a bundle that reveals nothing is written as the bundle it wraps")
	}
	rs := make([]Reveal, n)
	for i := range rs {
		r := &rs[i]
		if err := d.tuple(3); err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		if r.Seq, err = d.uint(); err != nil {
			return nil, fmt.Errorf("key %d: seq: %w", i, err)
		}
		if r.Serial, err = d.uint(); err != nil {
			return nil, fmt.Errorf("key %d: serial: %w", i, err)
		}
		if r.Key, err = d.bytes(RevealKeyBytes); err != nil || len(r.Key) != RevealKeyBytes {
			return nil, fmt.Errorf("key %d: want %d bytes (%v)", i, RevealKeyBytes, err)
		}
	}
	return rs, nil
}

// The least number of bytes one element of each list takes in a
// well-formed bundle (the decoder refuses anything smaller): a list head
// claiming more elements than the bytes left could hold is refused before
// the list is made.
const (
	minValidatorBytes                = 1 + 2 + 2 + MinPubKeyBytes + 1 // array head, key type, key, power
	minResultBytes                   = 5                              // array head and four one-byte items
	minAuntBytes                     = 2 + HashSize                   // bstr head, hash
	minCosignatureBytes              = 1 + 2 + 2 + 32 + 1 + 2 + 64    // array head, name, key, time, signature
	minTimestampBytes                = 2                              // bstr head and a byte
	minLinkBytes                     = 1 + 2 + 1 + minValidatorBytes  // array head, header, a set of one
	minRevealBytes                   = 1 + 1 + 1 + 2 + RevealKeyBytes // array head, seq, serial, key
	minCheckpointBytes, minClipBytes = 1, 1                           // bounded by their count limits
)

// CBOR major types the bundle uses (RFC 8949 §3.1).
const (
	majorUint   = 0
	majorNegInt = 1
	majorBytes  = 2
	majorText   = 3
	majorArray  = 4
)

var errTruncated = errors.New("truncated")

// decoder reads the bundle's canonical CBOR (§10.2): definite lengths,
// shortest heads, no tags, no floats, no maps, exactly the schema's types.
type decoder struct {
	b        []byte
	off      int
	keyTypes map[string]string // validator key type names, each allocated once
}

func (d *decoder) left() int { return len(d.b) - d.off }

// head reads a data item's head, requiring the shortest form of its
// argument and refusing indefinite lengths.
func (d *decoder) head() (major byte, arg uint64, err error) {
	if d.left() < 1 {
		return 0, 0, errTruncated
	}
	ib := d.b[d.off]
	d.off++
	major, ai := ib>>5, ib&0x1f
	if ai < 24 {
		return major, uint64(ai), nil
	}
	if ai > 27 {
		return 0, 0, fmt.Errorf("item head 0x%02x at byte %d: indefinite length or reserved", ib, d.off-1)
	}
	n := 1 << (ai - 24)
	if d.left() < n {
		return 0, 0, errTruncated
	}
	for _, c := range d.b[d.off : d.off+n] {
		arg = arg<<8 | uint64(c)
	}
	d.off += n
	if least := [...]uint64{24, 1 << 8, 1 << 16, 1 << 32}[ai-24]; arg < least {
		return 0, 0, fmt.Errorf("non-minimal head at byte %d", d.off-n-1)
	}
	return major, arg, nil
}

func (d *decoder) expect(major byte) (uint64, error) {
	at := d.off
	m, arg, err := d.head()
	if err != nil {
		return 0, err
	}
	if m != major {
		return 0, fmt.Errorf("byte %d: major type %d, want %d", at, m, major)
	}
	return arg, nil
}

func (d *decoder) uint() (uint64, error) { return d.expect(majorUint) }

func (d *decoder) int64() (int64, error) {
	m, arg, err := d.head()
	switch {
	case err != nil:
		return 0, err
	case (m != majorUint && m != majorNegInt) || arg > math.MaxInt64:
		return 0, errors.New("not a 64-bit integer")
	case m == majorNegInt:
		return -1 - int64(arg), nil
	}
	return int64(arg), nil
}

// tuple reads the head of a fixed-length array (a struct).
func (d *decoder) tuple(n uint64) error {
	got, err := d.expect(majorArray)
	if err == nil && got != n {
		err = fmt.Errorf("an array of %d, want %d", got, n)
	}
	return err
}

// list reads a list's head: at most limit elements, each at least minBytes.
func (d *decoder) list(limit, minBytes int) (int, error) {
	n, err := d.expect(majorArray)
	switch {
	case err != nil:
		return 0, err
	case n > uint64(limit):
		return 0, fmt.Errorf("a list of %d, over the limit of %d", n, limit)
	case n*uint64(minBytes) > uint64(d.left()):
		return 0, fmt.Errorf("a list of %d cannot fit in the %d bytes left", n, d.left())
	}
	return int(n), nil
}

// bytes reads a byte string of at most max bytes, as a slice of d.b.
func (d *decoder) bytes(max int) ([]byte, error) {
	n, err := d.expect(majorBytes)
	switch {
	case err != nil:
		return nil, err
	case n > uint64(max):
		return nil, fmt.Errorf("a byte string of %d bytes, over the limit of %d", n, max)
	case n > uint64(d.left()):
		return nil, errTruncated
	case n == 0:
		return nil, nil
	}
	b := d.b[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return b, nil
}

func (d *decoder) text(max int) (string, error) {
	b, err := d.textBytes(max)
	return string(b), err
}

func (d *decoder) textBytes(max int) ([]byte, error) {
	n, err := d.expect(majorText)
	switch {
	case err != nil:
		return nil, err
	case n > uint64(max):
		return nil, fmt.Errorf("a text string of %d bytes, over the limit of %d", n, max)
	case n > uint64(d.left()):
		return nil, errTruncated
	}
	b := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	if !utf8.Valid(b) {
		return nil, errors.New("text is not UTF-8")
	}
	return b, nil
}

// bundle reads the rest of a bundle after its label and version.
func (d *decoder) bundle(version uint64) (*Bundle, error) {
	var b Bundle
	var err error
	if b.LedgerChainID, err = d.text(MaxLedgerChainIDBytes); err != nil {
		return nil, fmt.Errorf("chain id: %w", err)
	}
	cam, err := d.bytes(len(keys.Address{}))
	if err != nil || len(cam) != len(keys.Address{}) {
		return nil, fmt.Errorf("camera: want %d bytes (%v)", len(keys.Address{}), err)
	}
	copy(b.Camera[:], cam)
	if b.Epoch, err = d.uint(); err != nil {
		return nil, fmt.Errorf("epoch: %w", err)
	}
	if version == VersionV3 {
		if b.History, err = d.history(); err != nil {
			return nil, fmt.Errorf("validator-set history: %w", err)
		}
	}
	n, err := d.list(MaxCheckpoints, minCheckpointBytes)
	if err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	b.Checkpoints = make([]Checkpoint, n)
	for i := range b.Checkpoints {
		if err := d.checkpoint(&b.Checkpoints[i], version); err != nil {
			return nil, fmt.Errorf("checkpoint %d: %w", i, err)
		}
	}
	if n, err = d.list(MaxClips, minClipBytes); err != nil {
		return nil, fmt.Errorf("clips: %w", err)
	}
	b.Clips = make([]Clip, n)
	for i := range b.Clips {
		if err := d.clip(&b.Clips[i]); err != nil {
			return nil, fmt.Errorf("clip %d: %w", i, err)
		}
	}
	return &b, nil
}

func (d *decoder) checkpoint(c *Checkpoint, version uint64) error {
	items := uint64(9)
	if version == VersionV1 {
		items = 7
	}
	if err := d.tuple(items); err != nil {
		return err
	}
	var err error
	if c.Tx, err = d.bytes(MaxTxBytes); err != nil {
		return fmt.Errorf("transaction: %w", err)
	}
	if err := d.txProof(&c.TxProof); err != nil {
		return fmt.Errorf("transaction proof: %w", err)
	}
	if c.Header, err = d.bytes(MaxHeaderBytes); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if c.Validators, err = d.validators(); err != nil {
		return fmt.Errorf("validators: %w", err)
	}
	if c.NextHeader, err = d.bytes(MaxHeaderBytes); err != nil {
		return fmt.Errorf("next header: %w", err)
	}
	if c.NextValidators, err = d.validators(); err != nil {
		return fmt.Errorf("next validators: %w", err)
	}
	if c.Results, err = d.results(); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if version == VersionV1 {
		return nil
	}
	if c.Cosignatures, err = d.cosignatures(); err != nil {
		return fmt.Errorf("cosignatures: %w", err)
	}
	n, err := d.list(MaxTimestamps, minTimestampBytes)
	if err != nil {
		return fmt.Errorf("timestamps: %w", err)
	}
	if n > 0 {
		c.Timestamps = make([][]byte, n)
	}
	for i := range c.Timestamps {
		if c.Timestamps[i], err = d.bytes(MaxTimestampBytes); err != nil || len(c.Timestamps[i]) == 0 {
			return fmt.Errorf("timestamp %d: want 1..%d bytes (%v)", i, MaxTimestampBytes, err)
		}
	}
	return nil
}

// history reads a version 3 bundle's validator-set history: the genesis
// set, then 1..MaxValidatorChanges links of a header and a set.
func (d *decoder) history() (*History, error) {
	if err := d.tuple(2); err != nil {
		return nil, err
	}
	var h History
	var err error
	if h.Genesis, err = d.validators(); err != nil {
		return nil, fmt.Errorf("genesis validators: %w", err)
	}
	n, err := d.list(MaxValidatorChanges, minLinkBytes)
	if err != nil {
		return nil, fmt.Errorf("changes: %w", err)
	}
	if n == 0 {
		return nil, errors.New("no change: a bundle without one is written as version 1 or 2")
	}
	h.Links = make([]Link, n)
	for i := range h.Links {
		l := &h.Links[i]
		if err := d.tuple(2); err != nil {
			return nil, fmt.Errorf("change %d: %w", i, err)
		}
		if l.Header, err = d.bytes(MaxHeaderBytes); err != nil || len(l.Header) == 0 {
			return nil, fmt.Errorf("change %d: header: want 1..%d bytes (%v)", i, MaxHeaderBytes, err)
		}
		if l.Validators, err = d.validators(); err != nil {
			return nil, fmt.Errorf("change %d: validators: %w", i, err)
		}
	}
	return &h, nil
}

func (d *decoder) cosignatures() ([]Cosignature, error) {
	n, err := d.list(MaxCosignatures, minCosignatureBytes)
	if err != nil || n == 0 {
		return nil, err
	}
	cs := make([]Cosignature, n)
	for i := range cs {
		c := &cs[i]
		if err := d.tuple(4); err != nil {
			return nil, fmt.Errorf("cosignature %d: %w", i, err)
		}
		if c.Name, err = d.text(MaxWitnessNameBytes); err != nil || c.Name == "" {
			return nil, fmt.Errorf("cosignature %d: witness name: want 1..%d bytes (%v)", i, MaxWitnessNameBytes, err)
		}
		if c.Key, err = d.bytes(ed25519.PublicKeySize); err != nil || len(c.Key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("cosignature %d: key: want %d bytes (%v)", i, ed25519.PublicKeySize, err)
		}
		if c.Time, err = d.uint(); err != nil {
			return nil, fmt.Errorf("cosignature %d: time: %w", i, err)
		}
		if c.Signature, err = d.bytes(ed25519.SignatureSize); err != nil || len(c.Signature) != ed25519.SignatureSize {
			return nil, fmt.Errorf("cosignature %d: signature: want %d bytes (%v)", i, ed25519.SignatureSize, err)
		}
	}
	return cs, nil
}

func (d *decoder) txProof(p *TxProof) error {
	if err := d.tuple(5); err != nil {
		return err
	}
	var err error
	if p.RootHash, err = d.bytes(HashSize); err != nil {
		return err
	}
	if p.Total, err = d.uint(); err != nil {
		return err
	}
	if p.Index, err = d.uint(); err != nil {
		return err
	}
	if p.LeafHash, err = d.bytes(HashSize); err != nil {
		return err
	}
	n, err := d.list(MaxAunts, minAuntBytes)
	if err != nil {
		return fmt.Errorf("aunts: %w", err)
	}
	if n > 0 {
		p.Aunts = make([][]byte, n)
	}
	for i := range p.Aunts {
		if p.Aunts[i], err = d.bytes(HashSize); err != nil || len(p.Aunts[i]) != HashSize {
			return fmt.Errorf("aunt %d: want %d bytes (%v)", i, HashSize, err)
		}
	}
	return nil
}

func (d *decoder) validators() ([]Validator, error) {
	n, err := d.list(MaxValidators, minValidatorBytes)
	if err != nil {
		return nil, err
	}
	vs := make([]Validator, n)
	for i := range vs {
		v := &vs[i]
		if err := d.tuple(3); err != nil {
			return nil, fmt.Errorf("validator %d: %w", i, err)
		}
		kt, err := d.textBytes(MaxKeyTypeBytes)
		if err != nil {
			return nil, fmt.Errorf("validator %d: key type: %w", i, err)
		}
		if v.KeyType = d.keyTypes[string(kt)]; v.KeyType == "" { // the lookup does not allocate
			if d.keyTypes == nil {
				d.keyTypes = map[string]string{}
			}
			if len(d.keyTypes) > 16 {
				return nil, errors.New("more than 16 validator key types")
			}
			v.KeyType = string(kt)
			d.keyTypes[v.KeyType] = v.KeyType
		}
		if v.PubKey, err = d.bytes(MaxPubKeyBytes); err != nil || len(v.PubKey) < MinPubKeyBytes {
			return nil, fmt.Errorf("validator %d: public key must be %d..%d bytes (%v)", i, MinPubKeyBytes, MaxPubKeyBytes, err)
		}
		if v.Power, err = d.uint(); err != nil {
			return nil, fmt.Errorf("validator %d: power: %w", i, err)
		}
	}
	return vs, nil
}

// results reads a block's results, checking each, and keeps them as the
// slice of d.b they occupy.
func (d *decoder) results() (Results, error) {
	n, err := d.list(MaxResults, minResultBytes)
	if err != nil {
		return Results{}, err
	}
	start := d.off
	for i := range n {
		if _, err := d.result(); err != nil {
			return Results{}, fmt.Errorf("result %d: %w", i, err)
		}
	}
	return Results{n: n, enc: d.b[start:d.off:d.off]}, nil
}

// result reads one result. It allocates nothing: Data is a slice of d.b.
func (d *decoder) result() (TxResult, error) {
	var r TxResult
	if err := d.tuple(4); err != nil {
		return r, err
	}
	code, err := d.uint()
	if err != nil || code > math.MaxUint32 {
		return r, fmt.Errorf("code: not a 32-bit unsigned integer (%v)", err)
	}
	r.Code = uint32(code)
	if r.Data, err = d.bytes(MaxResultDataBytes); err != nil {
		return r, fmt.Errorf("data: %w", err)
	}
	if r.GasWanted, err = d.int64(); err != nil {
		return r, fmt.Errorf("gas wanted: %w", err)
	}
	if r.GasUsed, err = d.int64(); err != nil {
		return r, fmt.Errorf("gas used: %w", err)
	}
	return r, nil
}

func (d *decoder) clip(c *Clip) error {
	if err := d.tuple(5); err != nil {
		return err
	}
	var err error
	if c.Checkpoint, err = d.uint(); err != nil {
		return fmt.Errorf("checkpoint index: %w", err)
	}
	if c.LeafIndex, err = d.uint(); err != nil {
		return fmt.Errorf("leaf index: %w", err)
	}
	if c.Record, err = d.bytes(feedchain.MaxRecordSize); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	if c.Proof, err = d.bytes(checkpoint.MaxProofHashes * checkpoint.HashSize); err != nil {
		return fmt.Errorf("inclusion proof: %w", err)
	}
	if c.Segment, err = d.bytes(MaxSegmentBytes); err != nil {
		return fmt.Errorf("segment: %w", err)
	}
	return nil
}

// appendHead appends a CBOR head in its shortest form.
func appendHead(b []byte, major byte, arg uint64) []byte {
	m := major << 5
	switch {
	case arg < 24:
		return append(b, m|byte(arg))
	case arg <= math.MaxUint8:
		return append(b, m|24, byte(arg))
	case arg <= math.MaxUint16:
		return append(b, m|25, byte(arg>>8), byte(arg))
	case arg <= math.MaxUint32:
		return append(b, m|26, byte(arg>>24), byte(arg>>16), byte(arg>>8), byte(arg))
	}
	return append(b, m|27, byte(arg>>56), byte(arg>>48), byte(arg>>40), byte(arg>>32),
		byte(arg>>24), byte(arg>>16), byte(arg>>8), byte(arg))
}
