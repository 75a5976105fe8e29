package cli

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/keys"
)

// opener decrypts, on the viewer's machine, the sealed segments and parts
// of an end-to-end encrypted camera (docs/SPEC.md §17): each content key
// from its envelope on the hub, checked as the camera's and opened with
// the viewing key derived from the wallet (as `camchain wallet
// viewing-key` does), only when the first sealed bytes arrive — a camera
// in the clear needs no wallet.
type opener struct {
	e      *env
	ks     *keystoreFlags
	c      *api.Client
	camera keys.Address

	vk   *e2ee.PrivateKey
	keys map[[2]uint64]*e2ee.ContentKey // by epoch, serial

	// The owner's history envelopes for this viewer (SPEC §17.6), loaded
	// once per epoch when a content key is not wrapped to the viewer.
	history map[uint64]*historyRing
}

// historyRing is what the history envelopes of one epoch gave the viewer.
type historyRing struct {
	content  map[uint64]*e2ee.ContentKey    // by serial
	segments map[[3]uint64]*e2ee.SegmentKey // by serial, stream, seq
}

// errNotForYou: the content key is not wrapped to the caller's viewing key.
var errNotForYou = errors.New("not encrypted to your viewing key")

// open returns the plaintext of data, which is returned as it is when it
// is not sealed. whole: data is a whole segment (its parts, if it was
// recorded in parts, one after the other); else one part or a tail.
func (o *opener) open(ctx context.Context, data []byte, whole bool) ([]byte, error) {
	if !e2ee.IsSealed(data) {
		return data, nil
	}
	h, err := e2ee.ParseSealedHeader(data)
	if err != nil {
		return nil, err
	}
	if h.Camera != o.camera {
		return nil, fmt.Errorf("sealed data of camera %s in the stream of %s", h.Camera.Hex(), o.camera.Hex())
	}
	sk, err := o.segmentKey(ctx, h)
	if err != nil {
		return nil, err
	}
	if whole {
		return sk.OpenSegment(data)
	}
	return sk.Open(data)
}

// segmentKey is the key of the sealed segment h names: from its content
// key's envelope when that lists the viewer, else from the owner's history
// envelopes for the viewer — the content key of the serial, or the
// segment key of exactly this segment (SPEC §17.6).
func (o *opener) segmentKey(ctx context.Context, h *e2ee.SealedHeader) (*e2ee.SegmentKey, error) {
	ck, err := o.contentKey(ctx, h.Epoch, h.Serial)
	if err == nil {
		return ck.Segment(h.Stream, h.Seq)
	}
	if !errors.Is(err, errNotForYou) {
		return nil, err
	}
	ring, herr := o.historyOf(ctx, h.Epoch)
	if herr != nil {
		return nil, fmt.Errorf("%w; and the owner's history envelopes: %w", err, herr)
	}
	if ck := ring.content[h.Serial]; ck != nil {
		return ck.Segment(h.Stream, h.Seq)
	}
	if sk := ring.segments[[3]uint64{h.Serial, uint64(h.Stream), h.Seq}]; sk != nil {
		return sk, nil
	}
	return nil, fmt.Errorf("%w, nor re-wrapped to you by the owner for segment %d (before your grant's history-from, or not re-wrapped yet)", err, h.Seq)
}

func (o *opener) viewingKey() (*e2ee.PrivateKey, error) {
	if o.vk == nil {
		k, err := o.e.loadSigner(*o.ks)
		if err != nil {
			return nil, fmt.Errorf("the video is end-to-end encrypted; your viewing key comes from your wallet: %w", err)
		}
		if o.vk, err = e2ee.Derive(k); err != nil {
			return nil, err
		}
	}
	return o.vk, nil
}

