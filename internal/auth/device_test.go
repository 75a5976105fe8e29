package auth

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/keys"
)

// deviceStart opens a device request as a browser at 192.0.2.7 would.
func (f *fixture) deviceStart(want keys.Address) (*DeviceCode, signin.ClientID) {
	f.t.Helper()
	cid, err := signin.NewClientID()
	if err != nil {
		f.t.Fatal(err)
	}
	dc, err := f.svc.DeviceStart(DeviceStart{Client: cid, Address: want, Origin: "http://127.0.0.1:8080",
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0\x00\u00e9", IP: netip.MustParseAddr("192.0.2.7")})
	if err != nil {
		f.t.Fatal(err)
	}
	return dc, cid
}

// approval is the approval of code that signer would sign now, built from
// what the approver is shown.
func (f *fixture) approval(code string, signer *keys.PrivateKey) (string, keys.Signature) {
	f.t.Helper()
	info, err := f.svc.DeviceLookup(code, testIP)
	if err != nil {
		f.t.Fatal(err)
	}
	a := info.Approval
	a.Address, a.IssuedAt = signer.Address(), f.clk.now().UTC().Format(time.RFC3339)
	return f.sign(a.String(), signer)
}

func (f *fixture) sign(text string, k *keys.PrivateKey) (string, keys.Signature) {
	f.t.Helper()
	sig, err := k.SignText([]byte(text))
	if err != nil {
		f.t.Fatal(err)
	}
	return text, sig
}

func TestDeviceFlowApproveThenCollectOnce(t *testing.T) {
	f := newFixture(t, nil)
	dc, cid := f.deviceStart(keys.Address{})
	if !strings.Contains(dc.Code, "-") || len(dc.Code) != 9 {
		t.Fatalf("code %q: want XXXX-XXXX", dc.Code)
	}
	info, err := f.svc.DeviceLookup(strings.ToLower(strings.ReplaceAll(dc.Code, "-", " ")), testIP)
	if err != nil {
		t.Fatalf("a code typed in lower case with a space: %v", err)
	}
	if info.Approval.DeviceIP.String() != "192.0.2.7" || info.Approval.DeviceAgent != "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0???" ||
		info.Approval.DeviceOrigin != "http://127.0.0.1:8080" || info.Approval.Hub != testOrigin {
		t.Errorf("what the approver is shown: %+v", info.Approval)
	}
	if _, err := f.svc.DevicePoll(dc.Request, dc.Secret, testIP); !errors.Is(err, ErrDevicePending) {
		t.Fatalf("poll before approval: %v, want pending", err)
	}
	msg, sig := f.approval(dc.Code, f.key)
	addr, err := f.svc.DeviceApprove(dc.Code, msg, sig, testIP)
	if err != nil || addr != f.key.Address() {
		t.Fatalf("approve: %v %v", addr, err)
	}
	// The approval again, verbatim: the request is spent.
	if _, err := f.svc.DeviceApprove(dc.Code, msg, sig, testIP); !errors.Is(err, ErrDeviceUsed) {
		t.Errorf("replayed approval: %v, want %v", err, ErrDeviceUsed)
	}
	var wrong DeviceSecret
	if _, err := f.svc.DevicePoll(dc.Request, wrong, testIP); !errors.Is(err, ErrDeviceUnknown) {
		t.Errorf("poll with a wrong secret (someone who read the code): %v", err)
	}
	g, err := f.svc.DevicePoll(dc.Request, dc.Secret, testIP)
	if err != nil || g.Address != f.key.Address() || g.Client != cid || !g.Enrolled {
		t.Fatalf("collect: %+v %v", g, err)
	}
	if s, err := f.svc.Authenticate(g.AccessToken); err != nil || s.Address != f.key.Address() {
		t.Fatalf("the collected token: %+v %v", s, err)
	}
	if _, err := f.svc.DevicePoll(dc.Request, dc.Secret, testIP); !errors.Is(err, ErrDeviceUsed) {
		t.Errorf("second collect: %v, want %v", err, ErrDeviceUsed)
	}
	// The device continues its chain with a renewal, like any client.
	if _, err := f.svc.Renew(RenewRequest{Client: cid, Head: g.Head, Renewal: g.Renewal}, testIP); err != nil {
		t.Errorf("renew the device's session: %v", err)
	}
}

func TestDeviceApprovalRefusals(t *testing.T) {
	f := newFixture(t, nil)
	other, _ := keys.Generate()
	for _, tc := range []struct {
		name string
		edit func(a *signin.Approval, dc *DeviceCode) (signer *keys.PrivateKey)
		want error
	}{
		{"another hub's origin", func(a *signin.Approval, _ *DeviceCode) *keys.PrivateKey { a.Hub = "https://other.example"; return nil }, signin.ErrApprovalOtherHub},
		{"another hub's address", func(a *signin.Approval, _ *DeviceCode) *keys.PrivateKey { a.HubAddress = other.Address(); return nil }, signin.ErrApprovalOtherHub},
		{"another chain", func(a *signin.Approval, _ *DeviceCode) *keys.PrivateKey { a.ChainID++; return nil }, signin.ErrApprovalOtherHub},
		{"another request", func(a *signin.Approval, _ *DeviceCode) *keys.PrivateKey { a.Request[0] ^= 1; return nil }, signin.ErrApprovalOtherCode},
		{"another device IP", func(a *signin.Approval, _ *DeviceCode) *keys.PrivateKey {
			a.DeviceIP = netip.MustParseAddr("198.51.100.1")
			return nil
		}, signin.ErrApprovalOtherCode},
		{"signed by another key", func(a *signin.Approval, _ *DeviceCode) *keys.PrivateKey { return other }, signin.ErrOtherSigner},
		{"stale", func(a *signin.Approval, _ *DeviceCode) *keys.PrivateKey {
			a.IssuedAt = f.clk.now().Add(-DeviceCodeTTL - time.Minute).UTC().Format(time.RFC3339)
			return nil
		}, signin.ErrExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dc, _ := f.deviceStart(keys.Address{})
			info, err := f.svc.DeviceLookup(dc.Code, testIP)
			if err != nil {
				t.Fatal(err)
			}
			a := info.Approval
			a.Address, a.IssuedAt = f.key.Address(), f.clk.now().UTC().Format(time.RFC3339)
			signer := tc.edit(&a, dc)
			if signer == nil {
				signer = f.key
			}
			msg, sig := f.sign(a.String(), signer)
			if _, err := f.svc.DeviceApprove(dc.Code, msg, sig, testIP); !errors.Is(err, tc.want) {
				t.Fatalf("%v, want %v", err, tc.want)
			}
			if _, err := f.svc.DevicePoll(dc.Request, dc.Secret, testIP); !errors.Is(err, ErrDevicePending) {
				t.Errorf("after a refused approval the device must still be pending: %v", err)
			}
		})
	}
	t.Run("approval of one code posted for another", func(t *testing.T) {
		dc1, _ := f.deviceStart(keys.Address{})
		dc2, _ := f.deviceStart(keys.Address{})
		msg, sig := f.approval(dc1.Code, f.key)
		if _, err := f.svc.DeviceApprove(dc2.Code, msg, sig, testIP); !errors.Is(err, signin.ErrApprovalOtherCode) {
			t.Fatalf("%v, want %v", err, signin.ErrApprovalOtherCode)
		}
	})
	t.Run("the device asked for another wallet", func(t *testing.T) {
		dc, _ := f.deviceStart(other.Address())
		msg, sig := f.approval(dc.Code, f.key)
		if _, err := f.svc.DeviceApprove(dc.Code, msg, sig, testIP); !errors.Is(err, signin.ErrApprovalOtherAddress) {
			t.Fatalf("%v, want %v", err, signin.ErrApprovalOtherAddress)
		}
	})
	t.Run("a sign-in message is not an approval", func(t *testing.T) {
		dc, _ := f.deviceStart(keys.Address{})
		m := f.message(f.key.Address(), f.nonce())
		msg, sig := f.sign(m.String(), f.key)
		if _, err := f.svc.DeviceApprove(dc.Code, msg, sig, testIP); !errors.Is(err, signin.ErrMalformed) {
			t.Fatalf("%v, want %v", err, signin.ErrMalformed)
		}
	})
	t.Run("an approval is not a sign-in message", func(t *testing.T) {
		dc, _ := f.deviceStart(keys.Address{})
		msg, sig := f.approval(dc.Code, f.key)
		cid, _ := signin.NewClientID()
		if _, err := f.svc.Login(LoginRequest{Message: msg, Signature: sig, Client: cid}, testIP); !errors.Is(err, signin.ErrMalformed) {
			t.Fatalf("%v, want %v", err, signin.ErrMalformed)
		}
	})
}

func TestDeviceCodeUnknownExpiredReused(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.svc.DeviceLookup("AAAA-AAAA", testIP); !errors.Is(err, ErrDeviceUnknown) {
		t.Errorf("a code never issued: %v", err)
	}
	if _, err := f.svc.DeviceLookup("AAAA-AAA0", testIP); !errors.Is(err, signin.ErrMalformed) {
		t.Errorf("a code with a 0: %v", err)
	}
	dc, _ := f.deviceStart(keys.Address{})
	msg, sig := f.approval(dc.Code, f.key)
	f.clk.add(DeviceCodeTTL)
	if _, err := f.svc.DeviceLookup(dc.Code, testIP); !errors.Is(err, ErrDeviceExpired) {
		t.Errorf("lookup of an expired code: %v", err)
	}
	if _, err := f.svc.DeviceApprove(dc.Code, msg, sig, testIP); !errors.Is(err, ErrDeviceExpired) {
		t.Errorf("approval of an expired code: %v", err)
	}
	if _, err := f.svc.DevicePoll(dc.Request, dc.Secret, testIP); !errors.Is(err, ErrDeviceExpired) {
		t.Errorf("poll of an expired code: %v", err)
	}
	// An approved session not collected in time is gone too.
	dc, _ = f.deviceStart(keys.Address{})
	msg, sig = f.approval(dc.Code, f.key)
	if _, err := f.svc.DeviceApprove(dc.Code, msg, sig, testIP); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.DeviceLookup(dc.Code, testIP); !errors.Is(err, ErrDeviceUsed) {
		t.Errorf("lookup of an approved code: %v", err)
	}
	f.clk.add(DeviceCodeTTL)
	if _, err := f.svc.DevicePoll(dc.Request, dc.Secret, testIP); !errors.Is(err, ErrDeviceExpired) {
		t.Errorf("late collect: %v", err)
	}
}

func TestDeviceCodesBoundedPerIP(t *testing.T) {
	f := newFixture(t, nil)
	cid, _ := signin.NewClientID()
	ip := netip.MustParseAddr("2001:db8::1")
	for i := range MaxDeviceRequestsPerIP + 1 {
		_, err := f.svc.DeviceStart(DeviceStart{Client: cid, IP: ip})
		if i < MaxDeviceRequestsPerIP && err != nil {
			t.Fatalf("code %d: %v", i, err)
		}
		if i == MaxDeviceRequestsPerIP && !errors.Is(err, ErrRateLimited) {
			t.Fatalf("code %d from one /64: %v, want %v", i, err, ErrRateLimited)
		}
	}
	f.clk.add(DeviceCodeTTL)
	if _, err := f.svc.DeviceStart(DeviceStart{Client: cid, IP: netip.MustParseAddr("2001:db8::2")}); err != nil {
		t.Errorf("after the codes expired: %v", err)
	}
}

func TestDeviceLookupRateLimited(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Limits = Limits{FailuresPerIP: 3, FailuresPerAddress: -1} })
	for range 3 {
		if _, err := f.svc.DeviceLookup("AAAA-AAAA", testIP); !errors.Is(err, ErrDeviceUnknown) {
			t.Fatal(err)
		}
	}
	dc, _ := f.deviceStart(keys.Address{})
	if _, err := f.svc.DeviceLookup(dc.Code, testIP); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("a guesser over the limit, even with a right code: %v", err)
	}
}

