package e2e

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/camchain/camchain/internal/e2ee"
	cwallet "github.com/camchain/camchain/internal/wallet"
)

// TestVerifiedPlayerE2EE runs ui/test/playere2ee.test.mjs (playwright-core
// driving Debian's Chromium) against a real hub and a real camera whose
// owner turned end-to-end encryption on (camchain encryption --on, SPEC
// §17.4) and whose agent streams sealed 200 ms parts: the page verifies
// each sealed segment and part, opens it with the owner's viewing key
// (derived in the page from the wallet) through the camera-signed
// envelope, and plays it, live with parts and a recorded range. A viewer
// granted, revoked, and granted again (history from the start, so the hub
// serves it the whole recording) cannot decrypt a segment recorded while
// it was revoked: the page says so and appends nothing. A viewer granted
// afterwards with history from that segment's start plays it, through the
// history envelope the owner's `camchain history-keys` made (SPEC §17.6).
func TestVerifiedPlayerE2EE(t *testing.T) {
	ui, chromium := browserTestDeps(t)
	h := initHub(t)
	h.run(t)
	camAddr := freeAddr(t)
	a := runAgent(t, filepath.Join(t.TempDir(), "agent"), "--source", "rtsp://"+camAddr+"/sample", "--parts", "200ms", "--camera-max-backoff", "1s")
	owner, viewer := newWallet(t), newWallet(t)
	camera := pair(t, h, a, owner)
	viewerAddr := walletAddress(t, viewer)
	// Paired with the default: encrypting from the imprint on, no
	// `camchain encryption --on` needed. The RTSP source starts once the
	// camera is paired, so the camera records nothing unpaired (which is in
	// the clear: there is no owner to seal to, SPEC §17.4).
	waitFor(t, 60*time.Second, "the camera encrypting", func() bool { return e2eeState(t, a) == "on" })
	start(t, "camchain-testcam", "ready", "-addr", camAddr)
	waitFor(t, 60*time.Second, "3 segments on the hub", func() bool { return hubHead(t, h, camera) >= 2 })

	// Granted, then revoked: the content key drawn at the revoke is not wrapped to the viewer.
	mustCLI(t, owner, "grant", "--camera", camera, "--viewer", viewerAddr, "--hub", h.url())
	mustCLI(t, viewer, "wallet", "viewing-key", "--register", "--hub", h.url())
	granted := uint64(0)
	waitFor(t, 60*time.Second, "an envelope listing the viewer", func() bool {
		for _, e := range envelopesOf(t, h, camera) {
			if lists(e, viewerAddr) {
				granted = e.Serial
				return true
			}
		}
		return false
	})
	mustCLI(t, owner, "revoke", "--camera", camera, "--viewer", viewerAddr, "--hub", h.url())
	revoked := uint64(0)
	waitFor(t, 60*time.Second, "an envelope after the revoke", func() bool {
		es := envelopesOf(t, h, camera)
		last := es[len(es)-1]
		revoked = last.Serial
		return last.Serial > granted && !lists(last, viewerAddr)
	})
	// A whole segment sealed under that key, on the hub.
	var after e2ee.SealedHeader
	waitFor(t, 60*time.Second, "a segment sealed under the key drawn at the revoke", func() bool {
		head := hubHead(t, h, camera)
		for seq := uint64(0); int64(seq) < head; seq++ {
			b, err := os.ReadFile(segPath(filepath.Join(h.data, "recordings"), camera, seq))
			if err != nil {
				continue
			}
			if hdr, err := e2ee.ParseSealedHeader(b); err == nil && hdr.Serial == revoked {
				after = *hdr
				return true
			}
		}
		return false
	})
	mustCLI(t, owner, "login", "--hub", h.url())
	recs, err := h.client(t).Recordings(context.Background(), camera, -1, 0, 500)
	if err != nil || uint64(len(recs.Items)) <= after.Seq {
		t.Fatalf("recordings: %+v, %v", recs, err)
	}
	rec := recs.Items[after.Seq]
	if rec.Seq != after.Seq {
		t.Fatalf("recordings item %d is seq %d", after.Seq, rec.Seq)
	}
	// Granted again, with all history: the hub serves it the recording, whose key it does not hold.
	mustCLI(t, owner, "grant", "--camera", camera, "--viewer", viewerAddr, "--hub", h.url())
	waitFor(t, 60*time.Second, "the live view's segments", func() bool { return hubHead(t, h, camera) >= int64(after.Seq)+2 })

	// Another viewer, granted later with history from that segment's
	// start: the owner's `camchain history-keys` re-wraps it the keys of
	// what was recorded since (SPEC §17.6), and the page opens the same
	// segment through that history envelope.
	historyViewer := newWallet(t)
	hvAddr := walletAddress(t, historyViewer)
	revokedStart, err := time.Parse(time.RFC3339Nano, rec.Start)
	if err != nil {
		t.Fatal(err)
	}
	mustCLI(t, owner, "grant", "--camera", camera, "--viewer", hvAddr, "--history-from", time.Unix(revokedStart.Unix(), 0).UTC().Format(time.RFC3339), "--hub", h.url())
	mustCLI(t, historyViewer, "wallet", "viewing-key", "--register", "--hub", h.url())
	mustCLI(t, owner, "login", "--hub", h.url())
	t.Logf("history-keys: %s", mustCLI(t, owner, "history-keys", "--camera", camera, "--viewer", hvAddr, "--hub", h.url()))

	load := func(w wallet) string {
		k, err := cwallet.NewKeystore(w.dir, cwallet.LightScrypt).Load("e2e passphrase")
		if err != nil {
			t.Fatal(err)
		}
		return "0x" + hex.EncodeToString(crypto.FromECDSA(k.ECDSA()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", nodeTestArgs("test/playere2ee.test.mjs")...)
	cmd.Dir = ui
	cmd.Env = append(os.Environ(), "HUB_URL="+h.url(), "OWNER_KEY="+load(owner), "VIEWER_KEY="+load(viewer), "HISTORY_VIEWER_KEY="+load(historyViewer), "CAMERA="+camera,
		"REVOKED_START="+rec.Start, "REVOKED_SECONDS="+fmt.Sprint(rec.Duration), "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("segment %d sealed under content key %d (drawn at the revoke; %d listed the viewer)\nnode --test test/playere2ee.test.mjs:\n%s", after.Seq, revoked, granted, out)
	if err != nil {
		t.Fatalf("the browser test failed: %v", err)
	}
}
