package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/retention"
	"github.com/camchain/camchain/internal/store/layout"
)

// readStatement reads and verifies a chain's prune statement against the
// chain's own records.
func readStatement(t *testing.T, c *Chain, cam *camera) *retention.Statement {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.dir, layout.PruneStatementName))
	if err != nil {
		t.Fatalf("no prune statement after a prune: %v", err)
	}
	st, err := retention.ParseStatement(b)
	if err != nil {
		t.Fatal(err)
	}
	last, err := c.Record(st.Below - 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := retention.VerifyStatement(st, cam.addr(), cam.epoch, last); err != nil {
		t.Fatalf("the store's own statement does not verify: %v", err)
	}
	return st
}

// A card's store signs a prune statement with the camera's key for every
// retention pass, before the marker moves: the byte budget's ring buffer
// and the age rule each say which they were; a chain of another camera in
// the same store gets none (the key is not its camera's).
func TestPruneWritesTheCamerasSignedStatement(t *testing.T) {
	now := t0.Add(24 * time.Hour)
	cam := newCamera(t, 1)
	s := openStore(t, t.TempDir(), Options{MaxBytes: 5000, MaxAge: 2 * time.Hour, Signer: cam.k, Clock: func() time.Time { return now }})
	c := mustChain(t, s, cam)
	recs, _ := appendN(t, c, cam, 5, 1000)
	if err := c.SetAcked(feedchain.HeadOf(recs[3])); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(c.dir, layout.PruneStatementName)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a statement before any prune: %v", err)
	}

	// Everything is a day old: the age rule deletes every acked segment.
	if _, err := c.Prune(4); err != nil {
		t.Fatal(err)
	}
	st := readStatement(t, c, cam)
	if st.Below != 4 || st.Reason != retention.ReasonAge || st.Limit != uint64(2*time.Hour) || st.At != now.UnixNano() || st.Last != recs[3].Hash() {
		t.Fatalf("age statement %+v", st)
	}

	// A fresh chain (a new epoch) under the byte budget only.
	cam2 := &camera{k: cam.k, epoch: 2, every: cam.every}
	now = t0 // nothing is old now
	c2 := mustChain(t, s, cam2)
	recs2, _ := appendN(t, c2, cam2, 5, 1000) // 1000 + 5000 stored: over budget
	if err := c2.SetAcked(feedchain.HeadOf(recs2[2])); err != nil {
		t.Fatal(err)
	}
	if err := c2.Reserve(2000); err != nil { // 3000 to free: seqs 0–2
		t.Fatal(err)
	}
	st2 := readStatement(t, c2, cam2)
	if st2.Below != 3 || st2.Reason != retention.ReasonBytes || st2.Limit != 5000 || st2.Last != recs2[2].Hash() {
		t.Fatalf("ring-buffer statement %+v", st2)
	}

	// Another camera's chain in this store: pruned, but never signed
	// for (the store holds only its own camera's key).
	other := newCamera(t, 0)
	s2 := openStore(t, t.TempDir(), Options{MaxAge: time.Hour, Signer: cam.k, Clock: func() time.Time { return t0.Add(24 * time.Hour) }})
	co := mustChain(t, s2, other)
	appendN(t, co, other, 2, 100)
	if res, err := co.Prune(co.Len()); err != nil || res.Deleted != 2 {
		t.Fatalf("prune another camera's chain: %+v, %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(co.dir, layout.PruneStatementName)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a statement for another camera's chain: %v", err)
	}
}

// failingSigner is a camera key whose device stopped answering.
type failingSigner struct{ cam *camera }

func (f failingSigner) Address() keys.Address { return f.cam.addr() }
func (f failingSigner) SignDigest([32]byte) (keys.Signature, error) {
	return keys.Signature{}, errors.New("secure element does not answer")
}

// When the camera's key cannot sign, retention deletes nothing: a prune
// without its statement would look like tampering.
func TestPruneWithoutASignatureDeletesNothing(t *testing.T) {
	cam := newCamera(t, 0)
	s := openStore(t, t.TempDir(), Options{MaxAge: time.Hour, Signer: failingSigner{cam}, Clock: func() time.Time { return t0.Add(24 * time.Hour) }})
	c := mustChain(t, s, cam)
	appendN(t, c, cam, 3, 100)
	if _, err := c.Prune(3); err == nil {
		t.Fatal("prune succeeded without a signature")
	}
	checkKept(t, c, true, true, true)
	if _, err := os.Stat(filepath.Join(c.dir, layout.PrunedName)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the marker moved without a statement: %v", err)
	}
}
