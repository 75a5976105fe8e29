//go:build linux

package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/hub"
)

// startHTTPSHub runs a hub that serves its API over HTTPS with the
// certificate it generates (loopback, --tls).
func startHTTPSHub(t *testing.T) (*hub.Hub, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "hub")
	if _, err := hub.Init(hub.Config{DataDir: dir}, ""); err != nil {
		t.Fatal(err)
	}
	h, err := hub.Start(hub.Config{DataDir: dir, HTTPAddr: "127.0.0.1:0", LinkAddr: "127.0.0.1:0", TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h, h.BaseURL()
}

// TestCLIPinsTheHubCertificate: a first login refuses a certificate it
// cannot check, a wrong --hub-fingerprint is refused before anything is
// sent, the right one is remembered, and every later command pins it — a
// hub presenting another certificate (an interceptor) is refused.
func TestCLIPinsTheHubCertificate(t *testing.T) {
	home := t.TempDir()
	t.Setenv("CAMCHAIN_HOME", home)
	h, url := startHTTPSHub(t)
	fp := h.TLSFingerprint().String()
	owner := newTestWallet(t, "owner")
	login := func(extra ...string) result {
		return runCLI(append(append([]string{"login", "--hub", url}, owner.flags()...), extra...)...)
	}
	r := login().must(t, 2, "pass --hub-fingerprint")
	if !strings.Contains(r.stderr, fp) {
		t.Errorf("the refusal does not show the fingerprint to compare: %q", r.stderr)
	}
	wrong := strings.Repeat("0", 63) + "1"
	login("--hub-fingerprint", wrong).must(t, 1, "not the pinned "+wrong)
	login("--hub-fingerprint", "abc").must(t, 2, "64 hex digits")
	if n := len(h.Auth().Clients().List(owner.key.Address())); n != 0 {
		t.Fatalf("a refused pin still reached the login: %d clients", n)
	}
	login("--hub-fingerprint", strings.ToUpper(fp)).must(t, 0, "")
	certs := filepath.Join(home, "known_hub_certs.json")
	st, err := os.Stat(certs)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v %v", certs, st, err)
	}
	if b, _ := os.ReadFile(certs); !strings.Contains(string(b), fp) {
		t.Fatalf("pin not remembered: %s", b)
	}
	// A later command pins what was remembered.
	runCLI("clients", "list", "--hub", url).must(t, 0, "")
	// The hub now presents another certificate (someone in the middle):
	// refused, saying which fingerprint it got and which was pinned.
	b, _ := os.ReadFile(certs)
	if err := os.WriteFile(certs, bytes.ReplaceAll(b, []byte(fp), []byte(wrong)), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCLI("clients", "list", "--hub", url).must(t, 1, "not the pinned "+wrong)
	if !strings.Contains(r.stderr, "fingerprint "+fp) {
		t.Errorf("the refusal does not name the certificate the hub presented: %q", r.stderr)
	}
	runCLI("clients", "list", "--hub", "http://"+h.Addr(), "--hub-fingerprint", fp).must(t, 2, "not https")
}

// TestCLITrustOnFirstUse: at the first login the CLI shows the
// certificate's fingerprint and asks; "no" sends nothing and pins nothing,
// "yes" pins it for every later command.
func TestCLITrustOnFirstUse(t *testing.T) {
	home := t.TempDir()
	t.Setenv("CAMCHAIN_HOME", home)
	h, url := startHTTPSHub(t)
	owner := newTestWallet(t, "owner")
	run := func(answer string) result {
		ctl, tty := openPTY(t)
		if _, err := ctl.WriteString(answer + "\n"); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		code := Main(append([]string{"login", "--hub", url}, owner.flags()...), tty, &out, &errb)
		return result{code, out.String(), errb.String()}
	}
	r := run("no").must(t, 1, "not trusted; nothing was sent")
	if !strings.Contains(r.stderr, h.TLSFingerprint().String()) || !strings.Contains(r.stderr, "[y/N]") {
		t.Fatalf("the prompt does not show the fingerprint: %q", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(home, "known_hub_certs.json")); err == nil {
		t.Fatal("a refused certificate was pinned")
	}
	run("yes").must(t, 0, "")
	runCLI("clients", "list", "--hub", url).must(t, 0, "")
}

// TestLoginApproveDevice: a browser without a wallet shows a code; `camchain
// login --approve` shows the browser's origin, IP and user agent, refuses
// to sign without a terminal or --yes, and with --yes logs the browser in
// once. A wrong or reused code is refused.
func TestLoginApproveDevice(t *testing.T) {
	t.Setenv("CAMCHAIN_HOME", t.TempDir())
	_, url := startHub(t)
	owner := newTestWallet(t, "owner")
	browser, _ := api.NewClient(url)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cid, _ := signin.NewClientID()
	dc, err := browser.StartDevice(ctx, cid, signin.Head{})
	if err != nil {
		t.Fatal(err)
	}
	approve := func(code string, extra ...string) result {
		return runCLI(append(append([]string{"login", "--hub", url, "--approve", code}, owner.flags()...), extra...)...)
	}
	r := approve(dc.Code).must(t, 2, "not a terminal")
	for _, want := range []string{"its IP address: 127.0.0.1", "its browser:    Go-http-client", "its origin:     -", "WARNING: the request did not come from the hub's own page"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the approver is not shown %q:\n%s", want, r.stderr)
		}
	}
	if p, err := browser.PollDevice(ctx, dc); err != nil || p.Status != "pending" {
		t.Fatalf("after a refused approval: %+v %v", p, err)
	}
	approve("AAAA-AAAA", "--yes").must(t, 1, "device code is unknown")
	approve("not a code", "--yes").must(t, 2, "device code")
	r = approve(strings.ToLower(dc.Code), "--yes").must(t, 0, "")
	if !strings.Contains(r.stdout, "approved") || !strings.Contains(r.stdout, owner.key.Address().Hex()) {
		t.Errorf("approve: %q", r.stdout)
	}
	approve(dc.Code, "--yes").must(t, 1, "already used")
	p, err := browser.PollDevice(ctx, dc)
	if err != nil || p.Status != "approved" || p.Session == nil || p.Session.Address != owner.key.Address().Hex() {
		t.Fatalf("the browser's session: %+v %v", p, err)
	}
	if w, err := api.NewClient(url); err == nil {
		w.WithCredentials(api.StaticToken(p.Session.AccessToken))
		if who, err := w.Whoami(ctx); err != nil || who.Address != owner.key.Address().Hex() || who.Client != cid.String() {
			t.Errorf("the browser's token: %+v %v", who, err)
		}
	}
	runCLI("login", "--hub", url, "--yes").must(t, 2, "--yes goes with --approve")
}
