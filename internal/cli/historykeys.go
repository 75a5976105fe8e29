package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/api/playconn"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/viewchain"
)

// camchain history-keys: the owner's client re-wraps the keys of a
// camera's past video to a new grantee (docs/SPEC.md §17.6).

func newHistoryKeysCmd(e *env) *cobra.Command {
	var camera, viewer string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "history-keys --camera CAMERA --viewer ADDRESS",
		Short: "Give a viewer the keys of an end-to-end encrypted camera's video from its grant's history-from time on",
		Long: `A grant with --history-from lets its viewer see what the camera recorded from
that time on. With end-to-end encryption the camera wraps to the viewer only
the keys it draws once the grant reaches it; this command gives the viewer the
keys of the time before, from history-from on, and nothing earlier: whole
periods by their content keys, the period that history-from cuts by the keys
of exactly its segments from then on. Your client opens the camera's
envelopes with your viewing key (from your wallet: --keystore,
--passphrase-file), re-wraps the keys with HPKE to the viewer's registered
viewing key, signs them with your wallet and uploads them; the hub stores
them and cannot open them.

It first waits (--wait) until the camera has drawn a key wrapped to the
viewer, so that nothing recorded in between is left out; then reads, through
verified playback, the sealed headers of the segments around history-from
(which key each is under comes from the camera's signed bytes, never from
the hub's word). Running it again adds only what is new.`,
		Args: noArgs,
	}
	hf := addHubFlags(cmd)
	ks := addKeystoreFlags(cmd)
	cmd.Flags().StringVar(&camera, "camera", "", "camera `ADDRESS`")
	cmd.Flags().StringVar(&viewer, "viewer", "", "the granted viewer's `ADDRESS`")
	cmd.Flags().DurationVar(&wait, "wait", 2*time.Minute, "how long to wait for the camera to draw a key wrapped to the viewer")
	cmd.RunE = func(_ *cobra.Command, _ []string) error {
		cam, err := parseAddrFlag("camera", camera)
		if err != nil {
			return err
		}
		v, err := parseAddrFlag("viewer", viewer)
		if err != nil {
			return err
		}
		c, ctx, cancel, err := hf.client()
		if err != nil {
			return err
		}
		defer cancel()
		r := &rewrap{e: e, c: c, cam: cam, viewer: v, own: &opener{e: e, ks: ks, c: c, camera: cam}}
		res, err := r.run(ctx, wait)
		if err != nil {
			return err
		}
		if hf.jsonOut {
			return e.printJSON(res)
		}
		fmt.Fprintf(e.stdout, "re-wrapped to %s: %d content key(s) whole, %d segment key(s) of the period history-from cuts, in %d envelope(s) (%d key(s) the hub held already)\n",
			v.Hex(), res.Content, res.Segments, res.Envelopes, res.Held)
		if res.Warning != "" {
			fmt.Fprintln(e.stdout, res.Warning)
		}
		return nil
	}
	return cmd
}

// rewrapResult is what history-keys did.
type rewrapResult struct {
	Camera    string `json:"camera"`
	Viewer    string `json:"viewer"`
	Epoch     uint64 `json:"epoch"`
	Content   int    `json:"content_keys"`
	Segments  int    `json:"segment_keys"`
	Held      int    `json:"already_held"`
	Envelopes int    `json:"envelopes"`
	Warning   string `json:"warning,omitempty"`
}

type rewrap struct {
	e      *env
	c      *api.Client
	cam    keys.Address
	viewer keys.Address
	own    *opener // the owner's viewing key on the camera's envelopes
}

func parseLedgerTime(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || t.Unix() < 0 {
		return 0, fmt.Errorf("ledger time %q: %v", s, err)
	}
	return uint64(t.Unix()), nil
}

