package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/store/layout"
)

func TestSetAcked(t *testing.T) {
	dir := t.TempDir()
	cam := newCamera(t, 2)
	s := openStore(t, dir, Options{})
	c := mustChain(t, s, cam)
	if c.Acked().Valid {
		t.Fatal("new chain has an acknowledgement")
	}
	recs, _ := appendN(t, c, cam, 4, 10)
	h1, h2 := feedchain.HeadOf(recs[1]), feedchain.HeadOf(recs[2])
	if err := c.SetAcked(h2); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAcked(h2); err != nil {
		t.Fatalf("acknowledging the same head again: %v", err)
	}

	diverged := h2
	diverged.Seq = 3
	for _, tc := range []struct {
		name   string
		h      feedchain.Head
		reason string
	}{
		{"empty head", feedchain.Head{}, "not a record"},
		{"beyond the head", feedchain.Head{Valid: true, Seq: 4, Hash: h2.Hash}, "no record 4"},
		{"another hash", diverged, "diverged"},
		{"backwards", h1, "backwards"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tree(t, dir)
			err := c.SetAcked(tc.h)
			var ae *AckRefusedError
			if !errors.As(err, &ae) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("got %v, want a refusal saying %q", err, tc.reason)
			}
			if ae.Got != tc.h || ae.Acked != h2 || ae.Head != cam.head || ae.Chain != c.ID() {
				t.Fatalf("refusal %+v", ae)
			}
			if c.Acked() != h2 || len(tree(t, dir)) != len(before) {
				t.Fatal("a refused SetAcked changed something")
			}
		})
	}

	s.Close()
	p := filepath.Join(chainDir(dir, cam), layout.AckedName)
	if b, _ := os.ReadFile(p); string(b) != string(layout.EncodeAcked(h2)) || !strings.HasPrefix(string(b), "camchain-acked 1\n2 ") {
		t.Fatalf("acked file %q", b)
	}
	s = openStore(t, dir, Options{})
	c = mustChain(t, s, cam)
	if c.Acked() != h2 {
		t.Fatalf("after reopen acked %s, want %s", c.Acked(), h2)
	}
	if err := c.SetAcked(feedchain.HeadOf(recs[3])); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// An acknowledgement the chain does not hold is damage, not a crash.
	os.WriteFile(p, layout.EncodeAcked(feedchain.Head{Valid: true, Seq: 9, Hash: h2.Hash}), 0o644)
	s = openStore(t, dir, Options{})
	if _, err := s.Chain(cam.addr(), cam.epoch); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("acked beyond the head: %v", err)
	}
}
