package ledger

import (
	"testing"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// A hub's login batches: only its own key, in sequence, periods in order,
// no duplicates (docs/SPEC.md §11.7).
func TestLoginBatchRules(t *testing.T) {
	h := newHarness(t)
	hub, other := h.hubs[0], h.hubs[1]
	root := feedchain.Hash{7}
	start := uint64(h.now.Unix()) - 120
	batch := func(seq, from, to, size uint64) *tx.LoginBatch {
		return &tx.LoginBatch{Hub: hub.Address(), Seq: seq, PeriodStart: from, PeriodEnd: to, Size: size, Root: root,
			Nonce: tx.NewNonce(), Expiry: h.expiry()}
	}
	stranger := h.key()
	for _, tc := range []struct {
		name string
		code uint32
		raw  []byte
	}{
		{"signed by another hub", CodeUnauthorized, h.sign(batch(0, start, start+60, 3), other)},
		{"signed by a non-hub", CodeUnauthorized, h.sign(&tx.LoginBatch{Hub: stranger.Address(), PeriodStart: start, PeriodEnd: start + 60, Size: 1, Root: root, Nonce: 1, Expiry: h.expiry()}, stranger)},
		{"skips seq 0", CodeInvalid, h.sign(batch(1, start, start+60, 3), hub)},
		{"empty period", CodeInvalid, h.sign(batch(0, start, start, 3), hub)},
		{"period in the future", CodeFuture, h.sign(batch(0, start, uint64(h.now.Unix())+ClockSkew+60, 3), hub)},
		{"no records, nothing counted", CodeInvalid, h.sign(batch(0, start, start+60, 0), hub)},
		{"no records, root not the empty tree's", CodeInvalid, h.sign(&tx.LoginBatch{Hub: hub.Address(), PeriodStart: start, PeriodEnd: start + 60, Root: root, Unverified: 5, Nonce: 2, Expiry: h.expiry()}, hub)},
		{"zero root", CodeInvalid, h.sign(&tx.LoginBatch{Hub: hub.Address(), PeriodStart: start, PeriodEnd: start + 60, Size: 2, Nonce: 3, Expiry: h.expiry()}, hub)},
		{"over the size limit", CodeInvalid, h.sign(batch(0, start, start+60, MaxLoginBatchSize+1), hub)},
	} {
		if r := h.check(tc.raw); r.Code != tc.code {
			t.Errorf("%s: CheckTx %s (%s), want %s", tc.name, CodeName(r.Code), r.Log, CodeName(tc.code))
		}
		if r := h.block(tc.raw)[0]; r.Code != tc.code {
			t.Errorf("%s: block %s (%s), want %s", tc.name, CodeName(r.Code), r.Log, CodeName(tc.code))
		}
	}
	if hd, _ := h.app.LoginBatchHead(hub.Address()); hd.Batches != 0 {
		t.Fatalf("refused batches moved the head: %+v", hd)
	}
	b0 := batch(0, start, start+60, 3)
	h.want(CodeOK, h.sign(b0, hub))
	// The same batch again (new nonce): a duplicate.
	again := *b0
	again.Nonce = tx.NewNonce()
	h.want(CodeConflict, h.sign(&again, hub))
	// Batch 1 may not start before batch 0 ended.
	h.want(CodeInvalid, h.sign(batch(1, start+30, start+90, 1), hub))
	// Only unverified refusals: size 0 with the empty tree's root.
	b1 := &tx.LoginBatch{Hub: hub.Address(), Seq: 1, PeriodStart: start + 60, PeriodEnd: start + 120, Root: checkpoint.Root(nil),
		Unverified: 10000, Nonce: tx.NewNonce(), Expiry: h.expiry()}
	h.want(CodeOK, h.sign(b1, hub))
	// The other hub numbers its own batches from 0.
	h.want(CodeOK, h.sign(&tx.LoginBatch{Hub: other.Address(), PeriodStart: start, PeriodEnd: start + 60, Size: 1, Root: root,
		Nonce: tx.NewNonce(), Expiry: h.expiry()}, other))

	hd, err := h.app.LoginBatchHead(hub.Address())
	if err != nil || hd.Batches != 2 || hd.LastPeriodEnd != start+120 {
		t.Fatalf("head %+v, %v; want 2 batches ending at %d", hd, err, start+120)
	}
	rec, err := h.app.LoginBatch(hub.Address(), 0)
	if err != nil || rec == nil || rec.Msg.Root != root || rec.Msg.Size != 3 || rec.Height == 0 {
		t.Fatalf("batch 0: %+v, %v", rec, err)
	}
	if rec, _ := h.app.LoginBatch(hub.Address(), 2); rec != nil {
		t.Fatalf("batch 2 exists: %+v", rec)
	}
}

// The login policy: set by the account itself, which must own a camera;
// a viewer (who owns nothing) and anyone else are refused (§11.11).
func TestLoginPolicyRules(t *testing.T) {
	h := newHarness(t)
	owner, viewer := h.key(), h.key()
	cam := h.imprint(owner)
	h.want(CodeOK, h.sign(&tx.Grant{Camera: cam.Address(), Viewer: viewer.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner))

	policy := func(acct keys.Address, approval uint64) *tx.LoginPolicy {
		return &tx.LoginPolicy{Account: acct, Approval: approval, Nonce: tx.NewNonce(), Expiry: h.expiry()}
	}
	// A viewer cannot set the owner's policy, nor one of its own.
	if r := h.check(h.sign(policy(owner.Address(), tx.ApprovalRequired), viewer)); r.Code != CodeUnauthorized {
		t.Fatalf("viewer sets the owner's policy: %s %s", CodeName(r.Code), r.Log)
	}
	h.want(CodeUnauthorized, h.sign(policy(owner.Address(), tx.ApprovalRequired), viewer))
	h.want(CodeUnauthorized, h.sign(policy(viewer.Address(), tx.ApprovalRequired), viewer))
	h.want(CodeInvalid, h.sign(policy(owner.Address(), 2), owner))
	if p, _ := h.app.LoginPolicy(owner.Address()); p != nil {
		t.Fatalf("refused policies left a record: %+v", p)
	}
	h.want(CodeOK, h.sign(policy(owner.Address(), tx.ApprovalRequired), owner))
	p, err := h.app.LoginPolicy(owner.Address())
	if err != nil || !p.RequiresApproval() {
		t.Fatalf("policy %+v, %v; want approval required", p, err)
	}
	ev, _ := h.app.Events(EventFilter{Principal: owner.Address(), Limit: 1})
	if len(ev) != 1 || ev[0].Kind != audit.LoginPolicy || ev[0].Actor != owner.Address() {
		t.Fatalf("no login-policy event: %+v", ev)
	}
	// Released, the camera leaves its owner without one: no new policy.
	d := h.device(cam)
	h.want(CodeOK, h.sign(&tx.Release{Camera: cam.Address(), Epoch: d.Epoch, Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner))
	h.want(CodeUnauthorized, h.sign(policy(owner.Address(), tx.ApprovalWallet), owner))
	// An imprint and a policy in the check state, before any commit: the
	// check state sees the pending ownership.
	owner2 := h.key()
	cam2 := h.key()
	imp := h.sign(&tx.Imprint{Camera: cam2.Address(), Owner: owner2.Address(), Hub: h.hubs[0].Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner2, cam2)
	if r := h.check(imp); r.Code != CodeOK {
		t.Fatalf("imprint at CheckTx: %s", r.Log)
	}
	if r := h.check(h.sign(policy(owner2.Address(), tx.ApprovalRequired), owner2)); r.Code != CodeOK {
		t.Fatalf("policy after a pending imprint at CheckTx: %s %s", CodeName(r.Code), r.Log)
	}
}
