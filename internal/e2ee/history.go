package e2ee

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"

	"github.com/camchain/camchain/internal/canon"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// History is a history envelope (docs/SPEC.md §17.6): the keys of a
// camera's past video that a new grantee may see — whole periods by their
// content keys, a partial period by its segment keys — re-wrapped by the
// owner's client to the grantee's viewing key and signed by the owner's
// wallet. The camera is not involved; the hub stores and serves history
// envelopes and can open none, nor make one the owner did not sign.
//
// Wire form, canonical CBOR:
//
//	[version, camera, epoch, owner, recipient, keyID, grant, items, sealed, signature]
//	grant     = [historyFrom, grantedAt]     the ledger's grant it serves (Unix seconds)
//	items     = [[kind, serial, stream, seq], …]   1 to MaxHistoryItems, ascending, distinct
//	            kind 0: the content key of serial (stream, seq 0); kind 1: the segment key of (serial, stream, seq)
//	sealed    = HPKE X-Wing/HKDF-SHA256/AES-256-GCM single-shot Seal of the items' 32-byte keys one
//	            after the other, info = labelHistoryInfo ‖ SHA-256(labelHistoryInfo ‖ CBOR(the first 8 fields))
//	signature = the owner's EIP-191 personal_sign of the 32-byte
//	            SHA-256(labelHistory ‖ CBOR(the first 9 fields)), the sealed keys included
type History struct {
	_         struct{} `cbor:",toarray"`
	Version   uint64
	Camera    keys.Address
	Epoch     uint64
	Owner     keys.Address
	Recipient keys.Address
	KeyID     KeyID
	Grant     HistoryGrant
	Items     []HistoryItem
	Sealed    []byte
	Signature []byte
}

// HistoryGrant names the ledger's grant a history envelope serves: its
// viewer is the envelope's recipient.
type HistoryGrant struct {
	_           struct{} `cbor:",toarray"`
	HistoryFrom uint64
	GrantedAt   uint64
}

// Kinds of history items.
const (
	HistoryContentKey uint64 = 0
	HistorySegmentKey uint64 = 1
)

// HistoryItem names one key of a history envelope.
type HistoryItem struct {
	_      struct{} `cbor:",toarray"`
	Kind   uint64
	Serial uint64
	Stream uint64
	Seq    uint64
}

func (a HistoryItem) compare(b HistoryItem) int {
	return cmp.Or(cmp.Compare(a.Serial, b.Serial), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Stream, b.Stream), cmp.Compare(a.Seq, b.Seq))
}

// historyHead is what the sealed keys' HPKE info binds: everything but
// the sealed keys and the signature.
type historyHead struct {
	_         struct{} `cbor:",toarray"`
	Version   uint64
	Camera    keys.Address
	Epoch     uint64
	Owner     keys.Address
	Recipient keys.Address
	KeyID     KeyID
	Grant     HistoryGrant
	Items     []HistoryItem
}

// historyBody is what the owner signs: everything but the signature, the
// sealed keys included (a hub that sealed keys of its own choosing to the
// grantee under the same head would otherwise pass).
type historyBody struct {
	_         struct{} `cbor:",toarray"`
	Version   uint64
	Camera    keys.Address
	Epoch     uint64
	Owner     keys.Address
	Recipient keys.Address
	KeyID     KeyID
	Grant     HistoryGrant
	Items     []HistoryItem
	Sealed    []byte
}

// Errors of history envelopes.
var ErrHistory = errors.New("malformed history envelope")

var histDec = canon.DecMode(4, MaxHistoryItems+1)

func labelled(label string, v any) ([32]byte, error) {
	body, err := envEnc.Marshal(v)
	if err != nil {
		return [32]byte{}, err
	}
	h := sha256.New()
	h.Write([]byte(label))
	h.Write(body)
	var d [32]byte
	h.Sum(d[:0])
	return d, nil
}

// info is the sealed keys' HPKE info: labelHistoryInfo ‖ SHA-256(labelHistoryInfo ‖ CBOR(head)).
func (e *History) info() ([]byte, error) {
	d, err := labelled(labelHistoryInfo, historyHead{Version: e.Version, Camera: e.Camera, Epoch: e.Epoch, Owner: e.Owner,
		Recipient: e.Recipient, KeyID: e.KeyID, Grant: e.Grant, Items: e.Items})
	return append([]byte(labelHistoryInfo), d[:]...), err
}

