package e2e

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"rsc.io/qr"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/pairing"
	"github.com/camchain/camchain/internal/testutil/interop"
	cwallet "github.com/camchain/camchain/internal/wallet"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "copy TestWebUI's screenshots to docs/screenshots")

// TestWebUI runs the web UI's browser test (ui/test/webui.test.mjs:
// playwright-core driving Debian's Chromium, wallets injected as EIP-1193
// providers that enforce MetaMask's checks) against a real hub, a camera
// the owner paired with the CLI, and an unowned camera the test pairs from
// the page. Afterwards it checks on the ledger what the page did. The
// screenshots are kept in the test's output directory (logged), and
// copied to docs/screenshots with -update-screenshots.
func TestWebUI(t *testing.T) {
	ui, chromium := browserTestDeps(t)
	h := initHub(t)
	h.run(t)
	a1 := runAgent(t, filepath.Join(t.TempDir(), "cam1"))
	a2 := runAgent(t, filepath.Join(t.TempDir(), "cam2"))
	w := newWallet(t)
	// E2EE off for camera 1, paired with the CLI: the page turns its
	// policy on and off (camera 2, paired in the page, is on by default).
	cam1 := pairClear(t, h, a1, w)
	// Paired off, the CLI registered no viewing key: register it, for the
	// page to find the CLI's key when it pairs camera 2.
	if code, out, errs := camchain(append([]string{"wallet", "viewing-key", "--register", "--hub", h.url()}, w.flags()...)...); code != 0 {
		t.Fatalf("viewing-key --register: exit %d\n%s%s", code, out, errs)
	}
	pairingCode(t, a2.data) // the unowned camera shows its code
	// A checkpoint a minute, so that the page has something to export.
	if code, _, errs := camchain(append([]string{"policy", "--camera", cam1, "--period", "1m", "--hub", h.url()}, w.flags()...)...); code != 0 {
		t.Fatalf("policy: %s", errs)
	}
	ownerKey, err := cwallet.NewKeystore(w.dir, cwallet.LightScrypt).Load("e2e passphrase")
	if err != nil {
		t.Fatal(err)
	}
	viewerKey, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	hexKey := func(k *keys.PrivateKey) string { return "0x" + hex.EncodeToString(crypto.FromECDSA(k.ECDSA())) }
	shots := os.Getenv("CAMCHAIN_TEST_OUTPUT")
	if shots == "" {
		shots = filepath.Join(os.TempDir(), "camchain-webui-screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "evidence.cbor")
	// A QR code on a fake webcam, for the page's scanner: a well-formed
	// pairing code of a camera that is not on this network.
	qrCam, _ := keys.Generate()
	qrCode, err := pairing.NewCode(qrCam.Address(), "192.0.2.1:4433", link.Pin{7}, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	qrVideo := filepath.Join(t.TempDir(), "qr.y4m")
	writeQRVideo(t, qrVideo, qrCode.String())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "--test", "--test-concurrency=1", "test/webui.test.mjs")
	cmd.Dir = ui
	cmd.Env = append(os.Environ(), "HUB_URL="+h.url(), "OWNER_KEY="+hexKey(ownerKey), "VIEWER_KEY="+hexKey(viewerKey),
		"CAMERA_1="+cam1, "CAMERA_2_DATA="+a2.data, "SHOTS="+shots, "CHROMIUM="+chromium,
		"CAMCHAIN="+bin("camchain"), "OWNER_KEYSTORE="+w.dir, "OWNER_PASSFILE="+w.pass, "EVIDENCE_OUT="+bundle,
		"QR_VIDEO="+qrVideo, "QR_CODE="+qrCode.String(), "QR_CAMERA="+qrCam.Address().Hex())
	out, err := cmd.CombinedOutput()
	t.Logf("node --test test/webui.test.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("the browser test failed: %v", err)
	}
	t.Logf("screenshots in %s", shots)

	// What the page did, read back from the ledger through the API.
	c := h.client(t)
	d, err := c.Device(ctx, cam1)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := c.CameraStatus(ctx, cam1); err != nil || st.Encryption {
		t.Errorf("camera 1's end-to-end encryption: %v, %+v; want off, as it was paired (--no-encryption)", err, st)
	}
	for _, g := range d.Grants {
		if strings.EqualFold(g.Viewer, viewerKey.Address().Hex()) && g.Active {
			t.Errorf("the viewer's grant is still active after the revoke in the page: %+v", g)
		}
	}
	devs, err := c.DevicesOf(ctx, ownerKey.Address().Hex())
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 2 {
		t.Fatalf("the owner has %d cameras on the ledger, want 2 (one paired in the page)", len(devs))
	}
	for _, d := range devs {
		if d.Camera == cam1 {
			continue
		}
		if d.CheckpointPeriod != 600 {
			t.Errorf("camera 2's checkpoint period is %d s on the ledger, want the 600 s set in the page", d.CheckpointPeriod)
		}
		st, err := c.CameraStatus(ctx, d.Camera)
		if err != nil {
			t.Fatal(err)
		}
		if !st.RetentionPolicy || st.RetentionSeconds != 7*86400 {
			t.Errorf("camera 2's retention is %d s (ledger policy %v), want the 7-day policy signed in the page", st.RetentionSeconds, st.RetentionPolicy)
		}
		if !st.Encryption {
			t.Errorf("camera 2's end-to-end encryption is off on the ledger, want on: paired in the page with the default, turned off and on again there")
		}
	}
	// The bundle the page downloaded verifies offline against the
	// ledger's genesis.
	if code, out, errs := camchain("evidence", "verify", bundle, "--genesis", filepath.Join(h.data, "ledger", "config", "genesis.json")); code != 0 || !strings.Contains(out, "VERIFIED") {
		t.Errorf("evidence verify of the page's download: exit %d\n%s%s", code, out, errs)
	}
	if *updateScreenshots {
		copyScreenshots(t, shots, filepath.Join(filepath.Dir(ui), "docs", "screenshots"))
	}
}

// copyScreenshots copies the named screenshots (none named: every file)
// from a browser test's output directory to dst.
func copyScreenshots(t *testing.T, shots, dst string, names ...string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		es, err := os.ReadDir(shots)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			names = append(names, e.Name())
		}
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(shots, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// browserTestDeps returns the UI's source directory and the Chromium to
// drive, and fails the test, saying what to install, when either is missing.
func browserTestDeps(t *testing.T) (ui, chromium string) {
	t.Helper()
	root, err := interop.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ui = filepath.Join(root, "ui")
	if _, err := os.Stat(filepath.Join(ui, "node_modules", "playwright-core", "package.json")); err != nil {
		t.Fatalf("the UI test dependencies are not installed (%v): run `npm ci --prefix ui` (or `make deps`)", err)
	}
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		if chromium, err = exec.LookPath("chromium"); err != nil {
			t.Fatalf("Chromium is not installed (%v): apt-get install chromium (.ci/run does)", err)
		}
	}
	return ui, chromium
}

// writeQRVideo writes a Y4M video (what Chromium's fake webcam plays) of
// text as a QR code, black on white, 8 pixels a module.
func writeQRVideo(t *testing.T, path, text string) {
	t.Helper()
	code, err := qr.Encode(text, qr.L)
	if err != nil {
		t.Fatal(err)
	}
	const w, h, scale = 640, 480, 6
	side := (code.Size + 8) * scale
	if side > h {
		t.Fatalf("QR code of %d modules does not fit %d px", code.Size, h)
	}
	y := make([]byte, w*h)
	for i := range y {
		y[i] = 235
	}
	x0, y0 := (w-side)/2+4*scale, (h-side)/2+4*scale
	for my := 0; my < code.Size; my++ {
		for mx := 0; mx < code.Size; mx++ {
			if !code.Black(mx, my) {
				continue
			}
			for dy := 0; dy < scale; dy++ {
				for dx := 0; dx < scale; dx++ {
					y[(y0+my*scale+dy)*w+x0+mx*scale+dx] = 16
				}
			}
		}
	}
	chroma := make([]byte, w*h/2) // U and V planes of 4:2:0, neutral
	for i := range chroma {
		chroma[i] = 128
	}
	var b strings.Builder
	fmt.Fprintf(&b, "YUV4MPEG2 W%d H%d F10:1 Ip A1:1 C420jpeg\n", w, h)
	for range 10 {
		b.WriteString("FRAME\n")
		b.Write(y)
		b.Write(chroma)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
