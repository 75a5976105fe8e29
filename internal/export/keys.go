package export

import (
	"errors"
	"fmt"

	"github.com/camchain/camchain/internal/canon"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/feedchain"
)

// The keys file of an end-to-end encrypted export (docs/SPEC.md §14.5,
// §17.5): FILE.keys beside FILE and FILE.evidence. The video holds the
// plaintext, decrypted by the person exporting; the records hash the
// sealed bytes. The keys file discloses, for exactly the exported clips,
// each segment key and how its segment was cut, so that verify seals the
// video's plaintext again (AES-GCM is deterministic under one key, nonce
// and header) and checks the camera's hash — it reveals nothing of any
// other segment (docs/SPEC.md §17.2). Canonical CBOR:
//
//	[version = 1, clips]
//	clips = [[seq, serial, key (32 bytes), whole (0/1), [part length, …]], …]   in the evidence's clip order
//
// whole = 1: the segment was sealed in one (index 0), the lengths empty;
// whole = 0: it was sealed in parts of these plaintext lengths (indexes 1…n);
// an empty key (whole 0, no lengths): the clip was recorded in the clear.

// KeysSuffix names the keys file beside the video.
const KeysSuffix = ".keys"

// KeysVersion is the keys file's version.
const KeysVersion = 1

// ErrKeys is a keys file that is not one Save writes.
var ErrKeys = errors.New("malformed export keys file")

// ClipKey is one exported clip's disclosed segment key.
type ClipKey struct {
	_      struct{} `cbor:",toarray"`
	Seq    uint64
	Serial uint64
	Key    []byte
	Whole  uint64
	Parts  []uint64
}

type keysFile struct {
	_       struct{} `cbor:",toarray"`
	Version uint64
	Clips   []ClipKey
}

var (
	keysEnc = canon.EncMode()
	keysDec = canon.DecMode(4, e2ee.MaxParts+1)
)

// Decrypt opens one sealed clip of the camera: its plaintext, its segment
// key and its layout.
type Decrypt func(sealed []byte) (plain []byte, key *e2ee.SegmentKey, layout e2ee.Layout, err error)

func encodeKeys(ks []ClipKey) ([]byte, error) {
	return keysEnc.Marshal(keysFile{Version: KeysVersion, Clips: ks})
}

func decodeKeys(b []byte) ([]ClipKey, error) {
	var f keysFile
	if err := canon.Unmarshal(keysDec, keysEnc, b, &f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeys, err)
	}
	if f.Version != KeysVersion {
		return nil, fmt.Errorf("%w: version %d", ErrKeys, f.Version)
	}
	for i, c := range f.Clips {
		clear := len(c.Key) == 0 && c.Whole == 0 && len(c.Parts) == 0
		if !clear && (len(c.Key) != e2ee.KeySize || c.Whole > 1 || (c.Whole == 1) != (len(c.Parts) == 0)) {
			return nil, fmt.Errorf("%w: clip %d", ErrKeys, i)
		}
	}
	return f.Clips, nil
}

func (c ClipKey) clear() bool { return len(c.Key) == 0 }

// plainSize is the clip's plaintext length.
func (c ClipKey) plainSize(sealed uint64) (uint64, error) {
	if c.clear() {
		return sealed, nil
	}
	if c.Whole == 1 {
		if sealed < e2ee.SealedOverhead {
			return 0, fmt.Errorf("a sealed segment of %d bytes", sealed)
		}
		return sealed - e2ee.SealedOverhead, nil
	}
	var n uint64
	for _, p := range c.Parts {
		n += p
	}
	if n+uint64(len(c.Parts))*e2ee.SealedOverhead != sealed {
		return 0, fmt.Errorf("the keys file's layout (%d parts, %d bytes) does not make the record's %d sealed bytes", len(c.Parts), n, sealed)
	}
	return n, nil
}

// reseal seals a clip's plaintext again into the bytes its record hashes.
func (c ClipKey) reseal(r *feedchain.Record, plain []byte) ([]byte, error) {
	if c.clear() {
		return plain, nil
	}
	k, err := e2ee.NewSegmentKey(r.Camera, r.Epoch, r.Stream, r.Seq, c.Serial, c.Key)
	if err != nil {
		return nil, err
	}
	var l e2ee.Layout
	if c.Whole == 0 {
		for _, p := range c.Parts {
			l = append(l, int(p))
		}
	}
	return k.SealLayout(plain, l)
}

func clipKey(seq uint64, k *e2ee.SegmentKey, l e2ee.Layout) ClipKey {
	c := ClipKey{Seq: seq, Serial: k.Serial, Key: k.Bytes(), Parts: []uint64{}}
	if l == nil {
		c.Whole = 1
	}
	for _, n := range l {
		c.Parts = append(c.Parts, uint64(n))
	}
	return c
}
