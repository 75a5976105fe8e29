package auth

import (
	"errors"
	"testing"
	"time"
)

// Each nonce works once while it lives, whatever second of its life it is
// used in, and is refused as expired after; the used nonces of a second
// that has passed are forgotten as a whole.
func TestNoncesSingleUseAndForgotten(t *testing.T) {
	ns, err := NewNonces(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1_800_000_000, 0)
	var issued []string
	for i := range 5 { // nonces with five different expiry seconds
		s, _, err := ns.Issue(at.Add(time.Duration(i) * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		issued = append(issued, s)
	}
	use := at.Add(4 * time.Second)
	msg := [32]byte{1}
	for i, s := range issued {
		if err := ns.Use(s, msg, use); err != nil {
			t.Fatalf("nonce %d, first use: %v", i, err)
		}
		if err := ns.Use(s, msg, use); !errors.Is(err, ErrReplayed) {
			t.Fatalf("nonce %d, the same message again: %v, want %v", i, err, ErrReplayed)
		}
		if err := ns.Use(s, [32]byte{2}, use.Add(5*time.Second)); !errors.Is(err, ErrNonceReused) {
			t.Fatalf("nonce %d, another message later in its life: %v, want %v", i, err, ErrNonceReused)
		}
	}
	if ns.n != 5 || len(ns.used) != 5 {
		t.Fatalf("%d used nonces in %d seconds, want 5 in 5", ns.n, len(ns.used))
	}
	// Past the first two expiries: those two are expired (and forgotten),
	// the other three still refused as used.
	later := at.Add(11 * time.Second)
	for i, s := range issued {
		err := ns.Use(s, msg, later)
		want := ErrReplayed
		if i < 2 {
			want = ErrNonceExpired
		}
		if !errors.Is(err, want) {
			t.Fatalf("nonce %d at +11 s: %v, want %v", i, err, want)
		}
	}
	fresh, _, _ := ns.Issue(later)
	if err := ns.Use(fresh, msg, later); err != nil {
		t.Fatal(err)
	}
	if ns.n != 4 || len(ns.used) != 4 {
		t.Fatalf("after +11 s: %d used nonces in %d seconds, want 4 in 4 (two forgotten, one new)", ns.n, len(ns.used))
	}
}

// At the cap on used nonces a login is refused busy, not let in with a
// nonce the hub can no longer remember; once nonces expire there is room
// again.
func TestNoncesCapFailsClosed(t *testing.T) {
	ns, err := NewNonces(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ns.max = 3
	at := time.Unix(1_800_000_000, 0)
	for i := range 3 {
		s, _, _ := ns.Issue(at)
		if err := ns.Use(s, [32]byte{byte(i)}, at); err != nil {
			t.Fatal(err)
		}
	}
	s, _, _ := ns.Issue(at.Add(time.Second))
	if err := ns.Use(s, [32]byte{9}, at.Add(time.Second)); !errors.Is(err, ErrBusy) {
		t.Fatalf("a fourth nonce at a cap of 3: %v, want %v", err, ErrBusy)
	}
	if err := ns.Use(s, [32]byte{9}, at.Add(10*time.Second)); err != nil {
		t.Fatalf("the same nonce once the first three expired: %v", err)
	}
}