// digest is what the owner signs (EIP-191): SHA-256(labelHistory ‖ CBOR(body)).
func (e *History) digest() ([32]byte, error) {
	return labelled(labelHistory, historyBody{Version: e.Version, Camera: e.Camera, Epoch: e.Epoch, Owner: e.Owner,
		Recipient: e.Recipient, KeyID: e.KeyID, Grant: e.Grant, Items: e.Items, Sealed: e.Sealed})
}

// HistoryKeys are the keys an owner re-wraps: content keys whole, and
// segment keys of a partial period.
type HistoryKeys struct {
	Content  []*ContentKey
	Segments []*SegmentKey
}

// NewHistory re-wraps hk — keys of camera's epoch, which the owner opened
// from the camera's envelopes — to the grantee's viewing key, for the
// grant g, and signs the envelope with the owner's wallet key s.
func NewHistory(camera keys.Address, epoch uint64, grantee Recipient, g HistoryGrant, hk HistoryKeys, s keys.Signer) (*History, error) {
	type keyed struct {
		item HistoryItem
		key  []byte
	}
	var ks []keyed
	for _, c := range hk.Content {
		if c.Camera != camera || c.Epoch != epoch {
			return nil, fmt.Errorf("%w: content key %d is of camera %s epoch %d", ErrHistory, c.Serial, c.Camera.Hex(), c.Epoch)
		}
		ks = append(ks, keyed{HistoryItem{Kind: HistoryContentKey, Serial: c.Serial}, c.key[:]})
	}
	for _, sk := range hk.Segments {
		if sk.Camera != camera || sk.Epoch != epoch {
			return nil, fmt.Errorf("%w: segment key %d is of camera %s epoch %d", ErrHistory, sk.Seq, sk.Camera.Hex(), sk.Epoch)
		}
		ks = append(ks, keyed{HistoryItem{Kind: HistorySegmentKey, Serial: sk.Serial, Stream: uint64(sk.Stream), Seq: sk.Seq}, sk.key[:]})
	}
	if len(ks) == 0 || len(ks) > MaxHistoryItems {
		return nil, fmt.Errorf("%w: %d keys (1 to %d)", ErrHistory, len(ks), MaxHistoryItems)
	}
	slices.SortFunc(ks, func(a, b keyed) int { return a.item.compare(b.item) })
	e := &History{Version: HistoryVersion, Camera: camera, Epoch: epoch, Owner: s.Address(), Recipient: grantee.Account, KeyID: grantee.Key.ID(), Grant: g}
	plain := make([]byte, 0, len(ks)*KeySize)
	for i, k := range ks {
		if i > 0 && ks[i-1].item.compare(k.item) == 0 {
			return nil, fmt.Errorf("%w: key %+v twice", ErrHistory, k.item)
		}
		e.Items = append(e.Items, k.item)
		plain = append(plain, k.key...)
	}
	defer clear(plain)
	info, err := e.info()
	if err != nil {
		return nil, err
	}
	if e.Sealed, err = sealKeys(grantee.Key.pk, info, plain); err != nil {
		return nil, fmt.Errorf("wrap the keys to %s: %w", grantee.Account.Hex(), err)
	}
	d, err := e.digest()
	if err != nil {
		return nil, err
	}
	sig, err := keys.SignText(s, d[:])
	if err != nil {
		return nil, err
	}
	e.Signature = sig[:]
	return e, nil
}

// Encode returns the history envelope's wire bytes.
func (e *History) Encode() ([]byte, error) { return envEnc.Marshal(e) }

