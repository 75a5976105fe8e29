package ledger

import (
	"bytes"
	"math"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

func TestImprint(t *testing.T) {
	h := newHarness(t)
	owner, cam, stranger := h.key(), h.key(), h.key()
	imp := func(o *keys.PrivateKey, signers ...*keys.PrivateKey) []byte {
		return h.sign(&tx.Imprint{Camera: cam.Address(), Owner: o.Address(), Hub: h.hubs[0].Address(),
			Nonce: tx.NewNonce(), Expiry: h.expiry()}, signers...)
	}

	// Without the camera's signature (someone else co-signs): refused.
	h.want(CodeUnauthorized, imp(owner, owner, stranger))
	// Owner field names someone who did not sign: refused.
	h.want(CodeUnauthorized, imp(owner, stranger, cam))
	// To a hub that is not registered: refused.
	h.want(CodeNotFound, h.sign(&tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Hub: stranger.Address(),
		Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner, cam))
	// A future epoch: refused.
	h.want(CodeWrongEpoch, h.sign(&tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Epoch: 1,
		Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner, cam))
	if d := h.device(cam); d != nil {
		t.Fatalf("refused imprints left a device record: %+v", d)
	}

	h.want(CodeOK, imp(owner, owner, cam))
	d := h.device(cam)
	if d.Owner != owner.Address() || d.Hub != h.hubs[0].Address() || d.Epoch != 0 {
		t.Fatalf("after imprint: %+v", d)
	}
	// The duckling has imprinted: a second owner, even with the camera's
	// co-signature, is refused while the camera has an owner.
	h.want(CodeConflict, imp(stranger, stranger, cam))
	if d := h.device(cam); d.Owner != owner.Address() {
		t.Fatalf("owner changed to %s", d.Owner.Hex())
	}
	devs, _ := h.app.DevicesOf(owner.Address())
	if len(devs) != 1 || devs[0].Camera != cam.Address() {
		t.Fatalf("DevicesOf(owner) = %+v", devs)
	}
}

func TestResetIsTheDucklingsDeath(t *testing.T) {
	h := newHarness(t)
	owner, viewer, next := h.key(), h.key(), h.key()
	cam := h.imprint(owner)
	h.want(CodeOK, h.sign(&tx.Grant{Camera: cam.Address(), Viewer: viewer.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner))
	// A grant signed now but submitted after the reset must not survive it.
	late := h.sign(&tx.Grant{Camera: cam.Address(), Viewer: next.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner)

	// A reset signed by anyone but the camera — the owner included — is refused.
	h.want(CodeUnauthorized, h.sign(&tx.Reset{Camera: cam.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner))
	h.want(CodeUnauthorized, h.sign(&tx.Reset{Camera: cam.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, viewer))
	if d := h.device(cam); d.Owner != owner.Address() || len(d.Grants) != 1 {
		t.Fatalf("refused reset changed the device: %+v", d)
	}
	// A reset for an epoch that is not the current one is refused.
	h.want(CodeWrongEpoch, h.sign(&tx.Reset{Camera: cam.Address(), Epoch: 5, Nonce: tx.NewNonce(), Expiry: h.expiry()}, cam))

	h.want(CodeOK, h.sign(&tx.Reset{Camera: cam.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, cam))
	d := h.device(cam)
	if d.Owned() || d.Hub != (keys.Address{}) || len(d.Grants) != 0 || d.Epoch != 1 {
		t.Fatalf("after reset: %+v", d)
	}
	devs, _ := h.app.DevicesOf(owner.Address())
	if len(devs) != 0 {
		t.Fatalf("old owner still lists %d devices", len(devs))
	}
	// Old grants died with the epoch.
	h.want(CodeConflict, late) // the camera has no owner now
	// Imprintable again, by anyone with physical access, in the new epoch.
	h.want(CodeWrongEpoch, h.sign(&tx.Imprint{Camera: cam.Address(), Owner: next.Address(), Epoch: 0, Nonce: tx.NewNonce(), Expiry: h.expiry()}, next, cam))
	h.want(CodeOK, h.sign(&tx.Imprint{Camera: cam.Address(), Owner: next.Address(), Epoch: 1, Nonce: tx.NewNonce(), Expiry: h.expiry()}, next, cam))
	// The old owner's epoch-0 actions are dead even though the camera is owned again.
	h.want(CodeUnauthorized, h.sign(&tx.Grant{Camera: cam.Address(), Epoch: 0, Viewer: viewer.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner))
	h.want(CodeWrongEpoch, h.sign(&tx.Grant{Camera: cam.Address(), Epoch: 0, Viewer: viewer.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, next))
	if d := h.device(cam); len(d.Grants) != 0 {
		t.Fatalf("grants survived the reset: %+v", d.Grants)
	}
	// Reset of a camera the ledger never saw.
	h.want(CodeNotFound, h.sign(&tx.Reset{Camera: viewer.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, viewer))
}

func TestReleaseAndTransferAreOwnerOnly(t *testing.T) {
	h := newHarness(t)
	owner, stranger, buyer, viewer := h.key(), h.key(), h.key(), h.key()
	cam := h.imprint(owner)
	c := cam.Address()

	h.want(CodeUnauthorized, h.sign(&tx.Release{Camera: c, Nonce: tx.NewNonce(), Expiry: h.expiry()}, stranger))
	h.want(CodeUnauthorized, h.sign(&tx.Release{Camera: c, Nonce: tx.NewNonce(), Expiry: h.expiry()}, cam))
	h.want(CodeUnauthorized, h.sign(&tx.Transfer{Camera: c, NewOwner: stranger.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, stranger))
	h.want(CodeInvalid, h.sign(&tx.Transfer{Camera: c, NewOwner: owner.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner))
	if d := h.device(cam); d.Owner != owner.Address() {
		t.Fatalf("owner changed by a refused action: %s", d.Owner.Hex())
	}

	h.want(CodeOK, h.sign(&tx.Grant{Camera: c, Viewer: viewer.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner))
	h.want(CodeOK, h.sign(&tx.Transfer{Camera: c, NewOwner: buyer.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner))
	d := h.device(cam)
	if d.Owner != buyer.Address() || len(d.Grants) != 0 || d.Hub != h.hubs[0].Address() {
		t.Fatalf("after transfer: %+v (grants must be cleared, hub kept)", d)
	}
	// The previous owner has no power left.
	h.want(CodeUnauthorized, h.sign(&tx.Grant{Camera: c, Viewer: viewer.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner))
	h.want(CodeUnauthorized, h.sign(&tx.Release{Camera: c, Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner))

	h.want(CodeOK, h.sign(&tx.Release{Camera: c, Nonce: tx.NewNonce(), Expiry: h.expiry()}, buyer))
	d = h.device(cam)
	if d.Owned() || d.Epoch != 1 || d.Hub != (keys.Address{}) {
		t.Fatalf("after release: %+v", d)
	}
	h.want(CodeConflict, h.sign(&tx.Release{Camera: c, Epoch: 1, Nonce: tx.NewNonce(), Expiry: h.expiry()}, buyer))
	h.want(CodeNotFound, h.sign(&tx.Release{Camera: stranger.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner))
}

func TestOneHubAtATime(t *testing.T) {
	h := newHarness(t)
	owner, stranger := h.key(), h.key()
	cam := h.imprint(owner) // bound to hub 0
	c := cam.Address()
	bind := func(hub keys.Address, by *keys.PrivateKey) []byte {
		return h.sign(&tx.BindHub{Camera: c, Hub: hub, Nonce: tx.NewNonce(), Expiry: h.expiry()}, by)
	}
	h.want(CodeConflict, bind(h.hubs[1].Address(), owner)) // bound elsewhere: unbind first
	h.want(CodeConflict, bind(h.hubs[0].Address(), owner)) // already bound there
	h.want(CodeUnauthorized, bind(keys.Address{}, stranger))
	if d := h.device(cam); d.Hub != h.hubs[0].Address() {
		t.Fatalf("hub changed by refused binds: %s", d.Hub.Hex())
	}
	h.want(CodeOK, bind(keys.Address{}, owner))
	h.want(CodeConflict, bind(keys.Address{}, owner)) // not bound
	h.want(CodeNotFound, bind(stranger.Address(), owner))
	h.want(CodeOK, bind(h.hubs[1].Address(), owner))
	if d := h.device(cam); d.Hub != h.hubs[1].Address() {
		t.Fatalf("hub = %s, want hub 1", d.Hub.Hex())
	}
}

func TestGrantAndRevoke(t *testing.T) {
	h := newHarness(t)
	owner, viewer, stranger := h.key(), h.key(), h.key()
	cam := h.imprint(owner)
	c := cam.Address()
	until := uint64(h.now.Unix()) + 3600
	g := func(by *keys.PrivateKey, v keys.Address, validUntil uint64) []byte {
		return h.sign(&tx.Grant{Camera: c, Viewer: v, ValidUntil: validUntil, HistoryFrom: 1700000000, Nonce: tx.NewNonce(), Expiry: h.expiry()}, by)
	}
	h.want(CodeUnauthorized, g(stranger, stranger.Address(), 0))
	h.want(CodeUnauthorized, g(viewer, viewer.Address(), 0))
	h.want(CodeInvalid, g(owner, owner.Address(), 0))
	h.want(CodeInvalid, g(owner, viewer.Address(), uint64(h.now.Unix())-10))
	h.want(CodeOK, g(owner, viewer.Address(), until))
	d := h.device(cam)
	if len(d.Grants) != 1 || d.Grants[0].Viewer != viewer.Address() || d.Grants[0].ValidUntil != until || d.Grants[0].HistoryFrom != 1700000000 {
		t.Fatalf("grants = %+v", d.Grants)
	}
	if !d.Grants[0].Active(until-1) || d.Grants[0].Active(until) {
		t.Fatal("grant activity does not follow ValidUntil")
	}
	rv := func(by *keys.PrivateKey, v keys.Address) []byte {
		return h.sign(&tx.Revoke{Camera: c, Viewer: v, Nonce: tx.NewNonce(), Expiry: h.expiry()}, by)
	}
	h.want(CodeUnauthorized, rv(viewer, viewer.Address()))
	h.want(CodeNotFound, rv(owner, stranger.Address()))
	h.want(CodeOK, rv(owner, viewer.Address()))
	if d := h.device(cam); len(d.Grants) != 0 {
		t.Fatalf("grant survived revoke: %+v", d.Grants)
	}
	h.want(CodeNotFound, rv(owner, viewer.Address()))
}

func TestCheckpointPolicy(t *testing.T) {
	h := newHarness(t)
	owner, stranger := h.key(), h.key()
	cam := h.imprint(owner)
	p := func(by *keys.PrivateKey, secs uint64) []byte {
		return h.sign(&tx.SetPolicy{Camera: cam.Address(), CheckpointPeriod: secs, Nonce: tx.NewNonce(), Expiry: h.expiry()}, by)
	}
	if d := h.device(cam); d.Period() != 86400 {
		t.Fatalf("default period = %d, want one day", d.Period())
	}
	h.want(CodeUnauthorized, p(stranger, 3600))
	h.want(CodeUnauthorized, p(cam, 3600))
	h.want(CodeInvalid, p(owner, 59))
	h.want(CodeInvalid, p(owner, 32*86400))
	h.want(CodeOK, p(owner, 600))
	if d := h.device(cam); d.Period() != 600 {
		t.Fatalf("period = %d, want 600", d.Period())
	}
}

func TestCheckpointRecords(t *testing.T) {
	h := newHarness(t)
	owner := h.key()
	cam := h.imprint(owner)
	end := uint64(h.now.Unix())
	// The camera's real tree over 20 records, and one whose record 5 —
	// inside the first checkpoint — was rewritten afterwards.
	tree, forged := checkpoint.NewTree(), checkpoint.NewTree()
	for i := 0; i < 20; i++ {
		tree.Append(feedchain.Hash{byte(i), 1})
		if i != 5 {
			forged.Append(feedchain.Hash{byte(i), 1})
		} else {
			forged.Append(feedchain.Hash{byte(i), 2})
		}
	}
	root := func(tr *checkpoint.Tree, size uint64) feedchain.Hash {
		r, err := tr.RootAt(size)
		if err != nil {
			t.Fatal(err)
		}
		return feedchain.Hash(r)
	}
	proof := func(tr *checkpoint.Tree, from, to uint64) []byte {
		p, err := tr.ConsistencyProof(from, to)
		if err != nil {
			t.Fatal(err)
		}
		return checkpoint.EncodeProof(p)
	}
	ckp := func(by *keys.PrivateKey, epoch, start, stop, first, last, size uint64, r feedchain.Hash, cons []byte) []byte {
		return h.sign(&tx.Checkpoint{Camera: cam.Address(), Epoch: epoch, PeriodStart: start, PeriodEnd: stop,
			FirstSeq: first, LastSeq: last, TreeSize: size, Root: r, ChainHead: feedchain.Hash{byte(last)},
			Consistency: cons, Nonce: tx.NewNonce(), Expiry: h.expiry()}, by)
	}
	ck := func(by *keys.PrivateKey, epoch, start, stop, first, last, size uint64) []byte {
		return ckp(by, epoch, start, stop, first, last, size, feedchain.Hash{byte(size)}, nil)
	}
	h.want(CodeUnauthorized, ck(owner, 0, end-600, end, 0, 9, 10)) // only the camera commits checkpoints
	h.want(CodeWrongEpoch, ck(cam, 1, end-600, end, 0, 9, 10))
	h.want(CodeInvalid, ck(cam, 0, end-600, end, 0, 9, 11))                                    // tree size ≠ last+1
	h.want(CodeInvalid, ck(cam, 0, end-600, end, 1, 9, 10))                                    // first checkpoint must start at 0
	h.want(CodeInvalid, ck(cam, 0, end, end-600, 0, 9, 10))                                    // inverted period
	h.want(CodeFuture, ck(cam, 0, end, end+3600, 0, 9, 10))                                    // period in the future
	h.want(CodeInvalid, ck(cam, 0, end-600, end, 0, math.MaxUint64, 0))                        // tree size would wrap to 0
	h.want(CodeInvalid, ckp(cam, 0, end-600, end, 0, 9, 10, root(tree, 10), make([]byte, 32))) // a first checkpoint has no proof
	h.want(CodeOK, ckp(cam, 0, end-600, end, 0, 9, 10, root(tree, 10), nil))
	h.want(CodeInvalid, ck(cam, 0, end, end+60, 0, 0, 1))          // cannot restart the log at 0
	h.want(CodeInvalid, ck(cam, 0, end, end+60, 11, 19, 20))       // gap: must start at 10
	h.want(CodeInvalid, ck(cam, 0, end-1200, end-600, 10, 19, 20)) // overlaps the previous period
	// History rewritten after the first checkpoint: no consistency proof
	// from the committed root can lead to the forged root.
	h.want(CodeInvalid, ckp(cam, 0, end, end+60, 10, 19, 20, root(forged, 20), proof(forged, 10, 20)))
	h.want(CodeInvalid, ckp(cam, 0, end, end+60, 10, 19, 20, root(forged, 20), proof(tree, 10, 20)))
	h.want(CodeInvalid, ckp(cam, 0, end, end+60, 10, 19, 20, root(tree, 20), nil))              // proof missing
	h.want(CodeEncoding, ckp(cam, 0, end, end+60, 10, 19, 20, root(tree, 20), []byte{1, 2, 3})) // not whole hashes
	h.want(CodeOK, ckp(cam, 0, end, end+60, 10, 19, 20, root(tree, 20), proof(tree, 10, 20)))
	recs, err := h.app.Checkpoints(cam.Address(), 0, 0, 100)
	if err != nil || len(recs) != 2 {
		t.Fatalf("Checkpoints = %d records, %v", len(recs), err)
	}
	if recs[1].Msg.FirstSeq != 10 || recs[1].PrevTreeLen != 10 || recs[1].Index != 1 || recs[1].Height == 0 || recs[1].Msg.Root != root(tree, 20) {
		t.Fatalf("second checkpoint record = %+v", recs[1])
	}
	// After a reset the camera is not owned: no checkpoints.
	h.want(CodeOK, h.sign(&tx.Reset{Camera: cam.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, cam))
	h.want(CodeConflict, ck(cam, 1, end+60, end+120, 0, 0, 1))
}

func TestAuditEvents(t *testing.T) {
	h := newHarness(t)
	owner, stranger := h.key(), h.key()
	cam := h.imprint(owner) // bound to hub 0
	hub0, hub1 := h.hubs[0], h.hubs[1]
	at := uint64(h.now.Unix())
	ev := func(by *keys.PrivateKey, hub, camera, actor keys.Address, kind audit.Kind) []byte {
		return h.sign(&tx.Audit{Hub: hub, Camera: camera, Kind: kind, Actor: actor, Detail: "from test", At: at,
			Nonce: tx.NewNonce(), Expiry: h.expiry()}, by)
	}
	none := keys.Address{}
	h.want(CodeUnauthorized, ev(stranger, stranger.Address(), none, owner.Address(), "hub/login"))        // not a hub
	h.want(CodeUnauthorized, ev(stranger, hub0.Address(), none, owner.Address(), "hub/login"))            // claims to be hub 0
	h.want(CodeUnauthorized, ev(hub1, hub1.Address(), cam.Address(), none, audit.ChainDivergence.Kind())) // not this camera's hub
	h.want(CodeOK, ev(hub0, hub0.Address(), none, owner.Address(), "hub/login"))
	h.want(CodeOK, ev(hub0, hub0.Address(), cam.Address(), none, audit.ChainDivergence.Kind()))

	mine, err := h.app.Events(EventFilter{Principal: owner.Address(), Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	kinds := []audit.Kind{}
	for _, e := range mine {
		kinds = append(kinds, e.Kind)
	}
	// Newest first: the camera's alarm (the owner's camera), the hub's
	// login event (about the owner), the ledger's imprint.
	if len(kinds) != 3 || kinds[0] != "camera/chain-divergence" || kinds[1] != "hub/login" || kinds[2] != audit.Imprint {
		t.Fatalf("owner's events = %v", kinds)
	}
	// Authors: the camera for its alarm, the hub for its own event, never
	// the principal a hub names.
	if mine[0].Actor != cam.Address() || mine[0].Hub != hub0.Address() || mine[0].Seq != 3 || mine[0].Height == 0 {
		t.Fatalf("alarm event = %+v", mine[0])
	}
	if mine[1].Actor != hub0.Address() || mine[1].Subject != owner.Address() {
		t.Fatalf("hub event: actor %s subject %s, want the hub and the owner", mine[1].Actor.Hex(), mine[1].Subject.Hex())
	}
	camEvents, _ := h.app.Events(EventFilter{Camera: cam.Address(), Limit: 100})
	if len(camEvents) != 2 { // imprint, alarm
		t.Fatalf("camera events = %d, want 2", len(camEvents))
	}
	older, _ := h.app.Events(EventFilter{Principal: owner.Address(), Before: mine[0].Seq, Limit: 1})
	if len(older) != 1 || older[0].Kind != "hub/login" {
		t.Fatalf("paging Before=%d: %+v", mine[0].Seq, older)
	}
	// A reset is reported to the owner it took the camera from.
	h.want(CodeOK, h.sign(&tx.Reset{Camera: cam.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, cam))
	mine, _ = h.app.Events(EventFilter{Principal: owner.Address(), Limit: 1})
	if len(mine) != 1 || mine[0].Kind != audit.Reset || mine[0].Owner != owner.Address() {
		t.Fatalf("owner does not see the reset: %+v", mine)
	}
}

// A registered hub cannot write the ledger's own entries, cannot pass an
// event off as someone else's, and a camera alarm cannot pose as an owner
// action (issue 8, finding 4).
func TestAuditEventsCannotBeSpoofed(t *testing.T) {
	h := newHarness(t)
	owner, victim := h.key(), h.key()
	cam := h.imprint(owner)
	hub0 := h.hubs[0]
	at := uint64(h.now.Unix())
	ev := func(camera, actor keys.Address, kind audit.Kind) []byte {
		return h.sign(&tx.Audit{Hub: hub0.Address(), Camera: camera, Kind: kind, Actor: actor, Detail: "forged", At: at,
			Nonce: tx.NewNonce(), Expiry: h.expiry()}, hub0)
	}
	before, _ := h.app.Events(EventFilter{Limit: 100})
	for _, k := range []audit.Kind{audit.Reset, audit.Imprint, audit.Transfer, audit.Granted, "ledger/transfer", "hubs/reset"} {
		h.want(CodeEncoding, ev(cam.Address(), victim.Address(), k)) // the ledger's kinds are not fileable
	}
	// A camera alarm is the camera's: it names the camera and no one else.
	h.want(CodeInvalid, ev(cam.Address(), victim.Address(), "camera/transfer"))
	h.want(CodeInvalid, ev(keys.Address{}, keys.Address{}, "camera/transfer"))
	after, _ := h.app.Events(EventFilter{Limit: 100})
	if len(after) != len(before) {
		t.Fatalf("refused audit transactions wrote %d events", len(after)-len(before))
	}
	// What a camera says comes out namespaced and as the camera's.
	h.want(CodeOK, ev(cam.Address(), keys.Address{}, "camera/transfer"))
	got, _ := h.app.Events(EventFilter{Camera: cam.Address(), Limit: 1})
	if len(got) != 1 || got[0].Kind != "camera/transfer" || got[0].Kind.Source() != audit.SourceCamera || got[0].Actor != cam.Address() {
		t.Fatalf("camera alarm recorded as %+v", got)
	}
	// The victim named by a hub event sees it as the hub's word, not theirs.
	h.want(CodeOK, ev(keys.Address{}, victim.Address(), "hub/login"))
	got, _ = h.app.Events(EventFilter{Principal: victim.Address(), Limit: 1})
	if len(got) != 1 || got[0].Actor != hub0.Address() || got[0].Subject != victim.Address() || got[0].Kind.Source() != audit.SourceHub {
		t.Fatalf("hub event about the victim recorded as %+v", got)
	}
}

func TestCommonRefusals(t *testing.T) {
	h := newHarness(t)
	owner, other := h.key(), h.key()
	cam := h.imprint(owner)
	c := cam.Address()
	grant := func(nonce, expiry uint64) *tx.Grant {
		return &tx.Grant{Camera: c, Viewer: h.key().Address(), Nonce: nonce, Expiry: expiry}
	}

	good := h.sign(grant(42, h.expiry()), owner)
	h.want(CodeOK, good)
	// The same bytes again, and another message with the same nonce: replay.
	h.want(CodeReplay, good)
	h.want(CodeReplay, h.sign(&tx.SetPolicy{Camera: c, CheckpointPeriod: 3600, Nonce: 42, Expiry: h.expiry()}, owner))
	// Another signer's nonce space is its own.
	h.want(CodeUnauthorized, h.sign(grant(42, h.expiry()), other))

	// A refused transaction still spends its nonce: it can never be replayed
	// into success later.
	refused := h.sign(&tx.BindHub{Camera: c, Hub: h.hubs[1].Address(), Nonce: 7, Expiry: h.expiry()}, owner)
	h.want(CodeConflict, refused)                                                                   // bound to hub 0
	h.want(CodeOK, h.sign(&tx.BindHub{Camera: c, Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner)) // unbind
	h.want(CodeReplay, refused)

	h.want(CodeWrongChain, h.signFor(4243, grant(tx.NewNonce(), h.expiry()), owner))
	h.want(CodeExpired, h.sign(grant(tx.NewNonce(), uint64(h.now.Unix())), owner))
	h.want(CodeExpiryTooFar, h.sign(grant(tx.NewNonce(), uint64(h.now.Unix())+uint64(tx.MaxTTL.Seconds())+60), owner))

	// A signature whose r is zero cannot be valid.
	bad := h.sign(grant(tx.NewNonce(), h.expiry()), owner)
	sigAt := bytes.Index(bad, []byte{0x58, 0x41}) + 2 // byte string of 65
	zeroR := append([]byte(nil), bad...)
	copy(zeroR[sigAt:sigAt+32], make([]byte, 32))
	h.want(CodeBadSignature, zeroR)
	// A flipped bit in s recovers someone else: not the owner.
	flipped := append([]byte(nil), bad...)
	flipped[sigAt+40] ^= 1
	if r := h.block(flipped)[0]; r.Code != CodeUnauthorized && r.Code != CodeBadSignature {
		t.Fatalf("flipped signature: code %s", CodeName(r.Code))
	}

	env := func(version uint64, typ string, body []byte) []byte {
		b, err := stateEnc.Marshal([]any{version, uint64(testChainID), typ, cbor.RawMessage(body), [][]byte{make([]byte, 65)}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	body, _ := stateEnc.Marshal(&tx.Reset{Camera: c, Nonce: 1, Expiry: h.expiry()})
	h.want(CodeUnknownType, env(1, "Mint", body))
	h.want(CodeVersion, env(9, "Reset", body))
	h.want(CodeEncoding, []byte("not cbor at all"))
	h.want(CodeEncoding, append(good, 0))

	// None of that changed the device.
	if d := h.device(cam); d.Owner != owner.Address() || len(d.Grants) != 1 {
		t.Fatalf("device after refusals: %+v", d)
	}
}

// TestDomainV2 is the browser wallet's domain (SPEC §2.1): the ledger
// accepts a grant, a policy and a revoke signed in domain v2 beside v1,
// and refuses a v2 signature made for another ledger's salt or carried
// under the v1 envelope version (it recovers to someone else).
func TestDomainV2(t *testing.T) {
	h := newHarness(t)
	owner, viewer := h.key(), h.key()
	cam := h.imprint(owner)
	v2 := func(chain uint64, m tx.Msg) []byte {
		s, err := tx.SignIn(tx.DomainV2, chain, m, owner)
		if err != nil {
			t.Fatal(err)
		}
		s.EVMChainID = h.app.EVMChainID() // the envelope names this ledger either way
		raw, _ := s.Encode()
		return raw
	}
	grant := func() *tx.Grant {
		return &tx.Grant{Camera: cam.Address(), Viewer: viewer.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}
	}
	// Signed for another ledger (another salt): refused, nothing granted.
	h.want(CodeUnauthorized, v2(h.app.EVMChainID()+1, grant()))
	// A v2 signature relabelled as v1: refused.
	raw := v2(h.app.EVMChainID(), grant())
	relabelled := append([]byte(nil), raw...)
	relabelled[1] = byte(tx.DomainV1)
	h.want(CodeUnauthorized, relabelled)
	if d := h.device(cam); len(d.Grants) != 0 {
		t.Fatalf("refused grants left %+v", d.Grants)
	}
	h.want(CodeOK, raw)
	h.want(CodeOK, v2(h.app.EVMChainID(), &tx.SetPolicy{Camera: cam.Address(), CheckpointPeriod: 600, Nonce: tx.NewNonce(), Expiry: h.expiry()}))
	if d := h.device(cam); len(d.Grants) != 1 || d.Grants[0].Viewer != viewer.Address() || d.Period() != 600 {
		t.Fatalf("after v2 grant and policy: %+v", d)
	}
	h.want(CodeOK, v2(h.app.EVMChainID(), &tx.Revoke{Camera: cam.Address(), Viewer: viewer.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}))
	if d := h.device(cam); len(d.Grants) != 0 && d.Grants[0].Active(uint64(h.now.Unix())) {
		t.Fatalf("after v2 revoke the grant is still active: %+v", d.Grants)
	}
}
