package e2e

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/camchain/camchain/internal/keys"
)

// TestBrowserSessionResistsCrossSiteAttacks runs ui/test/session.test.mjs in
// Chromium: a page on the hub's origin logs in with the session cookie
// (HttpOnly, Secure, SameSite=Strict, unreadable by script), and a page of
// the same site on another port — which SameSite does not stop — tries to
// revoke the victim's client with it by a no-cors fetch, a preflighted
// fetch and a form post, and to read its session. Every attempt fails; the
// same revoke from the hub's own page works.
func TestBrowserSessionResistsCrossSiteAttacks(t *testing.T) {
	ui, chromium := browserTestDeps(t)
	h := initHub(t)
	h.run(t)
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!doctype html><title>cute cats</title><p>nothing to see here</p>"))
	}))
	defer attacker.Close()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "--test", "test/session.test.mjs")
	cmd.Dir = ui
	cmd.Env = append(os.Environ(), "HUB_URL="+h.url(), "ATTACKER_URL="+attacker.URL, "CHROMIUM="+chromium,
		"KEY=0x"+hex.EncodeToString(crypto.FromECDSA(k.ECDSA())))
	out, err := cmd.CombinedOutput()
	t.Logf("node --test test/session.test.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("the browser test failed: %v", err)
	}
}
