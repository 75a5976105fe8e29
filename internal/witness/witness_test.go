package witness_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/testutil/litewitness"
	"github.com/camchain/camchain/internal/witness"
)

func randomHash(t testing.TB) feedchain.Hash {
	var h feedchain.Hash
	if _, err := rand.Read(h[:]); err != nil {
		t.Fatal(err)
	}
	return h
}

// trees returns two trees of n leaves that agree on the first fork leaves
// and differ after.
func trees(t testing.TB, n, fork int) (a, b *checkpoint.Tree) {
	a, b = checkpoint.NewTree(), checkpoint.NewTree()
	for i := 0; i < n; i++ {
		h := randomHash(t)
		a.Append(h)
		if i >= fork {
			h = randomHash(t)
		}
		b.Append(h)
	}
	return a, b
}

func newLogKeys(t testing.TB) *witness.LogKeys {
	secret := make([]byte, witness.LogSecretSize)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	lk, err := witness.NewLogKeys(secret)
	if err != nil {
		t.Fatal(err)
	}
	return lk
}

func testOrigin() string {
	var cam keys.Address
	cam[0], cam[19] = 0xab, 0xcd
	return witness.Origin("camchain-7", cam, 3)
}

// startFunc runs a witness that knows origin's log under lk, until the
// test ends, and returns a client of it.
type startFunc func(t *testing.T, name string, lk *witness.LogKeys, origin string) *witness.Client

// startLitewitness runs torchwood's litewitness, an implementation that is
// not ours.
func startLitewitness(t *testing.T, name string, lk *witness.LogKeys, origin string) *witness.Client {
	t.Helper()
	w := litewitness.Start(t, name)
	vkey, err := lk.VerifierKey(origin)
	if err != nil {
		t.Fatal(err)
	}
	w.AddLog(t, origin, vkey)
	return &witness.Client{Key: witness.Key{Name: w.Name, Public: w.Public}, URL: w.URL}
}

// startServer runs camchain's own witness (witness.Server, what a hub runs
// for others) over HTTP.
func startServer(t *testing.T, name string, lk *witness.LogKeys, origin string) *witness.Client {
	t.Helper()
	s, _ := newServer(t, t.TempDir(), name)
	vkey, err := lk.VerifierKey(origin)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddLog(vkey); err != nil {
		t.Fatal(err)
	}
	return serve(t, s)
}

// eachWitness runs f against litewitness and against witness.Server: the
// same publisher, the same requests, the same verdicts.
func eachWitness(t *testing.T, f func(t *testing.T, start startFunc)) {
	for _, impl := range []struct {
		name  string
		start startFunc
	}{{"litewitness", startLitewitness}, {"camchain", startServer}} {
		t.Run(impl.name, func(t *testing.T) { f(t, impl.start) })
	}
}

func mustVerify(t *testing.T, cs witness.Cosignature, origin string, tree *checkpoint.Tree, size uint64) {
	t.Helper()
	root, err := tree.RootAt(size)
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.Verify(witness.Body(origin, size, root)); err != nil {
		t.Fatalf("cosignature of size %d: %v", size, err)
	}
	other := root
	other[0] ^= 1
	if err := cs.Verify(witness.Body(origin, size, other)); !errors.Is(err, witness.ErrBadCosignature) {
		t.Fatalf("the cosignature of size %d verifies over another root: %v", size, err)
	}
	if err := cs.Verify(witness.Body(origin, size+1, root)); !errors.Is(err, witness.ErrBadCosignature) {
		t.Fatalf("the cosignature of size %d verifies over another size: %v", size, err)
	}
}

// TestPublish: a witness (torchwood's litewitness, an implementation
// that is not ours, and the hub's own witness.Server) cosigns each checkpoint of a growing tree after checking the
// consistency proof, and a hub that lost track of what the witness saw
// catches up from the witness's 409.
func TestPublish(t *testing.T) { eachWitness(t, testPublish) }

func testPublish(t *testing.T, startWitness startFunc) {
	ctx := context.Background()
	lk, origin := newLogKeys(t), testOrigin()
	c := startWitness(t, "witness.example/one", lk, origin)
	tree, _ := trees(t, 9, 9)

	last := uint64(0)
	for _, size := range []uint64{2, 5, 8} {
		cs, err := witness.Publish(ctx, c, lk, origin, tree, size, last)
		if err != nil {
			t.Fatalf("publish size %d from %d: %v", size, last, err)
		}
		mustVerify(t, cs, origin, tree, size)
		if cs.Witness.Name != c.Key.Name || cs.Time == 0 {
			t.Fatalf("cosignature by %q at %d", cs.Witness.Name, cs.Time)
		}
		last = size
	}
	// The hub forgot (lastSize 0): the witness's 409 says 8, Publish
	// proves 8 → 9.
	cs, err := witness.Publish(ctx, c, lk, origin, tree, 9, 0)
	if err != nil {
		t.Fatalf("publish after losing state: %v", err)
	}
	mustVerify(t, cs, origin, tree, 9)
	// Republishing the same tree head is cosigned again (same size, same root).
	if _, err := witness.Publish(ctx, c, lk, origin, tree, 9, 9); err != nil {
		t.Fatalf("republish: %v", err)
	}
}