func TestTickets(t *testing.T) {
	f := newFixture(t, nil)
	g := f.enroll()
	sess, err := f.svc.Authenticate(g.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	tk, exp, err := f.svc.Ticket(sess)
	if err != nil || exp.Sub(f.clk.now()) != TicketTTL || len(tk) != 64 {
		t.Fatalf("ticket %q until %s: %v", tk, exp, err)
	}
	if got, err := f.svc.RedeemTicket(tk); err != nil || got.Address != sess.Address || got.Client != sess.Client {
		t.Fatalf("redeem: %+v %v", got, err)
	}
	if _, err := f.svc.RedeemTicket(tk); !errors.Is(err, ErrTicketReused) {
		t.Errorf("a ticket reused: %v, want %v", err, ErrTicketReused)
	}
	tk2, _, err := f.svc.Ticket(sess)
	if err != nil {
		t.Fatal(err)
	}
	f.clk.add(TicketTTL)
	if _, err := f.svc.RedeemTicket(tk2); !errors.Is(err, ErrTicketExpired) {
		t.Errorf("an expired ticket: %v, want %v", err, ErrTicketExpired)
	}
	if _, err := f.svc.RedeemTicket(strings.Repeat("ab", 32)); !errors.Is(err, ErrTicketUnknown) {
		t.Errorf("a ticket never issued: %v", err)
	}
	if _, err := f.svc.RedeemTicket("x"); !errors.Is(err, ErrTicketUnknown) {
		t.Errorf("garbage: %v", err)
	}
	tk3, _, err := f.svc.Ticket(sess)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Clients().Revoke(sess.Address, sess.Client, f.clk.now()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RedeemTicket(tk3); !errors.Is(err, ErrClientRevoked) {
		t.Errorf("a revoked client's ticket: %v, want %v", err, ErrClientRevoked)
	}
	busy := Session{Address: sess.Address, Client: f.newClient(), Expires: sess.Expires}
	for range maxTicketsPerClient {
		if _, _, err := f.svc.Ticket(busy); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := f.svc.Ticket(busy); !errors.Is(err, ErrBusy) {
		t.Errorf("tickets beyond the per-client bound: %v", err)
	}
}
