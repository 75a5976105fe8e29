package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEvidenceReveal (issue 18 point 5, SPEC §10.8): with the owner's
// encryption policy on, a real agent seals its segments. The owner exports
// an evidence bundle of them with --reveal and without. A stranger — no
// wallet, no login, no network, a home of its own — verifies both against
// the ledger's genesis: the revealed bundle says "revealed: playable" and
// `--out` writes each clip as an MP4 that ffprobe and ffmpeg decode and
// that holds the sample's frames; the other verifies, says its clips are
// sealed and writes nothing, and its bytes are exactly the revealed
// bundle's inner bundle (the hub's, as served). A viewer granted only
// after those segments were recorded, whose viewing key is therefore in
// none of their envelopes, cannot reveal them: export --reveal fails
// naming the clip and writes nothing.
func TestEvidenceReveal(t *testing.T) {
	t.Parallel() // mostly waiting for a checkpoint period to end
	needles := plaintextNeedles(t)
	h := initHub(t)
	h.run(t)
	camAddr := freeAddr(t)
	a := runAgent(t, filepath.Join(t.TempDir(), "agent"), "--source", "rtsp://"+camAddr+"/sample", "--camera-max-backoff", "1s")
	owner, viewer := newWallet(t), newWallet(t)
	camera := pair(t, h, a, owner)
	mustCLI(t, owner, "policy", "--camera", camera, "--period", "1m", "--hub", h.url())
	// Paired with the default: encrypting from the imprint on, no
	// `camchain encryption --on` needed. The RTSP source starts once the
	// camera is paired, so the camera records nothing unpaired (which is in
	// the clear: there is no owner to seal to, SPEC §17.4).
	waitFor(t, 60*time.Second, "the camera encrypting", func() bool { return e2eeState(t, a) == "on" })
	start(t, "camchain-testcam", "ready", "-addr", camAddr)
	waitFor(t, 150*time.Second, "a checkpoint over 2 segments on the ledger", func() bool {
		cps, err := h.client(t).Checkpoints(context.Background(), camera, -1, 0, 10)
		return err == nil && len(cps.Items) > 0 && cps.Items[len(cps.Items)-1].LastSeq >= 1
	})
	cps, _ := h.client(t).Checkpoints(context.Background(), camera, -1, 0, 10)
	last := cps.Items[len(cps.Items)-1].LastSeq
	recs, err := h.client(t).Recordings(context.Background(), camera, -1, 0, 500)
	if err != nil || uint64(len(recs.Items)) <= last {
		t.Fatalf("recordings: %+v, %v", recs, err)
	}
	lastStart, _ := time.Parse(time.RFC3339Nano, recs.Items[last].Start)
	from, to := recs.Items[0].Start, lastStart.Add(time.Millisecond).Format(time.RFC3339Nano)
	nClips := int(last) + 1

	mustCLI(t, owner, "login", "--hub", h.url())
	dir := t.TempDir()
	revealed, sealed := filepath.Join(dir, "revealed.cbor"), filepath.Join(dir, "sealed.cbor")
	out := mustCLI(t, owner, "evidence", "export", "--hub", h.url(), "--camera", camera, "--from", from, "--to", to, "-o", revealed, "--reveal")
	if !strings.Contains(out, "revealed the segment keys of") {
		t.Fatalf("export --reveal:\n%s", out)
	}
	rc, out, errs := camchain("evidence", "export", "--hub", h.url(), "--camera", camera, "--from", from, "--to", to, "-o", sealed)
	if rc != 0 || !strings.Contains(out, "play only with --reveal") {
		t.Fatalf("export without --reveal: exit %d\n%s%s", rc, out, errs)
	}
	sealedBytes, _ := os.ReadFile(sealed)
	revealedBytes, _ := os.ReadFile(revealed)
	if holdsPlaintext(sealedBytes, needles) || holdsPlaintext(revealedBytes, needles) {
		t.Fatal("an evidence bundle holds a plaintext frame: the clips should be sealed in both")
	}
	if !bytes.Contains(revealedBytes, sealedBytes) {
		t.Fatal("the revealed bundle does not wrap the hub's bundle byte for byte")
	}

	// The stranger: a home of its own, no wallet, no hub.
	strangerDir := t.TempDir()
	genesis := filepath.Join(strangerDir, "genesis.json")
	g, err := os.ReadFile(filepath.Join(h.data, "ledger", "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(genesis, g, 0o600)
	stranger := []string{"CAMCHAIN_HOME=" + filepath.Join(strangerDir, "home"), "CAMCHAIN_HUB=http://127.0.0.1:1"}
	for _, c := range []struct {
		file    string
		want    string
		written int
	}{
		{revealed, "revealed: playable", nClips},
		{sealed, "sealed: not playable without its key", 0},
	} {
		clips := filepath.Join(strangerDir, filepath.Base(c.file)+".clips")
		rc, out, errs := camchainEnv(stranger, "evidence", "verify", c.file, "--genesis", genesis, "--out", clips, "--json")
		if rc != 0 {
			t.Fatalf("the stranger's evidence verify %s: exit %d\n%s%s", c.file, rc, out, errs)
		}
		var res struct {
			OK     bool `json:"ok"`
			Report struct {
				Clips []struct {
					Seq      uint64 `json:"seq"`
					Sealed   bool   `json:"sealed"`
					Revealed bool   `json:"revealed"`
				} `json:"clips"`
			} `json:"report"`
			Written []string `json:"written"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil || !res.OK || len(res.Report.Clips) != nClips {
			t.Fatalf("verify --json of %s: %v\n%s", c.file, err, out)
		}
		for _, cl := range res.Report.Clips {
			if !cl.Sealed || cl.Revealed != (c.written > 0) {
				t.Fatalf("%s: clip #%d sealed %v revealed %v", c.file, cl.Seq, cl.Sealed, cl.Revealed)
			}
		}
		if len(res.Written) != c.written {
			t.Fatalf("verify --out of %s wrote %d clip(s), want %d: %v", c.file, len(res.Written), c.written, res.Written)
		}
		es, _ := os.ReadDir(clips)
		if len(es) != c.written {
			t.Fatalf("%s holds %d file(s), want %d", clips, len(es), c.written)
		}
		for _, f := range res.Written {
			if b, err := exec.Command("ffmpeg", "-v", "error", "-i", f, "-f", "null", "-").CombinedOutput(); err != nil || len(b) != 0 {
				t.Fatalf("ffmpeg decoding the revealed clip %s: %v\n%s", f, err, b)
			}
			p := probeSegment(t, f)
			if p.videoCodec != "h264" || p.videoFrames == 0 {
				t.Fatalf("the revealed clip %s: %+v, want H.264 frames", f, p)
			}
		}
		if c.written > 0 {
			first, _ := os.ReadFile(res.Written[0])
			if !holdsPlaintext(first, needles) {
				t.Fatal("the first revealed clip holds no frame of the sample")
			}
		}
		rc, out, _ = camchainEnv(stranger, "evidence", "verify", c.file, "--genesis", genesis)
		if rc != 0 || !strings.Contains(out, c.want) {
			t.Fatalf("the stranger's evidence verify %s does not say %q:\n%s", c.file, c.want, out)
		}
		t.Logf("the stranger verified %s: %s", filepath.Base(c.file), strings.SplitN(out, "\n", 2)[0])
	}

	// A viewer granted now is a recipient of none of those segments'
	// content keys: it cannot reveal them.
	viewerAddr := walletAddress(t, viewer)
	mustCLI(t, owner, "grant", "--camera", camera, "--viewer", viewerAddr, "--hub", h.url())
	mustCLI(t, viewer, "wallet", "viewing-key", "--register", "--hub", h.url())
	mustCLI(t, viewer, "login", "--hub", h.url())
	notFor := filepath.Join(dir, "viewer.cbor")
	rc, out, errs = camchain(append([]string{"evidence", "export", "--hub", h.url(), "--camera", camera, "--from", from, "--to", to, "-o", notFor, "--reveal"}, viewer.flags()...)...)
	if rc != 1 || !strings.Contains(errs, "not encrypted to your viewing key") || !strings.Contains(errs, "clip 0 (record #0)") {
		t.Fatalf("export --reveal by a viewer with no envelope: exit %d, want 1 naming clip 0 and saying it is not encrypted to the viewer\n%s%s", rc, out, errs)
	}
	if _, err := os.Stat(notFor); err == nil {
		t.Fatal("export --reveal that failed wrote the bundle")
	}
}
