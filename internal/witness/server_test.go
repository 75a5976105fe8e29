package witness_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/testutil/litewitness"
	"github.com/camchain/camchain/internal/witness"
)

// newServer opens a witness.Server in dir with a fresh key.
func newServer(t testing.TB, dir, name string) (*witness.Server, ed25519.PrivateKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := witness.NewServer(dir, name, priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, priv
}

// serve puts s on loopback HTTP at its submission prefix.
func serve(t testing.TB, s *witness.Server) *witness.Client {
	mux := http.NewServeMux()
	mux.Handle("/add-checkpoint", s)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return &witness.Client{Key: s.Key(), URL: ts.URL}
}

// request is an add-checkpoint body as the protocol has it.
func request(t testing.TB, lk *witness.LogKeys, origin string, tree *checkpoint.Tree, old, size uint64) []byte {
	t.Helper()
	root, err := tree.RootAt(size)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := lk.Sign(witness.Body(origin, size, root))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", old)
	if old > 0 && old < size {
		proof, err := tree.ConsistencyProof(old, size)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range proof {
			b.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
		}
	}
	b.WriteString("\n")
	b.Write(signed)
	return b.Bytes()
}

func post(t testing.TB, url string, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post(url+"/add-checkpoint", "text/plain", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestServerAnswersAsLitewitness sends the same requests, in the same
// order, to torchwood's litewitness and to witness.Server, each knowing
// the same log, and compares their statuses: every rule of the protocol
// is tried, each against a witness that is not ours. One difference is
// deliberate: for a log the witness does not know, C2SP tlog-witness says
// 404 Not Found, which witness.Server answers; litewitness v0.6.1 answers
// 403 (the client takes either as a refusal).
func TestServerAnswersAsLitewitness(t *testing.T) {
	lk, origin := newLogKeys(t), testOrigin()
	a, b := trees(t, 9, 4)
	other := newLogKeys(t)
	var stranger keys.Address
	strangerOrigin := witness.Origin("camchain-7", stranger, 3)
	good5 := request(t, lk, origin, a, 0, 5)
	cases := []struct {
		name       string
		body       []byte
		want       int
		litewitnes int // when litewitness differs (documented above)
	}{
		{"no blank line", []byte("old 0\n"), 400, 0},
		{"not old", append([]byte("older 0\n"), good5[len("old 0\n"):]...), 400, 0},
		{"negative old", append([]byte("old -1\n"), good5[len("old 0\n"):]...), 400, 0},
		{"bad proof line", append([]byte("old 0\n!!!!\n"), good5[len("old 0\n"):]...), 400, 0},
		{"unknown log", request(t, lk, strangerOrigin, a, 0, 5), 404, 403},
		{"another key", request(t, other, origin, a, 0, 5), 403, 0},
		{"first checkpoint", good5, 200, 0},
		{"same again", good5, 409, 0}, // old 0, but the witness holds 5
		{"old above size", request(t, lk, origin, a, 5, 3), 400, 0},
		{"stale old", request(t, lk, origin, a, 3, 8), 409, 0},
		{"extends another tree", request(t, lk, origin, b, 5, 8), 422, 0},
		{"same size, other root", request(t, lk, origin, b, 5, 5), 422, 0},
		{"grows", request(t, lk, origin, a, 5, 8), 200, 0},
		{"republish", request(t, lk, origin, a, 8, 8), 200, 0},
		{"roll back", func() []byte {
			r := request(t, lk, origin, a, 0, 3)
			return append([]byte("old 8\n"), r[len("old 0\n"):]...)
		}(), 400, 0},
		{"grows again", request(t, lk, origin, a, 8, 9), 200, 0},
	}
	lw := litewitness.Start(t, "witness.example/parity")
	vkey, err := lk.VerifierKey(origin)
	if err != nil {
		t.Fatal(err)
	}
	lw.AddLog(t, origin, vkey)
	s, _ := newServer(t, t.TempDir(), "witness.example/ours")
	if err := s.AddLog(vkey); err != nil {
		t.Fatal(err)
	}
	ours := serve(t, s)
	for _, tc := range cases {
		want := tc.want
		lwWant := want
		if tc.litewitnes != 0 {
			lwWant = tc.litewitnes
		}
		if got, body := post(t, lw.URL, tc.body); got != lwWant {
			t.Errorf("%s: litewitness answered %d %q, want %d", tc.name, got, body, lwWant)
		}
		got, body := post(t, ours.URL, tc.body)
		if got != want {
			t.Errorf("%s: witness.Server answered %d %q, want %d", tc.name, got, body, want)
		}
		switch {
		case want == 409 && tc.name == "same again" && body != "5\n",
			want == 409 && tc.name == "stale old" && body != "5\n":
			t.Errorf("%s: 409 body %q, want the size it holds", tc.name, body)
		case want == 200:
			// The answer is a cosignature line that our verifier takes.
			cs, err := witness.ParseSignatureLines([]byte(body), ours.Key)
			if err != nil || len(cs) != 1 {
				t.Fatalf("%s: answer %q: %v", tc.name, body, err)
			}
		}
	}
}

// TestServerKeepsItsStateAcrossRestarts: a witness reopened from its
// directory still holds the last tree it cosigned of each log, so a
// restart cannot be used to make it cosign another history or a smaller
// tree.
func TestServerKeepsItsStateAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	lk, origin := newLogKeys(t), testOrigin()
	a, b := trees(t, 8, 2)
	dir := t.TempDir()
	s, priv := newServer(t, dir, "witness.example/restart")
	vkey, err := lk.VerifierKey(origin)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddLog(vkey); err != nil {
		t.Fatal(err)
	}
	if _, err := witness.Publish(ctx, serve(t, s), lk, origin, a, 5, 0); err != nil {
		t.Fatal(err)
	}

	s2, err := witness.NewServer(dir, "witness.example/restart", priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Logs() != 1 || !s2.Key().Equal(s.Key()) {
		t.Fatalf("reopened: %d logs, key %s (was %s)", s2.Logs(), s2.Key(), s.Key())
	}
	c := serve(t, s2)
	if _, err := witness.Publish(ctx, c, lk, origin, b, 5, 0); !errors.Is(err, witness.ErrFork) {
		t.Fatalf("another tree of size 5 after a restart: %v, want a fork", err)
	}
	if code, _ := post(t, c.URL, request(t, lk, origin, a, 0, 3)); code != http.StatusConflict {
		t.Fatalf("a smaller tree from scratch after a restart: %d, want 409", code)
	}
	cs, err := witness.Publish(ctx, c, lk, origin, a, 8, 0) // learns 5 from the 409
	if err != nil {
		t.Fatal(err)
	}
	mustVerify(t, cs, origin, a, 8)
	// Adding the log again with its key is a no-op; another key for the
	// same origin is refused, and a key that is not a log key too.
	if err := s2.AddLog(vkey); err != nil {
		t.Fatal(err)
	}
	vother, _ := newLogKeys(t).VerifierKey(origin)
	if err := s2.AddLog(vother); err == nil {
		t.Fatal("a second key for a witnessed log was taken")
	}
	if err := s2.AddLog(c.Key.String()); !errors.Is(err, witness.ErrUnknownLog) {
		t.Fatalf("a cosignature key as a log key: %v", err)
	}
}

// TestServerLimits: a request over the size cap is refused before it is
// read whole, only POST is served, and a torn or foreign state file stops
// the witness from opening instead of starting it blank (which would let
// it cosign a second history).
func TestServerLimits(t *testing.T) {
	lk, origin := newLogKeys(t), testOrigin()
	dir := t.TempDir()
	s, priv := newServer(t, dir, "witness.example/limits")
	vkey, _ := lk.VerifierKey(origin)
	if err := s.AddLog(vkey); err != nil {
		t.Fatal(err)
	}
	c := serve(t, s)
	big := append([]byte("old 0\n"), bytes.Repeat([]byte(strings.Repeat("A", 43)+"=\n"), witness.MaxWitnessRequestBytes/44+1)...)
	if code, _ := post(t, c.URL, big); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("a request over %d bytes: %d", witness.MaxWitnessRequestBytes, code)
	}
	tree, _ := trees(t, 3, 3)
	long := request(t, lk, origin, tree, 0, 3)
	proof := bytes.Repeat([]byte(base64.StdEncoding.EncodeToString(make([]byte, 32))+"\n"), witness.MaxProofHashes+1)
	long = append(append([]byte("old 0\n"), proof...), long[len("old 0\n"):]...)
	if code, _ := post(t, c.URL, long); code != http.StatusBadRequest {
		t.Fatalf("a proof of %d hashes: %d", witness.MaxProofHashes+1, code)
	}
	resp, err := http.Get(c.URL + "/add-checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	if err := os.WriteFile(filepath.Join(dir, "witnessed.json"), []byte(`{"logs":[{"vkey":"x","size":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := witness.NewServer(dir, "witness.example/limits", priv, nil); err == nil {
		t.Fatal("a torn state file opened")
	}
	if _, err := witness.NewServer(t.TempDir(), "bad name", priv, nil); err == nil {
		t.Fatal("a name with a space was taken")
	}
}

// FuzzServerAddCheckpoint: whatever the body, the witness answers with a
// status of the protocol, and a 200 carries exactly one cosignature line
// by its key (that it cosigns only what extends its tree is
// TestServerAnswersAsLitewitness's).
func FuzzServerAddCheckpoint(f *testing.F) {
	secret := bytes.Repeat([]byte{7}, witness.LogSecretSize)
	lk, err := witness.NewLogKeys(secret)
	if err != nil {
		f.Fatal(err)
	}
	origin := testOrigin()
	tree := checkpoint.NewTree()
	for i := 0; i < 6; i++ {
		tree.Append(feedchain.Hash{byte(i)})
	}
	for _, sz := range [][2]uint64{{0, 3}, {3, 6}, {0, 6}, {6, 3}} {
		f.Add(request(f, lk, origin, tree, sz[0], sz[1]))
	}
	vkey, _ := lk.VerifierKey(origin)
	// One witness for the whole run: its state grows with the inputs it
	// cosigns, as a real witness's does.
	s, _ := newServer(f, f.TempDir(), "witness.example/fuzz")
	if err := s.AddLog(vkey); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/add-checkpoint", bytes.NewReader(body)))
		switch rec.Code {
		case 200:
			cs, err := witness.ParseSignatureLines(rec.Body.Bytes(), s.Key())
			if err != nil || len(cs) != 1 {
				t.Fatalf("a 200 without one cosignature line: %v", err)
			}
		case 400, 403, 404, 409, 413, 422:
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}
