package e2e

import (
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestHTTPSHubOffLoopback: a hub on 127.0.0.2 (a loopback address, but not
// 127.0.0.1, so the rule treats it as any LAN address) serves its API over
// HTTPS only and prints its certificate's fingerprint with a QR code of the
// login command. The owner's first login without the fingerprint is
// refused, with it pinned; pairing, the camera's uploads (the camera gets
// the pin in the pairing's hub URL) and reads all go over the pinned TLS.
func TestHTTPSHubOffLoopback(t *testing.T) {
	t.Setenv("CAMCHAIN_HOME", t.TempDir())
	h := initHub(t)
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	h.http = l.Addr().String()
	l.Close()
	h.run(t)
	base := "https://" + h.http
	// "ready" may come before the rest of the start-up banner.
	var out string
	waitFor(t, 10*time.Second, "camchaind's TLS banner", func() bool {
		out = h.output()
		return strings.Contains(out, "log in and pin it with:") && strings.Contains(out, "--hub-fingerprint")
	})
	m := regexp.MustCompile(`SHA-256 fingerprint ([0-9a-f]{64})`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "API:   "+base+"/api/v1/status") ||
		!strings.Contains(out, "camchain login --hub "+base+" --hub-fingerprint "+m[1]) || !strings.ContainsAny(out, "▀▄█") {
		t.Fatalf("camchaind does not print the fingerprint, the login command and its QR code:\n%s", out)
	}
	fp := m[1]
	if rc, _, _ := camchain("login", "--hub", "http://"+h.http); rc == 0 {
		t.Fatal("plain HTTP to an off-loopback hub worked")
	}
	owner := newWallet(t)
	rc, _, errs := camchain(append([]string{"login", "--hub", base}, owner.flags()...)...)
	if rc != 2 || !strings.Contains(errs, fp) {
		t.Fatalf("a first login without the fingerprint: exit %d: %s", rc, errs)
	}
	if rc, _, errs := camchain(append([]string{"login", "--hub", base, "--hub-fingerprint", fp}, owner.flags()...)...); rc != 0 {
		t.Fatalf("login with the fingerprint: %s", errs)
	}
	a := runAgent(t, filepath.Join(t.TempDir(), "agent"), "--speed", "10")
	rc, pout, errs := camchain(append([]string{"pair", pairingCode(t, a.data), "--hub", base, "--yes"}, owner.flags()...)...)
	if rc != 0 {
		t.Fatalf("pair over pinned HTTPS: %s%s", pout, errs)
	}
	camera := strings.Fields(pout)[1]
	h.tlsPin = fp
	h.readAs(t, owner)
	waitFor(t, 30*time.Second, "the camera's imprint confirmed and its segments uploaded", func() bool {
		s := a.status(t)
		return s.Paired && s.Link == "connected" && hubHead(t, h, camera) >= 2
	})
	if rc, out, errs := camchain("device", "show", camera, "--hub", base); rc != 0 || !strings.Contains(out, camera) {
		t.Fatalf("device show over the remembered pin: %s%s", out, errs)
	}
}
