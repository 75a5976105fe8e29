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
	ck, err := o.contentKey(ctx, h.Epoch, h.Serial)
	if err != nil {
		return nil, err
	}
	sk, err := ck.Segment(h.Stream, h.Seq)
	if err != nil {
		return nil, err
	}
	if whole {
		return sk.OpenSegment(data)
	}
	return sk.Open(data)
}

func (o *opener) contentKey(ctx context.Context, epoch, serial uint64) (*e2ee.ContentKey, error) {
	if ck, ok := o.keys[[2]uint64{epoch, serial}]; ok {
		return ck, nil
	}
	if o.vk == nil {
		k, err := o.e.loadSigner(*o.ks)
		if err != nil {
			return nil, fmt.Errorf("the video is end-to-end encrypted; your viewing key comes from your wallet: %w", err)
		}
		if o.vk, err = e2ee.Derive(k); err != nil {
			return nil, err
		}
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
	ck, err := o.contentKey(ctx, h.Epoch, h.Serial)
	if err != nil {
		return nil, nil, nil, err
	}
	sk, err := ck.Segment(h.Stream, h.Seq)
	if err != nil {
		return nil, nil, nil, err
	}
	plain, l, err := sk.OpenLayout(sealed)
	return plain, sk, l, err
}
