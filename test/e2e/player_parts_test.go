package e2e

import (
	"context"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	cwallet "github.com/camchain/camchain/internal/wallet"
)

// TestVerifiedPlayerParts runs ui/test/liveparts.test.mjs (playwright-core
// driving Debian's Chromium) against a real hub and a real RTSP camera
// whose agent streams parts (--parts 200ms, SPEC §7.3): the web UI's live
// view asks for parts, plays each one as it verifies, saying "unverified
// part" until the segment's record binds the parts and then "verified",
// and stays near the live edge. Through a proxy between the page and the
// hub, a part with one byte altered, a tail with a byte more than its
// record binds, and a part dropped each show broken with the break's name;
// playback stops, nothing more is appended, and the parts no record bound
// are taken out of the buffer.
func TestVerifiedPlayerParts(t *testing.T) {
	ui, chromium := browserTestDeps(t)
	tc := runTestcam(t)
	publishFor(t, "rtsp://"+tc.addr+"/main", "320x180", h264AAC, 10*time.Minute)
	h := initHub(t)
	h.run(t)
	a := runAgent(t, filepath.Join(t.TempDir(), "agent"), "--source", "rtsp://"+tc.addr+"/main", "--parts", "200ms")
	w := newWallet(t)
	// E2EE off: the page plays the live parts as plaintext (the player
	// without a viewing key); TestVerifiedPlayerE2EE decrypts.
	cam := pairClear(t, h, a, w)
	waitFor(t, 60*time.Second, "two segments on the hub", func() bool { return hubHead(t, h, cam) >= 1 })
	ownerKey, err := cwallet.NewKeystore(w.dir, cwallet.LightScrypt).Load("e2e passphrase")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", nodeTestArgs("test/liveparts.test.mjs")...)
	cmd.Dir = ui
	cmd.Env = append(os.Environ(), "HUB_URL="+h.url(), "OWNER_KEY=0x"+hex.EncodeToString(crypto.FromECDSA(ownerKey.ECDSA())),
		"CAMERA="+cam, "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("node --test test/liveparts.test.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("the browser test failed: %v", err)
	}
}
