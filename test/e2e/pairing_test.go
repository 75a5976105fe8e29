package e2e

import (
	"encoding/hex"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// A network that fails only the owner's POST /api/v1/pairings (the
// camera has co-signed, the ledger never sees the imprint) leaves a camera
// that is not paired and pairs again with its next code — no reset, no
// wiped identity.
func TestFailedPairingSubmissionLeavesACameraThatPairsAgain(t *testing.T) {
	h := initHub(t)
	h.run(t)
	a := runAgent(t, filepath.Join(t.TempDir(), "agent"), "--speed", "10")
	target, _ := url.Parse(h.url())
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/v1/pairings" {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	owner := newWallet(t)

	first := pairingCode(t, a.data)
	rc, out, errs := camchain(append([]string{"pair", first, "--hub", proxy.URL, "--yes"}, owner.flags()...)...)
	if rc == 0 {
		t.Fatalf("pairing through the failing network succeeded: %s", out)
	}
	st := a.status(t)
	if st.Paired {
		t.Fatalf("the camera counts itself paired though its imprint never reached the ledger: %+v (%s)", st, errs)
	}
	var second string
	waitFor(t, 10*time.Second, "a new pairing code", func() bool {
		second = pairingCode(t, a.data)
		return second != first
	})
	camera := pair(t, h, a, owner)
	waitFor(t, 20*time.Second, "the camera paired and uploading", func() bool {
		s := a.status(t)
		return s.Paired && s.Link == "connected" && hubHead(t, h, camera) >= 2
	})
	if d, err := h.client(t).Device(t.Context(), camera); err != nil || !d.Owned || d.Epoch != 0 || !strings.EqualFold(d.Owner, walletAddress(t, owner)) {
		t.Fatalf("device after the second pairing: %+v %v", d, err)
	}
	// Pairing registered the owner's viewing key (SPEC §17.1): the one
	// `camchain wallet viewing-key` derives, in a transaction the owner
	// signed.
	rc, pub, errs := camchain(append([]string{"wallet", "viewing-key", "--public-key"}, owner.flags()...)...)
	if rc != 0 {
		t.Fatalf("wallet viewing-key: exit %d: %s", rc, errs)
	}
	vk, err := h.client(t).ViewingKey(t.Context(), walletAddress(t, owner))
	if err != nil || vk.PublicKey != strings.TrimSpace(pub) {
		t.Fatalf("the ledger's viewing key of the owner %+v (%v), want %s", vk, err, strings.TrimSpace(pub))
	}
	raw, _ := hex.DecodeString(strings.TrimPrefix(vk.Tx, "0x"))
	owned, _ := keys.ParseAddress(walletAddress(t, owner))
	st2, _ := h.client(t).Status(t.Context())
	if k, err := tx.VerifyViewingKey(raw, owned, st2.EVMChainID); err != nil || "0x"+hex.EncodeToString(k.Bytes()) != vk.PublicKey {
		t.Fatalf("the registering transaction: %v", err)
	}
	// Registering again changes nothing.
	rc, out, errs = camchain(append([]string{"wallet", "viewing-key", "--register", "--hub", h.url()}, owner.flags()...)...)
	if rc != 0 || !strings.Contains(out, "already registered") {
		t.Fatalf("wallet viewing-key --register: exit %d: %s%s", rc, out, errs)
	}
}

// The owner's client checks the hub's identity before it signs anything
// (issue 9, finding 6): a hub whose address or chain id is not the one
// given on the command line, or not the one this wallet pinned at its
// first contact with the URL, aborts the pairing; the camera's code is not
// even spent.
func TestPairingAbortsBeforeSigningForAnUnexpectedHub(t *testing.T) {
	h := initHub(t)
	h.run(t)
	a := runAgent(t, filepath.Join(t.TempDir(), "agent"), "--speed", "10")
	owner := newWallet(t)
	code := pairingCode(t, a.data)
	st, err := h.client(t).Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	li, err := h.client(t).Link(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// First contact, no terminal to ask on, neither --yes nor the pins:
	// refused before anything is signed, and nothing is pinned.
	rc, _, errs := camchain(append([]string{"pair", code, "--hub", h.url()}, owner.flags()...)...)
	if rc != 2 || !strings.Contains(errs, "pass --hub-address, --chain-id and --hub-pin") || !strings.Contains(errs, "--yes") || !strings.Contains(errs, "nothing was signed") {
		t.Fatalf("pair at first contact without a terminal: exit %d, %q", rc, errs)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(owner.dir), "known_hubs.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("an unconfirmed hub was pinned: %v", err)
	}
	for _, bad := range [][]string{
		{"--hub-address", "0x000000000000000000000000000000000000dEaD"},
		{"--chain-id", "camchain-1"},
		{"--hub-pin", strings.Repeat("ab", 32)},
	} {
		rc, _, errs = camchain(append(append([]string{"pair", code, "--hub", h.url()}, bad...), owner.flags()...)...)
		if rc != 1 || !strings.Contains(errs, "nothing was signed") {
			t.Fatalf("pair %v: exit %d, %q", bad, rc, errs)
		}
	}
	if again := pairingCode(t, a.data); again != code {
		t.Fatal("the camera's code was spent by an aborted pairing")
	}
	// The wallet pins the hub at first contact: another hub answering at
	// the same URL later (a substituted host) is refused.
	h.stop()
	other := initHub(t)
	other.http, other.link = h.http, h.link
	h.run(t)
	// The right identity given on the command line pairs (and pins),
	// with nothing to ask.
	if rc, out, errs := camchain(append([]string{"pair", code, "--hub", h.url(), "--chain-id", st.LedgerChainID, "--hub-address", st.HubAddress, "--hub-pin", li.TLSPin}, owner.flags()...)...); rc != 0 {
		t.Fatalf("pair with the expected identity: exit %d: %s%s", rc, out, errs)
	}
	h.stop()
	other.run(t)
	a2 := runAgent(t, filepath.Join(t.TempDir(), "agent2"), "--speed", "10")
	rc, _, errs = camchain(append([]string{"pair", pairingCode(t, a2.data), "--hub", h.url()}, owner.flags()...)...)
	if rc != 1 || !strings.Contains(errs, "pinned at first contact") {
		t.Fatalf("pair with another hub at a pinned URL: exit %d, %q", rc, errs)
	}
}
