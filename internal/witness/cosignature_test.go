package witness_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/witness"
)

// torchwoodCosign has torchwood's own tlog-cosignature/v1 signer (not
// ours) cosign body, and returns its verifier key and signature lines.
func torchwoodCosign(t *testing.T, name, body string) (string, []byte) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := torchwood.NewCosignatureSigner(name, priv)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := note.Sign(&note.Note{Text: body}, s)
	if err != nil {
		t.Fatal(err)
	}
	return s.Verifier().String(), signed[len(body)+1:]
}

// TestCosignatureAgreesWithTorchwood: keys and cosignatures made by
// torchwood parse and verify here, and every alteration is refused.
func TestCosignatureAgreesWithTorchwood(t *testing.T) {
	origin := testOrigin()
	body := witness.Body(origin, 42, randomHash(t))
	vkey, lines := torchwoodCosign(t, "witness.example/tw", body)
	k, err := witness.ParseKey(vkey)
	if err != nil {
		t.Fatalf("ParseKey(%q): %v", vkey, err)
	}
	if k.String() != vkey {
		t.Fatalf("key re-encodes as %q, torchwood's is %q", k.String(), vkey)
	}
	cs, err := witness.ParseSignatureLines(lines, k)
	if err != nil || len(cs) != 1 {
		t.Fatalf("ParseSignatureLines: %d, %v", len(cs), err)
	}
	c := cs[0]
	if err := c.Verify(body); err != nil {
		t.Fatalf("torchwood's cosignature: %v", err)
	}
	for name, alter := range map[string]func(*witness.Cosignature, *string){
		"time":      func(c *witness.Cosignature, _ *string) { c.Time++ },
		"signature": func(c *witness.Cosignature, _ *string) { c.Signature[5] ^= 1 },
		"size":      func(_ *witness.Cosignature, b *string) { *b = strings.Replace(*b, "\n42\n", "\n43\n", 1) },
		"origin":    func(_ *witness.Cosignature, b *string) { *b = "x" + *b },
		"key": func(c *witness.Cosignature, _ *string) {
			pub, _, _ := ed25519.GenerateKey(rand.Reader)
			c.Witness.Public = pub
		},
	} {
		c2, b2 := c, body
		alter(&c2, &b2)
		if err := c2.Verify(b2); !errors.Is(err, witness.ErrBadCosignature) {
			t.Errorf("altered %s: %v, want ErrBadCosignature", name, err)
		}
	}
	// Lines of another witness are not this one's.
	other, _ := witness.ParseKey(vkey)
	other.Name = "witness.example/other"
	if cs, err := witness.ParseSignatureLines(lines, other); err != nil || len(cs) != 0 {
		t.Fatalf("another witness's lines: %d, %v", len(cs), err)
	}
}

func TestParseKeyRefuses(t *testing.T) {
	vkey, _ := torchwoodCosign(t, "w.example", witness.Body("o", 1, randomHash(t)))
	name, rest, _ := strings.Cut(vkey, "+")
	id, b64, _ := strings.Cut(rest, "+")
	logKey, err := newLogKeys(t).VerifierKey("o")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		"", name, name + "+" + id, "+" + id + "+" + b64,
		name + "+00000000+" + b64, // wrong id
		name + "+" + strings.ToUpper(id) + "+" + b64,
		"other+" + id + "+" + b64, // id of another name
		name + "+" + id + "+" + b64[:len(b64)-4],
		logKey, // an Ed25519 note key (algorithm 1), not a cosignature key
		"a b+" + id + "+" + b64,
	} {
		if _, err := witness.ParseKey(bad); !errors.Is(err, witness.ErrBadKey) {
			t.Errorf("ParseKey(%q): %v, want ErrBadKey", bad, err)
		}
	}
}

func TestBodyRoundTrip(t *testing.T) {
	root := randomHash(t)
	b := witness.Body(testOrigin(), 1<<40, root)
	o, n, r, err := witness.ParseBody(b)
	if err != nil || o != testOrigin() || n != 1<<40 || r != root {
		t.Fatalf("ParseBody(%q) = %q %d %x %v", b, o, n, r, err)
	}
	for _, bad := range []string{"", "o\n1\n", "o\n01\n" + b[strings.LastIndex(b[:len(b)-1], "\n")+1:], b + "ext\n", strings.TrimSuffix(b, "\n"), "\n1\n" + b[strings.LastIndex(b[:len(b)-1], "\n")+1:]} {
		if _, _, _, err := witness.ParseBody(bad); err == nil {
			t.Errorf("ParseBody(%q) accepted", bad)
		}
	}
}

// TestLogKeys: one secret gives each origin its own key, named by it; the
// key verifies the note with x/mod's own note package; String hides the
// secret.
func TestLogKeys(t *testing.T) {
	lk := newLogKeys(t)
	body := witness.Body(testOrigin(), 3, randomHash(t))
	signed, err := lk.Sign(body)
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := lk.VerifierKey(testOrigin())
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := note.Open(signed, note.VerifierList(v)); err != nil || n.Text != body {
		t.Fatalf("note.Open: %v", err)
	}
	other, _ := lk.VerifierKey(testOrigin() + "x")
	if other == vkey || strings.Split(other, "+")[2] == strings.Split(vkey, "+")[2] {
		t.Fatal("two origins share a log key")
	}
	if s := lk.String(); strings.Contains(s, "PRIVATE") || !strings.Contains(s, "redacted") {
		t.Fatalf("LogKeys prints as %q", s)
	}
	if _, err := witness.NewLogKeys(make([]byte, 31)); err == nil {
		t.Fatal("a 31-byte secret accepted")
	}
}

// TestBodyVector is the example of docs/SPEC.md §16.1.
func TestBodyVector(t *testing.T) {
	var root [32]byte
	for i := range root {
		root[i] = byte(i)
	}
	var cam keys.Address
	cam[0], cam[19] = 0xab, 0xcd
	want := "camchain/v1/camchain-7/0xab000000000000000000000000000000000000cd/3\n42\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
	if got := witness.Body(witness.Origin("camchain-7", cam, 3), 42, root); got != want {
		t.Fatalf("Body = %q, want %q", got, want)
	}
}