// DecodeHistory parses wire bytes strictly (canonical CBOR only, known
// version, 1 to MaxHistoryItems items, ascending and distinct, each kind
// known, a content key's stream and seq 0, a segment key's stream 0 or 1,
// the sealed keys of their exact size, a 65-byte signature), and checks
// that it is of camera and signed by owner — the owner the camera imprinted
// on, as the ledger has it, never an owner the envelope or the hub names.
func DecodeHistory(b []byte, camera, owner keys.Address) (*History, error) {
	if len(b) > MaxHistoryBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrHistory, len(b), MaxHistoryBytes)
	}
	var e History
	if err := histDec.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHistory, err)
	}
	if again, err := e.Encode(); err != nil || !bytes.Equal(again, b) {
		return nil, fmt.Errorf("%w: not in canonical form", ErrHistory)
	}
	switch {
	case e.Version != HistoryVersion:
		return nil, fmt.Errorf("%w: version %d", ErrHistory, e.Version)
	case len(e.Items) == 0 || len(e.Items) > MaxHistoryItems:
		return nil, fmt.Errorf("%w: %d items", ErrHistory, len(e.Items))
	case len(e.Sealed) != historyEncSize+len(e.Items)*KeySize+16:
		return nil, fmt.Errorf("%w: %d sealed bytes for %d keys", ErrHistory, len(e.Sealed), len(e.Items))
	case len(e.Signature) != keys.SignatureSize:
		return nil, fmt.Errorf("%w: signature of %d bytes", ErrHistory, len(e.Signature))
	}
	for i, it := range e.Items {
		switch {
		case it.Kind == HistoryContentKey && (it.Stream != 0 || it.Seq != 0):
			return nil, fmt.Errorf("%w: item %d, a content key, names a segment", ErrHistory, i)
		case it.Kind == HistorySegmentKey && it.Stream > uint64(feedchain.StreamSub):
			return nil, fmt.Errorf("%w: item %d of stream %d", ErrHistory, i, it.Stream)
		case it.Kind > HistorySegmentKey:
			return nil, fmt.Errorf("%w: item %d of kind %d", ErrHistory, i, it.Kind)
		case i > 0 && e.Items[i-1].compare(it) >= 0:
			return nil, fmt.Errorf("%w: items not in ascending order", ErrHistory)
		}
	}
	d, err := e.digest()
	if err != nil {
		return nil, err
	}
	var sig keys.Signature
	copy(sig[:], e.Signature)
	signer, err := keys.Recover(keys.TextDigest(d[:]), sig)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHistory, err)
	}
	if signer != owner || e.Owner != owner || e.Camera != camera {
		return nil, fmt.Errorf("%w: history envelope of camera %s naming owner %s, signed by %s; want camera %s's owner %s",
			keys.ErrBadSignature, e.Camera.Hex(), e.Owner.Hex(), signer.Hex(), camera.Hex(), owner.Hex())
	}
	return &e, nil
}

// OpenHistory opens e (decoded and verified by DecodeHistory) with the
// viewing key k: the content and segment keys it re-wraps. An envelope
// for another account or another of its viewing keys is ErrNotRecipient.
func (k *PrivateKey) OpenHistory(e *History) (*HistoryKeys, error) {
	if e.Recipient != k.account || e.KeyID != k.pub.ID() { // ids are public
		return nil, fmt.Errorf("%w (history envelope for %s, not %s)", ErrNotRecipient, e.Recipient.Hex(), k.account.Hex())
	}
	info, err := e.info()
	if err != nil {
		return nil, err
	}
	plain, err := openKeys(k.sk, info, e.Sealed)
	if err != nil || len(plain) != len(e.Items)*KeySize {
		return nil, fmt.Errorf("%w: its keys for %s do not open", ErrHistory, k.account.Hex())
	}
	defer clear(plain)
	hk := &HistoryKeys{}
	for i, it := range e.Items {
		kb := plain[i*KeySize : (i+1)*KeySize]
		if it.Kind == HistoryContentKey {
			ck := &ContentKey{Camera: e.Camera, Epoch: e.Epoch, Serial: it.Serial}
			copy(ck.key[:], kb)
			hk.Content = append(hk.Content, ck)
			continue
		}
		sk := &SegmentKey{Camera: e.Camera, Epoch: e.Epoch, Stream: feedchain.Stream(it.Stream), Seq: it.Seq, Serial: it.Serial}
		copy(sk.key[:], kb)
		hk.Segments = append(hk.Segments, sk)
	}
	return hk, nil
}
