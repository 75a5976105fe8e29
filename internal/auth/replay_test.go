package auth

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/keys"
)

// A hub killed before its registry was written forgets no head advance:
// the login log has them all and is replayed on start. A revocation is
// written at once, so a crash cannot undo it either.
func TestRegistryRecoversFromTheLoginLog(t *testing.T) {
	dir := t.TempDir()
	open := func() *fixture {
		log := mustOpenLog(t, filepath.Join(dir, "logins"), uint64(t0.Unix()))
		f := &fixture{t: t, clk: &clock{t: t0}}
		var err error
		f.svc, err = New(Config{Origin: testOrigin, ChainID: testChain, Now: f.clk.now, Log: log,
			Limits:      Limits{FailuresPerIP: -1, FailuresPerAddress: -1},
			ClientsPath: filepath.Join(dir, "clients.json"), KeyringPath: filepath.Join(dir, "keys.json")})
		if err != nil {
			t.Fatal(err)
		}
		// No Start: the registry's flusher never runs, as if the hub died
		// within every FlushInterval.
		return f
	}
	a := open()
	var err error
	if a.key, err = keys.Generate(); err != nil {
		t.Fatal(err)
	}
	g := a.enroll()
	other := a.enroll()
	if err := a.svc.Clients().Revoke(a.key.Address(), other.Client, t0); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		a.clk.add(1)
		if g, err = a.svc.Renew(RenewRequest{Client: g.Client, Head: g.Head, Renewal: g.Renewal}, testIP); err != nil {
			t.Fatal(err)
		}
	}
	late := a.enroll() // enrolled after the last write of the registry
	// "Crash" and start again on the same files.
	b := open()
	b.key = a.key
	r, err := b.svc.Renew(RenewRequest{Client: g.Client, Head: g.Head, Renewal: g.Renewal}, testIP)
	if err != nil {
		t.Fatalf("renew with the last head after a crash: %v", err)
	}
	if _, err := b.svc.Authenticate(r.AccessToken); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Authenticate(other.AccessToken); !errors.Is(err, ErrClientRevoked) {
		t.Fatalf("the revoked client after a crash: %v", err)
	}
	lr, err := b.svc.Renew(RenewRequest{Client: late.Client, Head: late.Head, Renewal: late.Renewal}, testIP)
	if err != nil || lr.AccessToken == "" {
		t.Fatalf("a client enrolled just before the crash: %+v, %v", lr, err)
	}
	// An old head is still a clone after the replay.
	if _, err := b.svc.Renew(RenewRequest{Client: g.Client, Head: g.Head, Renewal: g.Renewal}, testIP); !errors.As(err, new(*CloneError)) {
		t.Fatalf("a stale head after the replay: %v", err)
	}
}

// Under the approval policy a pending client stays pending across a crash
// (the log does not say it was approved), and an approval, written at
// once, survives one.
func TestReplayKeepsPendingPending(t *testing.T) {
	dir := t.TempDir()
	owner, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	open := func() *fixture {
		log := mustOpenLog(t, filepath.Join(dir, "logins"), uint64(t0.Unix()))
		f := &fixture{t: t, clk: &clock{t: t0}, key: owner}
		f.svc, err = New(Config{Origin: testOrigin, ChainID: testChain, Now: f.clk.now, Log: log,
			Limits:      Limits{FailuresPerIP: -1, FailuresPerAddress: -1},
			Policy:      func(keys.Address) (bool, error) { return true, nil },
			ClientsPath: filepath.Join(dir, "clients.json"), KeyringPath: filepath.Join(dir, "keys.json")})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	a := open()
	// The first client: pending too (the policy holds from the start), so
	// let it in by the override.
	first, err := a.wallet(a.newClient(), signin.Head{}, OverrideResource)
	if err != nil || first.Pending {
		t.Fatalf("override: %+v, %v", first, err)
	}
	p1, _ := a.wallet(a.newClient(), signin.Head{})
	if err := a.svc.ApproveClient(Session{Address: owner.Address(), Client: first.Client}, p1.Client); err != nil {
		t.Fatal(err)
	}
	p2, _ := a.wallet(a.newClient(), signin.Head{}) // after the last write: only the log has it
	if !p1.Pending || !p2.Pending {
		t.Fatal("new clients not pending")
	}
	b := open()
	if _, err := b.svc.Renew(RenewRequest{Client: p1.Client, Head: p1.Head, Renewal: p1.Renewal}, testIP); err != nil {
		t.Fatalf("the approved client after a crash: %v", err)
	}
	if _, err := b.svc.Renew(RenewRequest{Client: p2.Client, Head: p2.Head, Renewal: p2.Renewal}, testIP); !errors.Is(err, ErrPendingApproval) {
		t.Fatalf("the pending client after a crash: %v", err)
	}
}

// The registry is written only every FlushInterval, so pruning the login
// log must write it first: a batch's records are what a crash would
// replay. Without that write (pruning the log directly, the contrast
// below) a client whose enrollment only the pruned batch held is unknown
// after a crash.
func TestPruneLogWritesTheRegistryFirst(t *testing.T) {
	for _, direct := range []bool{false, true} {
		dir := t.TempDir()
		owner, err := keys.Generate()
		if err != nil {
			t.Fatal(err)
		}
		open := func() (*fixture, *LoginLog) {
			log := mustOpenLog(t, filepath.Join(dir, "logins"), uint64(t0.Unix()))
			f := &fixture{t: t, clk: &clock{t: t0}, key: owner}
			f.svc, err = New(Config{Origin: testOrigin, ChainID: testChain, Now: f.clk.now, Log: log,
				Limits:      Limits{FailuresPerIP: -1, FailuresPerAddress: -1},
				ClientsPath: filepath.Join(dir, "clients.json"), KeyringPath: filepath.Join(dir, "keys.json")})
			if err != nil {
				t.Fatal(err)
			}
			return f, log // no Start: the flusher never runs
		}
		a, log := open()
		g := a.enroll()
		a.clk.add(time.Second)
		if g, err = a.svc.Renew(RenewRequest{Client: g.Client, Head: g.Head, Renewal: g.Renewal}, testIP); err != nil {
			t.Fatal(err)
		}
		if b, err := log.Close(uint64(t0.Unix()) + 10); err != nil || b == nil || b.Size != 2 {
			t.Fatalf("close the batch: %+v, %v", b, err)
		}
		var n int
		if direct {
			n, err = log.Prune(1<<40, 1<<40)
		} else {
			n, err = a.svc.PruneLog(1<<40, 1<<40)
		}
		if err != nil || n != 1 {
			t.Fatalf("prune (direct %v): %d, %v", direct, n, err)
		}
		b, _ := open() // a crash: the log no longer holds the records
		_, err = b.svc.Renew(RenewRequest{Client: g.Client, Head: g.Head, Renewal: g.Renewal}, testIP)
		switch {
		case !direct && err != nil:
			t.Fatalf("renew with the last head after pruning and a crash: %v", err)
		case direct && !errors.Is(err, ErrUnknownClient):
			t.Fatalf("contrast: pruning without writing the registry should lose the client, got %v", err)
		}
	}
}