func (r *rewrap) run(ctx context.Context, wait time.Duration) (*rewrapResult, error) {
	st, err := r.c.Status(ctx)
	if err != nil {
		return nil, err
	}
	hubAddr, err := keys.ParseAddress(st.HubAddress)
	if err != nil {
		return nil, fmt.Errorf("the hub's status names no valid hub address: %w", err)
	}
	d, err := r.c.Device(ctx, r.cam.Hex())
	if err != nil {
		return nil, err
	}
	ownerKey, err := r.own.viewingKey()
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(d.Owner, ownerKey.Account().Hex()) {
		return nil, fmt.Errorf("camera %s is owned by %s on the ledger, not by your wallet's %s", r.cam.Hex(), d.Owner, ownerKey.Account().Hex())
	}
	var grant *e2ee.HistoryGrant
	for _, g := range d.Grants {
		if strings.EqualFold(g.Viewer, r.viewer.Hex()) && g.Active {
			hf, err1 := parseLedgerTime(g.HistoryFrom)
			at, err2 := parseLedgerTime(g.GrantedAt)
			if err := errors.Join(err1, err2); err != nil {
				return nil, err
			}
			grant = &e2ee.HistoryGrant{HistoryFrom: hf, GrantedAt: at}
		}
	}
	if grant == nil {
		return nil, fmt.Errorf("%s holds no grant in force on camera %s: grant it first (camchain grant --history-from …)", r.viewer.Hex(), r.cam.Hex())
	}
	if grant.HistoryFrom >= uint64(time.Now().Unix()) {
		return nil, fmt.Errorf("%s's grant has no history-from before now: the camera wraps its keys to the viewer itself", r.viewer.Hex())
	}
	// The viewer's viewing key, as the viewer signed its registration.
	vkReg, err := r.c.ViewingKey(ctx, r.viewer.Hex())
	if err != nil {
		return nil, fmt.Errorf("%s's viewing key: %w (the viewer registers it: camchain wallet viewing-key --register)", r.viewer.Hex(), err)
	}
	raw, err := decodeHex(vkReg.Tx)
	if err != nil {
		return nil, err
	}
	vpub, err := tx.VerifyViewingKey(raw, r.viewer, st.EVMChainID)
	if err != nil {
		return nil, fmt.Errorf("%s's viewing key registration does not check out: %w", r.viewer.Hex(), err)
	}
	res := &rewrapResult{Camera: r.cam.Hex(), Viewer: r.viewer.Hex(), Epoch: d.Epoch}

	// Wait for the camera's own key to the viewer: the end of what the
	// owner must give.
	envs, err := r.envelopes(ctx, d.Epoch)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for !r.newestLists(envs) && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
		if envs, err = r.envelopes(ctx, d.Epoch); err != nil {
			return nil, err
		}
	}
	if !r.newestLists(envs) {
		res.Warning = "the camera has not drawn a key wrapped to the viewer yet: what it records until it does is not given; run this again once it has"
	}

	// The boundary: the highest key under which a segment may start
	// before history-from. Keys are drawn in time order, one counter for
	// both streams, so it is the key of the first segment that starts at
	// or after history-from on each stream, or of one before it that is
	// higher — each read from its verified sealed bytes.
	hfNanos := int64(grant.HistoryFrom) * 1e9
	type streamPlan struct {
		stream feedchain.Stream
		from   time.Time // where to read: the last segment before history-from, or the first
	}
	var plans []streamPlan
	for _, s := range []feedchain.Stream{feedchain.StreamMain, feedchain.StreamSub} {
		recs, err := hubRecords(ctx, r.c, r.cam, d.Epoch, s)
		if err != nil {
			return nil, err
		}
		if len(recs) == 0 {
			continue
		}
		p := streamPlan{stream: s, from: recs[0].StartTime()}
		for _, rec := range recs {
			if rec.Start < hfNanos {
				p.from = rec.StartTime()
			}
		}
		plans = append(plans, p)
	}
	var boundary uint64
	for _, p := range plans {
		err := r.play(ctx, hubAddr, p.stream, p.from, func(rec *feedchain.Record, h *e2ee.SealedHeader) (bool, error) {
			if h != nil {
				boundary = max(boundary, h.Serial)
			}
			return rec.Start < hfNanos, nil // up to the first from history-from on
		})
		if err != nil {
			return nil, err
		}
	}
	lists := map[uint64]bool{} // serials the camera wrapped to the viewer itself
	for _, e := range envs {
		lists[e.Serial] = slicesContainsFold(e.Recipients, r.viewer.Hex())
	}
	held, err := r.held(ctx, d.Epoch, *grant)
	if err != nil {
		return nil, err
	}
	var hk e2ee.HistoryKeys
	// The partial periods: the segment keys of exactly the segments from
	// history-from on under a key at or below the boundary.
	if boundary > 0 {
		for _, p := range plans {
			err := r.play(ctx, hubAddr, p.stream, p.from, func(rec *feedchain.Record, h *e2ee.SealedHeader) (bool, error) {
				if h == nil || rec.Start < hfNanos {
					return true, nil // in the clear, or before history-from
				}
				if h.Serial > boundary {
					return false, nil // a whole period from here on
				}
				item := e2ee.HistoryItem{Kind: e2ee.HistorySegmentKey, Serial: h.Serial, Stream: uint64(h.Stream), Seq: h.Seq}
				if lists[h.Serial] || held[item] {
					res.Held += btoi(held[item])
					return true, nil
				}
				ck, err := r.own.contentKey(ctx, h.Epoch, h.Serial)
				if err != nil {
					return false, err
				}
				sk, err := ck.Segment(h.Stream, h.Seq)
				if err != nil {
					return false, err
				}
				hk.Segments = append(hk.Segments, sk)
				return true, nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	// The whole periods: every key above the boundary not wrapped to the
	// viewer by the camera.
	for _, e := range envs {
		item := e2ee.HistoryItem{Kind: e2ee.HistoryContentKey, Serial: e.Serial}
		if e.Serial <= boundary || lists[e.Serial] {
			continue
		}
		if held[item] {
			res.Held++
			continue
		}
		ck, err := r.own.contentKey(ctx, d.Epoch, e.Serial)
		if err != nil {
			return nil, err
		}
		hk.Content = append(hk.Content, ck)
	}
	res.Content, res.Segments = len(hk.Content), len(hk.Segments)
	to := e2ee.Recipient{Account: r.viewer, Key: vpub}
	signer, err := r.e.loadSigner(*r.own.ks)
	if err != nil {
		return nil, err
	}
	for len(hk.Content)+len(hk.Segments) > 0 {
		var chunk e2ee.HistoryKeys
		n := min(len(hk.Content), e2ee.MaxHistoryItems)
		chunk.Content, hk.Content = hk.Content[:n], hk.Content[n:]
		m := min(len(hk.Segments), e2ee.MaxHistoryItems-n)
		chunk.Segments, hk.Segments = hk.Segments[:m], hk.Segments[m:]
		he, err := e2ee.NewHistory(r.cam, d.Epoch, to, *grant, chunk, signer)
		if err != nil {
			return nil, err
		}
		wire, err := he.Encode()
		if err != nil {
			return nil, err
		}
		if _, err := r.c.UploadHistory(ctx, r.cam.Hex(), wire); err != nil {
			return nil, fmt.Errorf("upload a history envelope of %d key(s): %w", len(he.Items), err)
		}
		res.Envelopes++
	}
	return res, nil
}

func slicesContainsFold(ss []string, s string) bool {
	for _, x := range ss {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// newestLists: the camera's newest envelope lists the viewer.
func (r *rewrap) newestLists(envs []api.Envelope) bool {
	return len(envs) > 0 && slicesContainsFold(envs[len(envs)-1].Recipients, r.viewer.Hex())
}

// envelopes lists the camera's envelopes of epoch (the hub's listing; each
// one used is fetched and checked as the camera's by the opener).
func (r *rewrap) envelopes(ctx context.Context, epoch uint64) ([]api.Envelope, error) {
	var out []api.Envelope
	from := uint64(0)
	for {
		l, err := r.c.Envelopes(ctx, r.cam.Hex(), epoch, from, 64)
		if err != nil {
			return nil, err
		}
		out = append(out, l.Items...)
		if l.Next == "" {
			return out, nil
		}
		next, err := strconv.ParseUint(l.Next, 10, 64)
		if err != nil || next <= from {
			return nil, fmt.Errorf("the hub's envelope paging is inconsistent (next %q)", l.Next)
		}
		from = next
	}
}

// held is what the hub holds for the viewer's grant already, by the
// items of the owner's own history envelopes (public: no key needed).
func (r *rewrap) held(ctx context.Context, epoch uint64, g e2ee.HistoryGrant) (map[e2ee.HistoryItem]bool, error) {
	l, err := r.c.HistoryEnvelopes(ctx, r.cam.Hex(), int64(epoch), r.viewer.Hex())
	if err != nil {
		return nil, err
	}
	owner := r.own.vk.Account()
	out := map[e2ee.HistoryItem]bool{}
	for _, it := range l.Items {
		raw, err := decodeHex(it.Envelope)
		if err != nil {
			continue
		}
		he, err := e2ee.DecodeHistory(raw, r.cam, owner)
		if err != nil || he.Recipient != r.viewer || he.Grant != g {
			continue
		}
		for _, item := range he.Items {
			out[item] = true
		}
	}
	return out, nil
}

// play reads the camera's recorded segments of stream from `from` on
// through verified playback (SPEC §15: each segment checked against its
// record, the records against the camera's signature and chain), and calls
// fn with each record and its sealed header (nil for a segment in the
// clear) until fn says stop or the recording ends.
func (r *rewrap) play(ctx context.Context, hubAddr keys.Address, stream feedchain.Stream, from time.Time, fn func(*feedchain.Record, *e2ee.SealedHeader) (bool, error)) error {
	nonce, err := viewchain.NewNonce()
	if err != nil {
		return err
	}
	p, err := playconn.Dial(ctx, r.c, r.cam.Hex(), api.PlayOptions{Stream: stream.String(), From: from, To: time.Now(),
		Nonce: nonce.String(), Epoch: -1, MaxFrame: viewchain.MaxFrame})
	if err != nil {
		return fmt.Errorf("open the %s stream's recordings: %w", stream, err)
	}
	defer p.Close()
	if p.Start.Nonce != nonce.String() || p.Start.Camera != r.cam.Hex() || p.Start.Hub != hubAddr.Hex() {
		return fmt.Errorf("the hub's start message does not answer our request")
	}
	v := viewchain.NewVerifier(hubAddr, r.cam, nonce, stream)
	for {
		m, err := p.Next(ctx)
		if errors.Is(err, api.ErrPlayEnded) {
			return nil
		}
		if err != nil {
			return err
		}
		if m.Codec != nil {
			continue
		}
		fr, err := viewchain.DecodeFrame(m.Frame)
		if err != nil {
			return &viewchain.BreakError{Break: viewchain.BreakMalformed, Detail: err.Error()}
		}
		var ck *viewchain.Checked
		switch fr.Type {
		case viewchain.FrameEnd:
			if err := v.End(fr.Link); err != nil {
				return err
			}
			continue
		case viewchain.FrameSegment:
			if ck, err = v.Segment(fr.Link, fr.Record, fr.Data); err != nil {
				return err
			}
		default:
			return fmt.Errorf("the hub sent a frame of type %d in a recorded range", fr.Type)
		}
		var h *e2ee.SealedHeader
		if e2ee.IsSealed(fr.Data) {
			if h, err = e2ee.ParseSealedHeader(fr.Data); err != nil {
				return err
			}
			if h.Camera != r.cam || h.Stream != stream || h.Seq != ck.Record.Seq {
				return fmt.Errorf("segment #%d's sealed header names camera %s stream %d seq %d", ck.Record.Seq, h.Camera.Hex(), h.Stream, h.Seq)
			}
		}
		more, err := fn(ck.Record, h)
		if err != nil || !more {
			return err
		}
	}
}
