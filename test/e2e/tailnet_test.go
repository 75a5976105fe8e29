package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tailscale.com/envknob"
	"tailscale.com/tsnet"

	"github.com/camchain/camchain/internal/testutil/headscale"
)

// TestRemoteViewerOverTailnet: remote access without port forwarding
// (docs/SPEC.md §11.12). A real headscale control server with its embedded
// DERP relay, on loopback; the real camchaind joins that tailnet with
// `run --tailscale` and a pre-auth key in $TS_AUTHKEY; a camera (the
// agent on the built-in sample) pairs with it over the LAN. A "phone" —
// a second tailscale node in this process, reachable only through the
// tailnet's DERP relay, whose SOCKS5 proxy the real `camchain` uses — logs
// in at the hub's tailnet address, pinning the hub's own certificate
// (headscale issues none), and watches the camera live: every segment
// verified, the file decodes. The camera link is not served on the
// tailnet, and the auth key appears in none of the hub's output, debug
// logs included.
func TestRemoteViewerOverTailnet(t *testing.T) {
	hs := headscale.StartT(t)
	key, err := hs.PreAuthKey("owner")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- headscale output:\n%s", hs.Output())
		}
	})

	h := initHub(t)
	hubEnv := append(append([]string{}, headscale.Env...), "TS_AUTHKEY="+key)
	h.proc = startWith(t, hubEnv, 90*time.Second, "camchaind", "ready", "run", "--data", h.data, "--http", h.http, "--link", h.link,
		"--log-level", "debug", "--tailscale", "--tailscale-control-url", hs.URL)
	// The hub prints its tailnet origin and, as headscale issues no
	// certificate, its own certificate's fingerprint to pin.
	waitFor(t, 10*time.Second, "the hub's tailnet lines", func() bool { return strings.Contains(h.output(), "the camera link is not on the tailnet") })
	m := regexp.MustCompile(`tailnet: (https://100\.\d+\.\d+\.\d+)/ .*\n.*fingerprint ([0-9a-f]{64})`).FindStringSubmatch(h.output())
	if m == nil {
		t.Fatalf("no tailnet origin and fingerprint in the hub's output:\n%s", h.output())
	}
	origin, fp := m[1], m[2]
	remote := origin + "#sha256=" + fp

	a := runAgent(t, filepath.Join(t.TempDir(), "agent"), "--segment", "1s")
	owner := newWallet(t)
	camera := pair(t, h, a, owner) // over the LAN, where the camera is
	waitFor(t, 40*time.Second, "segments acknowledged", func() bool { return seqOf(a.status(t).Acked) >= 2 })

	// The phone: its own node on the tailnet, in this process.
	for _, kv := range headscale.Env {
		k, v, _ := strings.Cut(kv, "=")
		envknob.Setenv(k, v)
	}
	phone := &tsnet.Server{Dir: t.TempDir(), Hostname: "phone", AuthKey: key, ControlURL: hs.URL, Ephemeral: true,
		Logf: func(string, ...any) {}, UserLogf: func(string, ...any) {}}
	t.Cleanup(func() { phone.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := phone.Up(ctx); err != nil {
		t.Fatalf("the phone's node: %v", err)
	}
	proxyAddr, proxyCred, _, err := phone.Loopback()
	if err != nil {
		t.Fatal(err)
	}
	// Only the API is on the tailnet: the camera link's port there is
	// closed.
	_, linkPort, _ := strings.Cut(h.link, ":")
	if c, err := phone.Dial(ctx, "tcp", strings.TrimPrefix(origin, "https://")+":"+linkPort); err == nil {
		c.Close()
		t.Fatalf("the camera link (port %s) answers on the tailnet", linkPort)
	}

	phoneEnv := append([]string{}, "CAMCHAIN_HOME="+filepath.Join(t.TempDir(), "phone-home"),
		"HTTPS_PROXY=socks5://tsnet:"+proxyCred+"@"+proxyAddr, "NO_PROXY=")
	rc, out, errs := camchainEnv(phoneEnv, append([]string{"login", "--hub", remote}, owner.flags()...)...)
	if rc != 0 || !strings.Contains(out, "logged in to "+origin) || !strings.Contains(out, "enrolled as a new client") {
		t.Fatalf("login over the tailnet: exit %d\n%s%s", rc, out, errs)
	}
	file := filepath.Join(t.TempDir(), "live.mp4")
	rc, out, errs = camchainEnv(phoneEnv, "watch", "--camera", camera, "--hub", remote, "--segments", "3", "--out", file, "--timeout", "60s")
	if rc != 0 || !strings.Contains(out, "verified 3 segment(s)") {
		t.Fatalf("watch over the tailnet: exit %d\n%s%s", rc, out, errs)
	}
	if b, err := exec.Command("ffmpeg", "-v", "error", "-i", file, "-f", "null", "-").CombinedOutput(); err != nil || len(b) != 0 {
		t.Fatalf("ffmpeg decoding what was watched over the tailnet: %v\n%s", err, b)
	}
	// A wrong pin is refused on the tailnet as anywhere.
	bad := origin + "#sha256=" + strings.Repeat("ab", 32)
	if rc, _, errs := camchainEnv(phoneEnv, "watch", "--camera", camera, "--hub", bad, "--segments", "1", "--timeout", "20s"); rc == 0 || !strings.Contains(errs, "not the pinned") {
		t.Fatalf("watch with a wrong pin: exit %d: %s", rc, errs)
	}
	if strings.Contains(h.output(), key) {
		t.Fatal("the tailnet auth key appears in the hub's output")
	}
}
