package witness_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/witness"
)

// cosign makes a valid cosignature with a fresh witness key.
func cosign(t *testing.T, name, body string, at uint64) witness.Cosignature {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c := witness.Cosignature{Witness: witness.Key{Name: name, Public: pub}, Time: at}
	copy(c.Signature[:], ed25519.Sign(priv, witness.Message(at, body)))
	return c
}

// TestStore: cosignatures survive a reopen, are found by tree, a torn last
// line (a crash mid-append) is cut off, and a cosignature that does not
// verify is never kept.
func TestStore(t *testing.T) {
	dir := t.TempDir()
	origin := testOrigin()
	r2, r5 := randomHash(t), randomHash(t)
	a := cosign(t, "w.example/a", witness.Body(origin, 2, r2), 100)
	b := cosign(t, "w.example/b", witness.Body(origin, 5, r5), 200)
	s, err := witness.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Add(origin, 2, r2, a); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(origin, 5, r5, b); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(origin, 5, r2, b); err == nil {
		t.Fatal("a cosignature of another tree was kept")
	}
	s.Close()

	// A crash while appending leaves a torn line.
	p := filepath.Join(dir, strings.ReplaceAll(origin, "/", "_")+".cosig")
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("7 AAAA")
	f.Close()

	s, err = witness.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.For(origin, 5, r5)
	if err != nil || len(got) != 1 || !got[0].Witness.Equal(b.Witness) || got[0].Time != 200 {
		t.Fatalf("For(5) = %+v, %v", got, err)
	}
	if got, _ := s.For(origin, 5, r2); len(got) != 0 {
		t.Fatalf("For(5, another root) = %+v", got)
	}
	if n, _ := s.Last(origin, a.Witness); n != 2 {
		t.Fatalf("Last(a) = %d", n)
	}
	if n, _ := s.Last(origin, b.Witness); n != 5 {
		t.Fatalf("Last(b) = %d", n)
	}
	var none feedchain.Hash
	c := cosign(t, "w.example/c", witness.Body(origin, 9, none), 300)
	if err := s.Add(origin, 9, none, c); err != nil {
		t.Fatalf("append after the torn line was cut: %v", err)
	}
	data, _ := os.ReadFile(p)
	if strings.Contains(string(data), "7 AAAA") || strings.Count(string(data), "\n") != 4 {
		t.Fatalf("the file after reopening:\n%s", data)
	}

	// A bad line that is not the last is an error naming the file.
	os.WriteFile(p, []byte("camchain-cosignatures 1 "+origin+"\ngarbage\n"), 0o600)
	s2, _ := witness.OpenStore(dir)
	if _, err := s2.For(origin, 5, r5); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("a corrupt file: %v", err)
	}
}
