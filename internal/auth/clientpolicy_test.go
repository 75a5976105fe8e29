package auth

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/keys"
)

// policyFixture is a service whose key's address is under the approval
// policy while strict is set.
func policyFixture(t *testing.T) (*fixture, *atomic.Bool) {
	var strict atomic.Bool
	var owner keys.Address
	f := newFixture(t, func(c *Config) {
		c.Policy = func(a keys.Address) (bool, error) { return a == owner && strict.Load(), nil }
	})
	owner = f.key.Address()
	return f, &strict
}

func (f *fixture) wallet(cid signin.ClientID, head signin.Head, resources ...string) (*Grant, error) {
	m := f.message(f.key.Address(), f.nonce())
	m.Resources = resources
	msg := m.String()
	return f.login(msg, sign(f.t, f.key, msg), cid, head)
}

// Under the approval policy a new client's wallet login gives no access
// until an enrolled client approves it; then it renews into a session.
func TestApprovalPolicy(t *testing.T) {
	f, strict := policyFixture(t)
	first := f.enroll() // enrolled before the policy: stays in
	strict.Store(true)
	cid := f.newClient()
	g, err := f.wallet(cid, signin.Head{})
	if err != nil {
		t.Fatal(err)
	}
	if !g.Pending || g.AccessToken != "" || !g.Enrolled || g.Head.IsZero() {
		t.Fatalf("new client under the policy: %+v, want pending with no token", g)
	}
	if !f.hasEvent(EventPending) {
		t.Fatal("no client-pending event")
	}
	// Pending: it cannot renew into a token, nor log in again into one.
	if _, err := f.svc.Renew(RenewRequest{Client: cid, Head: g.Head, Renewal: g.Renewal}, testIP); !errors.Is(err, ErrPendingApproval) {
		t.Fatalf("renew while pending: %v", err)
	}
	g2, err := f.wallet(cid, g.Head)
	if err != nil || !g2.Pending || g2.AccessToken != "" {
		t.Fatalf("second wallet login while pending: %+v, %v", g2, err)
	}
	// A client cannot approve itself; a pending one cannot approve; one of
	// another address cannot either.
	if err := f.svc.ApproveClient(Session{Address: f.key.Address(), Client: cid}, cid); !errors.Is(err, ErrSelfApproval) {
		t.Fatalf("self-approval: %v", err)
	}
	other := f.newClient()
	if g, _ := f.wallet(other, signin.Head{}); !g.Pending {
		t.Fatal("second new client not pending")
	}
	if err := f.svc.ApproveClient(Session{Address: f.key.Address(), Client: other}, cid); !errors.Is(err, ErrNotApprover) {
		t.Fatalf("a pending client approves: %v", err)
	}
	stranger, _ := keys.Generate()
	if err := f.svc.ApproveClient(Session{Address: stranger.Address(), Client: first.Client}, cid); !errors.Is(err, ErrNotApprover) {
		t.Fatalf("another address's session approves: %v", err)
	}
	if f.hasEvent(EventApproved) {
		t.Fatal("a refused approval raised client-approved")
	}
	// The enrolled client approves: now the pending one renews into a
	// session and its tokens work.
	if err := f.svc.ApproveClient(Session{Address: f.key.Address(), Client: first.Client}, cid); err != nil {
		t.Fatal(err)
	}
	if !f.hasEvent(EventApproved) {
		t.Fatal("no client-approved event")
	}
	if err := f.svc.ApproveClient(Session{Address: f.key.Address(), Client: first.Client}, cid); !errors.Is(err, ErrNotPending) {
		t.Fatalf("approving twice: %v", err)
	}
	r, err := f.svc.Renew(RenewRequest{Client: cid, Head: g2.Head, Renewal: g2.Renewal}, testIP)
	if err != nil || r.AccessToken == "" || r.Pending {
		t.Fatalf("renew after approval: %+v, %v", r, err)
	}
	if _, err := f.svc.Authenticate(r.AccessToken); err != nil {
		t.Fatalf("token after approval: %v", err)
	}
	// The policy lifted, a pending client gets in with the wallet.
	strict.Store(false)
	g3, err := f.wallet(other, f.head(other))
	if err != nil || g3.Pending || g3.AccessToken == "" {
		t.Fatalf("pending client once the policy is lifted: %+v, %v", g3, err)
	}
}

// The wallet-signed override lets an owner who lost every client in,
// revokes every other client, and raises the login-override alarm.
func TestApprovalOverride(t *testing.T) {
	f, strict := policyFixture(t)
	lost := f.enroll()
	strict.Store(true)
	if f.hasEvent(EventOverride) {
		t.Fatal("override event before any override")
	}
	cid := f.newClient()
	g, err := f.wallet(cid, signin.Head{}, OverrideResource)
	if err != nil || g.Pending || g.AccessToken == "" {
		t.Fatalf("override login: %+v, %v", g, err)
	}
	if !f.hasEvent(EventOverride) {
		t.Fatal("no login-override alarm")
	}
	if _, err := f.svc.Authenticate(lost.AccessToken); !errors.Is(err, ErrClientRevoked) {
		t.Fatalf("the lost client's token after the override: %v", err)
	}
	var info ClientInfo
	for _, c := range f.svc.Clients().List(f.key.Address()) {
		if c.ID == cid {
			info = c
		}
	}
	if info.Override == 0 || info.Pending {
		t.Fatalf("override client info %+v", info)
	}
	// The resource without the policy does nothing special.
	strict.Store(false)
	f2, _ := policyFixture(t)
	keep := f2.enroll()
	if g, err := f2.wallet(f2.newClient(), signin.Head{}, OverrideResource); err != nil || g.Pending {
		t.Fatalf("override resource without the policy: %+v, %v", g, err)
	}
	if _, err := f2.svc.Authenticate(keep.AccessToken); err != nil || f2.hasEvent(EventOverride) {
		t.Fatalf("the resource alone revoked clients or alarmed: %v", err)
	}
}

func (f *fixture) head(cid signin.ClientID) signin.Head {
	for _, c := range f.svc.Clients().List(f.key.Address()) {
		if c.ID == cid {
			return c.Head
		}
	}
	f.t.Fatalf("no client %s", cid)
	return signin.Head{}
}

// The device flow is a wallet login too: under the approval policy the
// browser it logs in waits for an enrolled client's approval.
func TestDeviceFlowUnderApprovalPolicy(t *testing.T) {
	f, strict := policyFixture(t)
	first := f.enroll()
	strict.Store(true)
	dc, cid := f.deviceStart(keys.Address{})
	msg, sig := f.approval(dc.Code, f.key)
	if _, err := f.svc.DeviceApprove(dc.Code, msg, sig, testIP); err != nil {
		t.Fatal(err)
	}
	g, err := f.svc.DevicePoll(dc.Request, dc.Secret, testIP)
	if err != nil || !g.Pending || g.AccessToken != "" {
		t.Fatalf("device session under the policy: %+v, %v", g, err)
	}
	if err := f.svc.ApproveClient(Session{Address: f.key.Address(), Client: first.Client}, cid); err != nil {
		t.Fatal(err)
	}
	r, err := f.svc.Renew(RenewRequest{Client: cid, Head: g.Head, Renewal: g.Renewal}, testIP)
	if err != nil || r.AccessToken == "" {
		t.Fatalf("device client after approval: %+v, %v", r, err)
	}
}
