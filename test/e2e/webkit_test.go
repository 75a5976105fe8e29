package e2e

import (
	"context"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	cwallet "github.com/camchain/camchain/internal/wallet"
)

// TestWebKitPlayer runs the verified player in a WebKit engine
// (ui/test/webkit.test.mjs): Debian's WebKitGTK MiniBrowser driven over W3C
// WebDriver by WebKitWebDriver (webkit2gtk-driver), under xvfb-run, against
// a real hub (over HTTPS: see below) and a real camera recording the
// built-in sample. The owner
// signs in with a wallet in the page; the live view and a recorded range
// play through ManagedMediaSource (MediaSource hidden from the page, as on
// an iPhone), then the live view through WebKit's MediaSource, every
// segment verified in the page and frames decoded; and, through
// ManagedMediaSource, the live view of a second camera (RTSP, its agent
// streaming 200 ms parts) plays its parts as they verify, "unverified
// part" then "verified".
func TestWebKitPlayer(t *testing.T) {
	ui, _ := browserTestDeps(t)
	driver, err := exec.LookPath("WebKitWebDriver")
	if err != nil {
		t.Fatalf("WebKitWebDriver is not installed (%v): apt-get install webkit2gtk-driver (.ci/run does)", err)
	}
	xvfb, err := exec.LookPath("xvfb-run")
	if err != nil {
		t.Fatalf("xvfb-run is not installed (%v): apt-get install xvfb xauth (.ci/run does)", err)
	}
	browsers, _ := filepath.Glob("/usr/lib/*/webkit2gtk-4.*/MiniBrowser")
	if len(browsers) == 0 {
		t.Fatal("WebKitGTK's MiniBrowser is not installed: apt-get install webkit2gtk-driver (it depends on libwebkit2gtk-4.1-0, which has it)")
	}
	// HTTPS on loopback (--tls, a certificate the hub generates): WebKit
	// keeps no Secure cookie from http://127.0.0.1 — unlike Chromium it
	// does not take loopback as a secure origin for cookies — and the
	// session cookie is __Host- (Secure). The browser accepts the
	// certificate (acceptInsecureCerts), the CLI pins its fingerprint.
	t.Setenv("CAMCHAIN_HOME", t.TempDir())
	h := initHub(t)
	h.run(t, "--tls")
	var banner string
	waitFor(t, 10*time.Second, "camchaind's TLS banner", func() bool {
		banner = h.output()
		return strings.Contains(banner, "--hub-fingerprint")
	})
	fp := regexp.MustCompile(`SHA-256 fingerprint ([0-9a-f]{64})`).FindStringSubmatch(banner)
	if fp == nil {
		t.Fatalf("no fingerprint in camchaind's banner:\n%s", banner)
	}
	h.tlsPin = fp[1]
	a := runAgent(t, filepath.Join(t.TempDir(), "cam"))
	w := newWallet(t)
	// E2EE off on both: WebKit plays them without a viewing key
	// (TestVerifiedPlayerE2EE decrypts, in Chromium).
	cam := pairClear(t, h, a, w)
	tc := runTestcam(t)
	publishFor(t, "rtsp://"+tc.addr+"/main", "320x180", h264AAC, 10*time.Minute)
	a2 := runAgent(t, filepath.Join(t.TempDir(), "partscam"), "--source", "rtsp://"+tc.addr+"/main", "--parts", "200ms")
	camParts := pairClear(t, h, a2, w)
	waitFor(t, 60*time.Second, "recordings on the hub", func() bool { return hubHead(t, h, cam) >= 12 })
	ownerKey, err := cwallet.NewKeystore(w.dir, cwallet.LightScrypt).Load("e2e passphrase")
	if err != nil {
		t.Fatal(err)
	}
	shots := os.Getenv("CAMCHAIN_TEST_OUTPUT")
	if shots == "" {
		shots = filepath.Join(os.TempDir(), "camchain-webkit-screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, xvfb, append([]string{"-a", "node"}, nodeTestArgs("test/webkit.test.mjs")...)...)
	cmd.Dir = ui
	cmd.Env = append(os.Environ(), "HUB_URL=https://"+h.http, "OWNER_KEY=0x"+hex.EncodeToString(crypto.FromECDSA(ownerKey.ECDSA())),
		"CAMERA="+cam, "CAMERA_PARTS="+camParts, "MINIBROWSER="+browsers[0], "WEBKIT_WEBDRIVER="+driver, "SHOTS="+shots)
	out, err := cmd.CombinedOutput()
	t.Logf("xvfb-run node --test test/webkit.test.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("the WebKit test failed: %v", err)
	}
	t.Logf("screenshots in %s", shots)
}
