package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"tailscale.com/envknob"
	"tailscale.com/tsnet"

	"github.com/camchain/camchain/internal/apitls"
	"github.com/camchain/camchain/internal/testutil/headscale"
	cwallet "github.com/camchain/camchain/internal/wallet"
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
// logs included. Then the phone's browser (Debian's Chromium, on the
// tailnet only through the phone's node) signs in with the owner's wallet
// at the tailnet origin and plays the live view verified, taking the hub's
// certificate by its pinned public key; with another pin it opens nothing.
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
	// E2EE off: the remote viewer's watch writes a file ffmpeg decodes;
	// this test is of the tailnet, not of decryption (TestE2EE's watch
	// decrypts with the owner's key).
	camera := pairClear(t, h, a, owner) // over the LAN, where the camera is
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

	// The phone's browser: Chromium signs in with the owner's wallet at the
	// tailnet origin and plays the live view, through the phone's node
	// only, taking the hub's own certificate by its pinned public key.
	ui, chromium := browserTestDeps(t)
	host := strings.TrimPrefix(origin, "https://") + ":443"
	spki := pinnedSPKI(t, phone, host, fp)
	proxy := connectProxy(t, phone, host)
	ownerKey, err := cwallet.NewKeystore(owner.dir, cwallet.LightScrypt).Load("e2e passphrase")
	if err != nil {
		t.Fatal(err)
	}
	bctx, bcancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer bcancel()
	cmd := exec.CommandContext(bctx, "node", "test/tailnet.mjs", origin, proxy, spki, "0x"+hex.EncodeToString(crypto.FromECDSA(ownerKey.ECDSA())), camera)
	cmd.Dir = ui
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("node test/tailnet.mjs: %v\n%s%s", err, b, stderr.String())
	}
	var page struct {
		WrongPin, State, Text string
		Frames                int
		T                     float64
	}
	if err := json.Unmarshal(b, &page); err != nil {
		t.Fatalf("test/tailnet.mjs printed %q: %v", b, err)
	}
	if page.State != "verified" || page.Frames < 25 || page.T <= 1 {
		t.Fatalf("the browser's live view over the tailnet: state %q (%q), %d frames, at %.1f s\n%s", page.State, page.Text, page.Frames, page.T, stderr.String())
	}
	if !strings.Contains(page.WrongPin, "ERR_CERT") {
		t.Fatalf("a browser pinning another key opened the hub's page: %q", page.WrongPin)
	}
	t.Logf("the browser over the tailnet: %s, %d frames; with another pin: %s", page.State, page.Frames, page.WrongPin)

	if strings.Contains(h.output(), key) {
		t.Fatal("the tailnet auth key appears in the hub's output")
	}
}

// pinnedSPKI is what Chromium's --ignore-certificate-errors-spki-list
// takes for the certificate the hub serves at host on the tailnet (base64
// of the SHA-256 of its public key): read through the phone's node, and
// checked to be the certificate whose fingerprint the hub printed.
func pinnedSPKI(t *testing.T, phone *tsnet.Server, host, fingerprint string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := phone.Dial(ctx, "tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true}) // checked against the printed fingerprint below
	if err := tc.HandshakeContext(ctx); err != nil {
		t.Fatal(err)
	}
	cert := tc.ConnectionState().PeerCertificates[0]
	if got := apitls.Of(cert.Raw).String(); got != fingerprint {
		t.Fatalf("the hub serves a certificate of fingerprint %s on the tailnet, it printed %s", got, fingerprint)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// connectProxy is an HTTP CONNECT proxy on loopback that reaches host, and
// only host, through the phone's tailnet node: the browser's way onto the
// tailnet (Chromium speaks no SOCKS5 with a password, which tsnet's
// loopback proxy wants). It returns the proxy's URL.
func connectProxy(t *testing.T, phone *tsnet.Server, host string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect || r.Host != host {
			http.Error(w, "this proxy reaches only "+host, http.StatusForbidden)
			return
		}
		up, err := phone.Dial(r.Context(), "tcp", host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer up.Close()
		down, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer down.Close()
		if _, err := down.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
			return
		}
		done := make(chan struct{}, 2)
		go func() { io.Copy(up, rw); done <- struct{}{} }()
		go func() { io.Copy(down, up); done <- struct{}{} }()
		<-done
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}