// TestForkRefused: a witness that cosigned one history refuses another:
// a different tree of the size it saw, or a tree that extends a different
// one. Both come back as a *ForkError naming the witness and the sizes.
func TestForkRefused(t *testing.T) { eachWitness(t, testForkRefused) }

func testForkRefused(t *testing.T, startWitness startFunc) {
	ctx := context.Background()
	lk, origin := newLogKeys(t), testOrigin()
	c := startWitness(t, "witness.example/fork", lk, origin)
	a, b := trees(t, 8, 3)
	if _, err := witness.Publish(ctx, c, lk, origin, a, 5, 0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		size, last uint64
	}{
		{"same size, other root", 5, 5},
		{"extends another tree", 8, 5},
		{"from what the witness says it saw", 8, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := witness.Publish(ctx, c, lk, origin, b, tc.size, tc.last)
			var fe *witness.ForkError
			if !errors.As(err, &fe) || !errors.Is(err, witness.ErrFork) {
				t.Fatalf("publish of the other history: %v, want a *ForkError", err)
			}
			if fe.Witness != c.Key.Name || fe.Origin != origin || fe.OldSize != 5 || fe.Size != tc.size {
				t.Fatalf("fork error %+v", fe)
			}
		})
	}
	// The genuine history still goes on.
	if _, err := witness.Publish(ctx, c, lk, origin, a, 8, 5); err != nil {
		t.Fatalf("the genuine history after the fork attempts: %v", err)
	}
}

// TestForkAcrossTwoWitnesses: two trees of one size shown to two witnesses
// are each cosigned (neither saw the other), and the fork is caught as
// soon as one history reaches the witness that saw the other.
func TestForkAcrossTwoWitnesses(t *testing.T) { eachWitness(t, testForkAcrossTwoWitnesses) }

func testForkAcrossTwoWitnesses(t *testing.T, startWitness startFunc) {
	ctx := context.Background()
	lk, origin := newLogKeys(t), testOrigin()
	w1 := startWitness(t, "witness.example/w1", lk, origin)
	w2 := startWitness(t, "witness.example/w2", lk, origin)
	a, b := trees(t, 6, 2)
	ca, err := witness.Publish(ctx, w1, lk, origin, a, 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := witness.Publish(ctx, w2, lk, origin, b, 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	ra, _ := a.RootAt(4)
	rb, _ := b.RootAt(4)
	// Two cosigned checkpoints of one log and size with different roots:
	// each verifies on its own body only.
	if ca.Verify(witness.Body(origin, 4, rb)) == nil || cb.Verify(witness.Body(origin, 4, ra)) == nil {
		t.Fatal("a cosignature verifies over the other history")
	}
	for _, tc := range []struct {
		c    *witness.Client
		tree *checkpoint.Tree
	}{{w1, b}, {w2, a}} {
		if _, err := witness.Publish(ctx, tc.c, lk, origin, tc.tree, 6, 4); !errors.Is(err, witness.ErrFork) {
			t.Fatalf("%s took the other history: %v", tc.c.Key.Name, err)
		}
	}
}

// TestWitnessRefusesUnknownSigner: a checkpoint signed with a log key the
// witness was not configured with (another hub's, an attacker's) is
// refused, and so is a log the witness does not know.
func TestWitnessRefusesUnknownSigner(t *testing.T) { eachWitness(t, testWitnessRefusesUnknownSigner) }

func testWitnessRefusesUnknownSigner(t *testing.T, startWitness startFunc) {
	ctx := context.Background()
	lk, origin := newLogKeys(t), testOrigin()
	c := startWitness(t, "witness.example/strict", lk, origin)
	tree, _ := trees(t, 3, 3)
	if _, err := witness.Publish(ctx, c, newLogKeys(t), origin, tree, 3, 0); !errors.Is(err, witness.ErrRefused) {
		t.Fatalf("another log key: %v, want ErrRefused", err)
	}
	var other keys.Address
	if _, err := witness.Publish(ctx, c, lk, witness.Origin("camchain-7", other, 3), tree, 3, 0); !errors.Is(err, witness.ErrRefused) {
		t.Fatalf("an unknown log: %v, want ErrRefused", err)
	}
	// A client configured with the wrong witness key takes no cosignature.
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	wrong := *c
	wrong.Key.Public = pub
	if _, err := witness.Publish(ctx, &wrong, lk, origin, tree, 3, 0); !errors.Is(err, witness.ErrUnavailable) || !strings.Contains(err.Error(), "without a valid cosignature") {
		t.Fatalf("a witness answering under another key: %v", err)
	}
}
