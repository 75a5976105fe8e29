package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// TestE2EESubStream: a camera's sub stream is sealed as its main one is.
// With the owner's policy on before anything is recorded, a camera that
// records a main and a sub stream (both from the test camera's built-in
// sample, over RTSP) leaves no plaintext frame of either on the hub or on
// its card; every sub segment on the hub and the card is sealed as a
// segment of the sub stream's chain (its header names the sub stream and
// its own seq), under a content key whose envelope the hub serves, and
// the owner's viewing key opens it into the sample; `camchain verify` of
// the hub's sealed sub chain passes without a key; `camchain watch
// --stream sub` verifies the sealed sub chain and decrypts it into a file
// ffmpeg decodes; a viewer granted with history from before the first
// segment gets the sub stream's keys from the owner's `camchain
// history-keys` and watches it decrypted.
func TestE2EESubStream(t *testing.T) {
	t.Parallel()
	needles := plaintextNeedles(t)
	h := initHub(t)
	h.run(t)
	camAddr := freeAddr(t)
	src := "rtsp://" + camAddr + "/sample"
	a := runAgent(t, filepath.Join(t.TempDir(), "agent"), "--source", src, "--sub-source", src, "--camera-max-backoff", "1s")
	owner := newWallet(t)
	camera := pair(t, h, a, owner)
	// Paired with the default: encrypting from the imprint on, no
	// `camchain encryption --on` needed. The RTSP source starts once the
	// camera is paired, so the camera records nothing unpaired (which is in
	// the clear: there is no owner to seal to, SPEC §17.4).
	waitFor(t, 60*time.Second, "the camera encrypting", func() bool { return e2eeState(t, a) == "on" })
	start(t, "camchain-testcam", "ready", "-addr", camAddr)
	waitFor(t, 90*time.Second, "4 sub segments acknowledged", func() bool { return seqOf(a.status(t).SubAcked) >= 3 })

	ownerKey := viewingKeyOf(t, owner)
	camKey, err := keys.ParseAddress(camera)
	if err != nil {
		t.Fatal(err)
	}
	envs := decodedEnvelopes(t, h, camera)
	camDir := strings.ToLower(strings.TrimPrefix(camera, "0x"))
	subSeg := func(root string, seq uint64) string {
		return filepath.Join(root, camDir, "0.sub", "seg", filepath.Base(segPath("", camera, seq)))
	}
	head := uint64(seqOf(a.status(t).SubAcked))
	for seq := uint64(0); seq <= head; seq++ {
		hubSeg, err := os.ReadFile(subSeg(filepath.Join(h.data, "recordings"), seq))
		if err != nil {
			t.Fatalf("the hub misses sub segment %d: %v", seq, err)
		}
		card, err := os.ReadFile(subSeg(filepath.Join(a.data, "store"), seq))
		if err != nil || !bytes.Equal(card, hubSeg) {
			t.Fatalf("sub segment %d: the card's differs from the hub's (%v)", seq, err)
		}
		hdr, err := e2ee.ParseSealedHeader(hubSeg)
		if err != nil {
			t.Fatalf("sub segment %d on the hub is not sealed: %v", seq, err)
		}
		if hdr.Stream != feedchain.StreamSub || hdr.Seq != seq || hdr.Camera != camKey {
			t.Fatalf("sub segment %d is sealed as segment %d of stream %s of camera %s", seq, hdr.Seq, hdr.Stream, hdr.Camera.Hex())
		}
		env := envs[hdr.Serial]
		if env == nil {
			t.Fatalf("sub segment %d is sealed under content key %d, whose envelope the hub does not serve", seq, hdr.Serial)
		}
		if plain := openSegment(t, ownerKey, env, hdr, hubSeg); seq == 0 && !holdsPlaintext(plain, needles) {
			t.Fatalf("sub segment %d opened by the owner holds no frame of the sample", seq)
		}
		// The same bytes are not a main-stream segment's: its key is of
		// the sub stream.
		ck, err := ownerKey.Open(env)
		if err != nil {
			t.Fatal(err)
		}
		if mk, err := ck.Segment(feedchain.StreamMain, seq); err == nil {
			if _, err := mk.OpenSegment(hubSeg); err == nil {
				t.Fatalf("sub segment %d opens under the main stream's key of seq %d", seq, seq)
			}
		}
	}

	chainDir := filepath.Join(h.data, "recordings", camDir, "0.sub")
	rc, out, errs := camchain("verify", "--hub", h.url(), chainDir)
	if !strings.Contains(out, "verified") || strings.Contains(out, "✗ ") || (rc != 0 && rc != 1) {
		// Exit 1 only for the segments after the last checkpoint.
		t.Fatalf("verify of the hub's sealed sub chain: exit %d\n%s%s", rc, out, errs)
	}

	file := filepath.Join(t.TempDir(), "sub.mp4")
	rc, out, errs = camchain(append([]string{"watch", "--camera", camera, "--stream", "sub", "--hub", h.url(), "--segments", "3", "--out", file, "--timeout", "60s"}, owner.flags()...)...)
	if rc != 0 || !strings.Contains(out, "verified 3 segment(s)") {
		t.Fatalf("watch --stream sub of the encrypted camera: exit %d\n%s%s", rc, out, errs)
	}
	if b, err := exec.Command("ffmpeg", "-v", "error", "-i", file, "-f", "null", "-").CombinedOutput(); err != nil || len(b) != 0 {
		t.Fatalf("ffmpeg decoding what watch --stream sub decrypted: %v\n%s", err, b)
	}
	if b, _ := os.ReadFile(file); !bytes.Contains(b, needles["SPS"]) {
		t.Fatal("watch --stream sub wrote no plaintext SPS")
	}

	// History-from on the sub stream (SPEC §17.6): a viewer granted now,
	// with history from before the first segment, gets from the owner's
	// `camchain history-keys` the keys of both streams' recordings, and
	// `camchain watch --stream sub` decrypts the sub stream's for it.
	viewer := newWallet(t)
	viewerAddr := walletAddress(t, viewer)
	histFrom := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	mustCLI(t, owner, "grant", "--camera", camera, "--viewer", viewerAddr, "--history-from", histFrom, "--hub", h.url())
	mustCLI(t, viewer, "wallet", "viewing-key", "--register", "--hub", h.url())
	mustCLI(t, owner, "login", "--hub", h.url())
	out = mustCLI(t, owner, "history-keys", "--camera", camera, "--viewer", viewerAddr, "--hub", h.url(), "--json")
	var res struct {
		Content   int `json:"content_keys"`
		Segments  int `json:"segment_keys"`
		Envelopes int `json:"envelopes"`
	}
	// One period, still being recorded (the default 24 h): its keys go
	// segment by segment, both streams' (at least the 4 sub segments').
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Content+res.Segments < 4 || res.Envelopes != 1 {
		t.Fatalf("history-keys for a camera with a sub stream: %+v, %v\n%s", res, err, out)
	}
	mustCLI(t, viewer, "login", "--hub", h.url())
	vfile := filepath.Join(t.TempDir(), "viewer-sub.mp4")
	rc, out, errs = camchain(append([]string{"watch", "--camera", camera, "--stream", "sub", "--hub", h.url(), "--from", histFrom, "--segments", "3", "--out", vfile, "--timeout", "60s"}, viewer.flags()...)...)
	if rc != 0 || !strings.Contains(out, "verified 3 segment(s)") {
		t.Fatalf("watch --stream sub from history-from as the viewer: exit %d\n%s%s", rc, out, errs)
	}
	if b, err := exec.Command("ffmpeg", "-v", "error", "-i", vfile, "-f", "null", "-").CombinedOutput(); err != nil || len(b) != 0 {
		t.Fatalf("ffmpeg decoding what the viewer's watch --stream sub decrypted: %v\n%s", err, b)
	}
	if b, _ := os.ReadFile(vfile); !bytes.Contains(b, needles["SPS"]) {
		t.Fatal("the viewer's watch --stream sub wrote no plaintext SPS")
	}

	if hits := findPlaintext(t, h.data, needles); len(hits) > 0 {
		t.Errorf("plaintext in the hub's data directory: %v", hits)
	}
	if hits := findPlaintext(t, a.data, needles); len(hits) > 0 {
		t.Errorf("plaintext on the camera's card: %v", hits)
	}
}