// historyOf loads, once per epoch, the history envelopes the hub serves
// this viewer, each checked as signed by the camera's owner on the ledger
// and opened with the viewing key; one not for this viewer is skipped.
func (o *opener) historyOf(ctx context.Context, epoch uint64) (*historyRing, error) {
	if r := o.history[epoch]; r != nil {
		return r, nil
	}
	vk, err := o.viewingKey()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	d, err := o.c.Device(ctx, o.camera.Hex())
	if err != nil {
		return nil, err
	}
	owner, err := keys.ParseAddress(d.Owner)
	if err != nil || d.Epoch != epoch {
		return nil, fmt.Errorf("camera %s: owner %q in epoch %d, the video of epoch %d", o.camera.Hex(), d.Owner, d.Epoch, epoch)
	}
	l, err := o.c.HistoryEnvelopes(ctx, o.camera.Hex(), int64(epoch), vk.Account().Hex())
	if err != nil {
		return nil, err
	}
	r := &historyRing{content: map[uint64]*e2ee.ContentKey{}, segments: map[[3]uint64]*e2ee.SegmentKey{}}
	for _, item := range l.Items {
		raw, err := hex.DecodeString(strings.TrimPrefix(item.Envelope, "0x"))
		if err != nil {
			return nil, fmt.Errorf("the hub's history envelope %s: %w", item.Hash, err)
		}
		he, err := e2ee.DecodeHistory(raw, o.camera, owner) // the owner's signature, not the hub's word
		if err != nil {
			return nil, fmt.Errorf("the hub's history envelope %s: %w", item.Hash, err)
		}
		if he.Epoch != epoch {
			continue
		}
		hk, err := vk.OpenHistory(he)
		if errors.Is(err, e2ee.ErrNotRecipient) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, ck := range hk.Content {
			r.content[ck.Serial] = ck
		}
		for _, sk := range hk.Segments {
			r.segments[[3]uint64{sk.Serial, uint64(sk.Stream), sk.Seq}] = sk
		}
	}
	if o.history == nil {
		o.history = map[uint64]*historyRing{}
	}
	o.history[epoch] = r
	return r, nil
}

func (o *opener) contentKey(ctx context.Context, epoch, serial uint64) (*e2ee.ContentKey, error) {
	if ck, ok := o.keys[[2]uint64{epoch, serial}]; ok {
		return ck, nil
	}
	if _, err := o.viewingKey(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	l, err := o.c.Envelopes(ctx, o.camera.Hex(), epoch, serial, 1)
	if err != nil {
		return nil, fmt.Errorf("the envelope of content key %d: %w", serial, err)
	}
	if len(l.Items) == 0 || l.Items[0].Serial != serial {
		return nil, fmt.Errorf("the hub has no envelope of content key %d of camera %s epoch %d", serial, o.camera.Hex(), epoch)
	}
	raw, err := hex.DecodeString(strings.TrimPrefix(l.Items[0].Envelope, "0x"))
	if err != nil {
		return nil, fmt.Errorf("the hub's envelope %d: %w", serial, err)
	}
	env, err := e2ee.DecodeEnvelope(raw, o.camera) // the camera's signature, not the hub's word
	if err != nil {
		return nil, err
	}
	if env.Epoch != epoch || env.Serial != serial {
		return nil, fmt.Errorf("the hub answered envelope %d of epoch %d for %d of epoch %d", env.Serial, env.Epoch, serial, epoch)
	}
	ck, err := o.vk.Open(env)
	if errors.Is(err, e2ee.ErrNotRecipient) {
		return nil, fmt.Errorf("%w: content key %d of camera %s was wrapped to %d account(s), not to %s (recorded while you had no grant, or before your viewing key reached the camera)",
			errNotForYou, serial, o.camera.Hex(), len(env.Recipients), o.vk.Account().Hex())
	}
	if err != nil {
		return nil, err
	}
	if o.keys == nil {
		o.keys = map[[2]uint64]*e2ee.ContentKey{}
	}
	o.keys[[2]uint64{epoch, serial}] = ck
	return ck, nil
}

// openLayout decrypts a whole sealed segment for an export: its
// plaintext, its segment key and its layout (export.Decrypt).
func (o *opener) openLayout(ctx context.Context, sealed []byte) ([]byte, *e2ee.SegmentKey, e2ee.Layout, error) {
	h, err := e2ee.ParseSealedHeader(sealed)
	if err != nil {
		return nil, nil, nil, err
	}
	if h.Camera != o.camera {
		return nil, nil, nil, fmt.Errorf("sealed data of camera %s among the clips of %s", h.Camera.Hex(), o.camera.Hex())
	}
	sk, err := o.segmentKey(ctx, h)
	if err != nil {
		return nil, nil, nil, err
	}
	plain, l, err := sk.OpenLayout(sealed)
	return plain, sk, l, err
}
