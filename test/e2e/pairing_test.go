package e2e

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	rc, out, errs := camchain(append([]string{"pair", first, "--hub", proxy.URL}, owner.flags()...)...)
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
}
