package e2e

import (
	"context"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
	cwallet "github.com/camchain/camchain/internal/wallet"
)

// TestVerifiedPlayer runs the verified player's browser test
// (ui/test/player.test.mjs: playwright-core driving Debian's Chromium)
// against a real hub and a real camera recording the built-in sample: live
// view plays and shows verified, a recorded range plays to its signed end
// and seeks, a viewer granted with history-from gets nothing earlier, a
// segment altered on the hub's disk shows broken and stops playback, a
// revoke closes the viewer's live view within 2 s, a real RTSP camera's
// H.264 main stream with audio plays while its H.265 sub stream is
// refused with a message, not a black box, the camera grid plays each
// camera live in a tile, from its sub stream's own chain where it has one,
// and the camera page's recordings timeline draws the gap and the alarm
// the timeline API reports (the camera stopped for 6 s, then a clone of it
// was refused), names each span's integrity (a checkpoint a minute), and
// plays from where it is clicked. Its screenshots go to docs/screenshots
// with -update-screenshots, like TestWebUI's.
func TestVerifiedPlayer(t *testing.T) {
	ui, chromium := browserTestDeps(t)
	h := initHub(t)
	h.run(t)
	camDir := filepath.Join(t.TempDir(), "cam")
	a := runAgent(t, camDir)
	w := newWallet(t)
	// E2EE off, on all three: the page plays plaintext and the hub
	// transcodes the H.265 sub stream, which it cannot do for a sealed one;
	// TestVerifiedPlayerE2EE plays an encrypted camera with the owner's key.
	cam := pairClear(t, h, a, w)
	// A checkpoint a minute, for the timeline's verified segments.
	if code, _, errs := camchain(append([]string{"policy", "--camera", cam, "--period", "1m", "--hub", h.url()}, w.flags()...)...); code != 0 {
		t.Fatalf("policy: %s", errs)
	}
	// A second camera over RTSP: H.264 with AAC as its main stream and
	// H.265 as its sub stream (ffmpeg through the test camera), which
	// Debian's Chromium cannot decode. Ten minutes of video: the browser
	// test plays them last.
	tc := runTestcam(t)
	publishFor(t, "rtsp://"+tc.addr+"/main", "320x180", h264AAC, 10*time.Minute)
	publishFor(t, "rtsp://"+tc.addr+"/sub", "320x180", h265Opus, 10*time.Minute)
	a2 := runAgent(t, filepath.Join(t.TempDir(), "rtspcam"), "--source", "rtsp://"+tc.addr+"/main", "--sub-source", "rtsp://"+tc.addr+"/sub")
	cam2 := pairClear(t, h, a2, w)
	// A third camera whose sub stream is H.264 (a small one of its own),
	// for the grid's live sub-stream tile.
	publishFor(t, "rtsp://"+tc.addr+"/small", "160x90", h264AAC, 10*time.Minute)
	a3 := runAgent(t, filepath.Join(t.TempDir(), "subcam"), "--source", "rtsp://"+tc.addr+"/main", "--sub-source", "rtsp://"+tc.addr+"/small")
	cam3 := pairClear(t, h, a3, w)
	ownerKey, err := cwallet.NewKeystore(w.dir, cwallet.LightScrypt).Load("e2e passphrase")
	if err != nil {
		t.Fatal(err)
	}
	viewerKey, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	// Some recordings first, so that history-from leaves some out.
	waitFor(t, 60*time.Second, "six segments on the hub", func() bool { return hubHead(t, h, cam) >= 5 })
	// A gap and an alarm for the timeline: the camera stops for 6 s, then
	// a copy of its data directory connects beside the restarted original
	// and is refused as a clone (an alarm on the ledger).
	a.stop()
	clone := filepath.Join(t.TempDir(), "clone")
	if out, err := exec.Command("cp", "-a", camDir, clone).CombinedOutput(); err != nil {
		t.Fatalf("copy: %v %s", err, out)
	}
	time.Sleep(6 * time.Second)
	a = runAgent(t, camDir)
	waitFor(t, 30*time.Second, "the camera back on the link", func() bool { return a.status(t).Link == "connected" })
	c := runAgent(t, clone)
	waitFor(t, 30*time.Second, "clone-suspected on the audit log", func() bool {
		return contains(auditKinds(t, h, cam), string(audit.CloneSuspected))
	})
	c.stop()
	historyFrom := time.Now().UTC().Truncate(time.Second)
	if code, out, errs := camchain(append([]string{"grant", "--camera", cam, "--viewer", viewerKey.Address().Hex(),
		"--history-from", historyFrom.Format(time.RFC3339), "--hub", h.url()}, w.flags()...)...); code != 0 {
		t.Fatalf("grant: exit %d: %s%s", code, out, errs)
	}
	waitFor(t, 30*time.Second, "segments after history-from", func() bool { return hubHead(t, h, cam) >= 9 })

	segDir := hubSegmentDir(t, h, cam)
	shots := os.Getenv("CAMCHAIN_TEST_OUTPUT")
	if shots == "" {
		shots = filepath.Join(os.TempDir(), "camchain-player-screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	hexKey := func(k *keys.PrivateKey) string { return "0x" + hex.EncodeToString(crypto.FromECDSA(k.ECDSA())) }
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", nodeTestArgs("test/player.test.mjs")...)
	cmd.Dir = ui
	cmd.Env = append(os.Environ(), "HUB_URL="+h.url(), "OWNER_KEY="+hexKey(ownerKey), "VIEWER_KEY="+hexKey(viewerKey),
		"CAMERA="+cam, "CAMERA_RTSP="+cam2, "CAMERA_SUB="+cam3, "HISTORY_FROM="+historyFrom.Format(time.RFC3339), "SEGMENTS_DIR="+segDir, "SHOTS="+shots,
		"CHROMIUM="+chromium, "CAMCHAIN="+bin("camchain"), "OWNER_KEYSTORE="+w.dir, "OWNER_PASSFILE="+w.pass)
	out, err := cmd.CombinedOutput()
	t.Logf("node --test test/player.test.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("the browser test failed: %v", err)
	}
	t.Logf("screenshots in %s", shots)
	if *updateScreenshots {
		copyScreenshots(t, shots, filepath.Join(filepath.Dir(ui), "docs", "screenshots"), "player-timeline-desktop.png", "player-timeline-phone.png", "grid-desktop.png")
	}
}

// nodeTestArgs runs a browser test file one test at a time; with
// CAMCHAIN_BROWSER_TESTS set (a developer's shortcut), only the tests whose
// name matches that pattern.
func nodeTestArgs(file string) []string {
	args := []string{"--test", "--test-concurrency=1"}
	if p := os.Getenv("CAMCHAIN_BROWSER_TESTS"); p != "" {
		args = append(args, "--test-name-pattern="+p)
	}
	return append(args, file)
}

// hubSegmentDir is the directory of the hub's segment files of the
// camera's main stream: the seg directory under the hub's recordings that
// holds the most segment files of that camera.
func hubSegmentDir(t *testing.T, h *hubProc, cam string) string {
	t.Helper()
	camDir := strings.ToLower(strings.TrimPrefix(cam, "0x"))
	best, most := "", 0
	root := filepath.Join(h.data, "recordings")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() || d.Name() != "seg" || !strings.Contains(p, camDir) || strings.Contains(p, ".sub") {
			return nil
		}
		m, err := filepath.Glob(filepath.Join(p, "*.mp4"))
		if err != nil {
			return err
		}
		if len(m) > most {
			best, most = p, len(m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if best == "" {
		t.Fatalf("no segment directory of camera %s under %s", cam, root)
	}
	return best
}
