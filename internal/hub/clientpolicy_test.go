package hub

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/auth"
	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/tx"
)

// waitEvent polls the caller's audit log until an event of kind appears.
func waitEvent(t *testing.T, ctx context.Context, c *api.Client, kind audit.Kind) api.Event {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		l, err := c.Audit(ctx, api.AuditQuery{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range l.Items {
			if e.Kind == string(kind) {
				return e
			}
		}
	}
	t.Fatalf("no %s event on the ledger", kind)
	return api.Event{}
}

// TestApprovalPolicyOnTheLedger: an owner's LoginPolicy (on the ledger)
// makes a new client wait for an enrolled client's approval; the approval
// and the wallet's override are both on the ledger's audit log, the
// override as an alarm that revokes every other client. A viewer cannot
// set the owner's policy.
func TestApprovalPolicyOnTheLedger(t *testing.T) {
	a := startAuthzHub(t, func(now uint64) *tx.Grant { return &tx.Grant{ValidUntil: now + 3600} })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	as := func(tok string) *api.Client {
		cl, _ := api.NewClient(a.base)
		return cl.WithCredentials(api.StaticToken(tok))
	}
	// A viewer (it owns nothing) can set neither the owner's policy nor one.
	for _, acct := range []*struct{ name string }{{"owner's"}, {"its own"}} {
		target := a.owner.Address()
		if acct.name == "its own" {
			target = a.viewer.Address()
		}
		s, _ := tx.Sign(a.chainID, &tx.LoginPolicy{Account: target, Approval: tx.ApprovalRequired, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, a.viewer)
		raw, _ := s.Encode()
		_, err := a.c.Submit(ctx, raw)
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Result == nil || ae.Result.Code != ledger.CodeUnauthorized {
			t.Fatalf("viewer sets %s login policy: %v", acct.name, err)
		}
	}
	if p, _ := a.h.node.App.LoginPolicy(a.owner.Address()); p != nil {
		t.Fatalf("a viewer's policy is on the ledger: %+v", p)
	}
	// The owner sets it. Its client from before the policy stays in.
	s, _ := tx.Sign(a.chainID, &tx.LoginPolicy{Account: a.owner.Address(), Approval: tx.ApprovalRequired, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, a.owner)
	raw, _ := s.Encode()
	if _, err := a.c.Submit(ctx, raw); err != nil {
		t.Fatal(err)
	}
	enrolled := as(a.ownerTok)
	if _, err := enrolled.Whoami(ctx); err != nil {
		t.Fatalf("the client enrolled before the policy: %v", err)
	}
	// A new client: pending, no token; its renewal is refused as pending.
	cid, _ := signin.NewClientID()
	pend, err := a.c.Login(ctx, a.owner.Address(), a.owner.SignText, cid, signin.Head{})
	if err != nil {
		t.Fatal(err)
	}
	if !pend.Pending || pend.AccessToken != "" {
		t.Fatalf("new client under the policy: %+v", pend)
	}
	if _, err := a.c.Renew(ctx, pend); api.CodeOf(err) != api.ErrPendingApproval {
		t.Fatalf("renew while pending: %v, want pending_approval", err)
	}
	waitEvent(t, ctx, enrolled, audit.ClientPending)
	// A client cannot approve itself; a stranger cannot approve it.
	if err := enrolled.ApproveClient(ctx, enrolled.Base()); api.CodeOf(err) != api.ErrBadRequest {
		t.Fatalf("approve a malformed id: %v", err)
	}
	who, _ := enrolled.Whoami(ctx)
	if err := enrolled.ApproveClient(ctx, who.Client); api.CodeOf(err) != api.ErrForbidden {
		t.Fatalf("a client approves itself: %v", err)
	}
	if err := as(a.strangerTok).ApproveClient(ctx, cid.String()); api.CodeOf(err) != api.ErrForbidden && api.CodeOf(err) != api.ErrNotFound {
		t.Fatalf("a stranger approves the owner's client: %v", err)
	}
	// The enrolled client approves: the pending one renews into a session.
	if err := enrolled.ApproveClient(ctx, cid.String()); err != nil {
		t.Fatal(err)
	}
	sess, err := a.c.Renew(ctx, pend)
	if err != nil || sess.AccessToken == "" {
		t.Fatalf("renew after approval: %+v, %v", sess, err)
	}
	if w, err := as(sess.AccessToken).Whoami(ctx); err != nil || w.Client != cid.String() {
		t.Fatalf("approved client's token: %+v, %v", w, err)
	}
	ev := waitEvent(t, ctx, enrolled, audit.ClientApproved)
	if ev.Subject != a.owner.Address().Hex() || ev.Source != "hub" {
		t.Fatalf("approval event %+v", ev)
	}
	// The override: a new client with the wallet alone, every other
	// client revoked, an alarm on the ledger.
	over, _ := signin.NewClientID()
	o, err := a.c.LoginWith(ctx, a.owner.Address(), a.owner.SignText, over, signin.Head{}, []string{auth.OverrideResource})
	if err != nil || o.Pending || o.AccessToken == "" {
		t.Fatalf("override login: %+v, %v", o, err)
	}
	for name, tok := range map[string]string{"the first client": a.ownerTok, "the approved client": sess.AccessToken} {
		if _, err := as(tok).Whoami(ctx); api.CodeOf(err) != api.ErrUnauthenticated {
			t.Fatalf("%s after the override: %v, want revoked", name, err)
		}
	}
	oc := as(o.AccessToken)
	alarm := waitEvent(t, ctx, oc, audit.LoginOverride)
	if alarm.Subject != a.owner.Address().Hex() {
		t.Fatalf("override alarm %+v", alarm)
	}
	l, err := oc.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range l {
		if (c.Client == over.String()) != (c.Revoked == "") || c.Client == over.String() && c.Override == "" {
			t.Fatalf("clients after the override: %+v", l)
		}
	}
}
