package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/media"
	cwallet "github.com/camchain/camchain/internal/wallet"
)

// plaintextNeedles are byte strings any plaintext copy of the sample clip
// holds: its SPS (in every segment's init section) and the first 32 bytes
// of its first IDR slice (in the first segment of each loop).
func plaintextNeedles(t *testing.T) map[string][]byte {
	t.Helper()
	aus, err := media.SplitAccessUnits(media.SampleH264())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, au := range aus {
		for _, n := range au {
			switch typ := n[0] & 0x1f; {
			case typ == 7 && out["SPS"] == nil:
				out["SPS"] = n
			case typ == 5 && out["IDR slice"] == nil && len(n) > 32:
				out["IDR slice"] = n[:32]
			}
		}
	}
	if out["SPS"] == nil || out["IDR slice"] == nil {
		t.Fatal("the sample has no SPS or IDR slice")
	}
	return out
}

// findPlaintext lists the files under dir holding any needle.
func findPlaintext(t *testing.T, dir string, needles map[string][]byte) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for name, n := range needles {
			if bytes.Contains(b, n) {
				hits = append(hits, fmt.Sprintf("%s (%s)", p, name))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

func holdsPlaintext(b []byte, needles map[string][]byte) bool {
	for _, n := range needles {
		if bytes.Contains(b, n) {
			return true
		}
	}
	return false
}

// e2eeState is the agent's status "e2ee" field.
func e2eeState(t *testing.T, a *agentProc) string {
	t.Helper()
	out, err := exec.Command(bin("camchain-agent"), "status", "--data", a.data).Output()
	if err != nil {
		t.Fatalf("camchain-agent status: %v\n%s", err, a.output())
	}
	var s struct {
		E2EE string `json:"e2ee"`
	}
	json.Unmarshal(out, &s)
	return s.E2EE
}

func mustCLI(t *testing.T, w wallet, args ...string) string {
	t.Helper()
	rc, out, errs := camchain(append(args, w.flags()...)...)
	if rc != 0 {
		t.Fatalf("camchain %s: exit %d\n%s%s", strings.Join(args, " "), rc, out, errs)
	}
	return out
}

// viewingKeyOf derives w's viewing key as `camchain wallet viewing-key`
// does.
func viewingKeyOf(t *testing.T, w wallet) *e2ee.PrivateKey {
	t.Helper()
	k, err := cwallet.NewKeystore(w.dir, cwallet.LightScrypt).Load("e2e passphrase")
	if err != nil {
		t.Fatal(err)
	}
	vk, err := e2ee.Derive(k)
	if err != nil {
		t.Fatal(err)
	}
	return vk
}

func segPath(root, camera string, seq uint64) string {
	return filepath.Join(root, strings.ToLower(strings.TrimPrefix(camera, "0x")), "0", "seg", fmt.Sprintf("%016d.mp4", seq))
}

// envelopesOf lists the camera's envelopes on the hub, as the reader.
func envelopesOf(t *testing.T, h *hubProc, camera string) []api.Envelope {
	t.Helper()
	var out []api.Envelope
	from := uint64(0)
	for {
		l, err := h.client(t).Envelopes(context.Background(), camera, 0, from, 64)
		if err != nil {
			t.Fatalf("envelopes: %v", err)
		}
		out = append(out, l.Items...)
		if l.Next == "" {
			return out
		}
		fmt.Sscan(l.Next, &from)
	}
}

// decodedEnvelopes is the camera's envelopes on the hub by serial, each
// checked as the camera's (e2ee.DecodeEnvelope).
func decodedEnvelopes(t *testing.T, h *hubProc, camera string) map[uint64]*e2ee.Envelope {
	t.Helper()
	cam, err := keys.ParseAddress(camera)
	if err != nil {
		t.Fatal(err)
	}
	envs := map[uint64]*e2ee.Envelope{}
	for _, e := range envelopesOf(t, h, camera) {
		raw, _ := hex.DecodeString(strings.TrimPrefix(e.Envelope, "0x"))
		env, err := e2ee.DecodeEnvelope(raw, cam)
		if err != nil {
			t.Fatalf("envelope %d from the hub: %v", e.Serial, err)
		}
		envs[e.Serial] = env
	}
	return envs
}

func lists(e api.Envelope, account string) bool {
	for _, r := range e.Recipients {
		if strings.EqualFold(r, account) {
			return true
		}
	}
	return false
}

// TestE2EE: a camera paired with camchain pair's default (E2EE on, the
// owner's policy and viewing key travelling with the imprint) seals every
// segment and part before its card and the link, from its first segment
// (segment #0 on the hub and the card is sealed). The hub's whole data directory, its
// API responses (recordings, records, envelopes, an evidence bundle) and
// its log, and the camera's card, hold no plaintext frame — while with the
// policy off (camchain pair --no-encryption) the same search finds them — yet `camchain verify` of the
// hub's copy and of the card and `camchain evidence verify` pass without a
// key. The owner's viewing key opens what was recorded; a viewer's opens
// it while granted; after the revoke, the content keys drawn do not list
// the viewer and the viewer's key opens no segment recorded then. Content
// keys rotate under the stream (each checkpoint period, each change of
// recipients) and neither the hub nor the card misses a segment. `camchain
// watch` (whole segments, and live parts) verifies the sealed bytes and
// decrypts them with the owner's viewing key into a file ffmpeg decodes.
func TestE2EE(t *testing.T) {
	t.Parallel() // mostly waiting for a checkpoint period to end
	needles := plaintextNeedles(t)
	t.Run("off: the search finds the plaintext", func(t *testing.T) {
		t.Parallel()
		h := initHub(t)
		h.run(t)
		cam := runTestcam(t)
		a := runAgent(t, filepath.Join(t.TempDir(), "agent"), "--source", "rtsp://"+cam.addr+"/sample")
		owner := newWallet(t)
		// E2EE off, explicitly: the control for the search below.
		camera := pairClear(t, h, a, owner)
		waitFor(t, 60*time.Second, "3 segments on the hub", func() bool { return hubHead(t, h, camera) >= 2 })
		if s := e2eeState(t, a); s != "off" {
			t.Fatalf("e2ee %q paired with --no-encryption, want off", s)
		}
		if hits := findPlaintext(t, h.data, needles); len(hits) == 0 {
			t.Fatal("with E2EE off the search finds no plaintext in the hub's data: the search is broken")
		}
		if hits := findPlaintext(t, a.data, needles); len(hits) == 0 {
			t.Fatal("with E2EE off the search finds no plaintext on the card: the search is broken")
		}
	})
	t.Run("on", func(t *testing.T) {
		t.Parallel()
		testE2EEOn(t, needles)
	})
}

func testE2EEOn(t *testing.T, needles map[string][]byte) {
	h := initHub(t)
	h.run(t)
	// The camera's RTSP source answers only once the camera is paired:
	// an unpaired camera records in the clear (it has no owner to seal
	// to), and nothing is recorded before. Pairing with camchain pair's
	// default is all it takes: the owner's policy (on) and viewing key came
	// with the imprint, so the camera encrypts from its first segment —
	// before the policy is on the ledger, or the hub forwarded anything.
	camAddr := freeAddr(t)
	a := runAgent(t, filepath.Join(t.TempDir(), "agent"), "--source", "rtsp://"+camAddr+"/sample", "--parts", "200ms", "--camera-max-backoff", "1s")
	owner, viewer := newWallet(t), newWallet(t)
	rc, out, errs := camchain(append([]string{"pair", pairingCode(t, a.data), "--hub", h.url(), "--yes"}, owner.flags()...)...)
	if rc != 0 || !strings.Contains(out, "end-to-end encryption: on from the first segment") {
		t.Fatalf("pair with the default: exit %d\n%s%s", rc, out, errs)
	}
	camera := strings.Fields(out)[1]
	h.readAs(t, owner)
	waitFor(t, 30*time.Second, "the camera paired", func() bool { return a.status(t).Paired })
	if s := e2eeState(t, a); s != "on" {
		t.Fatalf("paired with the default, e2ee %q: want on from the imprint", s)
	}
	ownerAddr, viewerAddr := walletAddress(t, owner), walletAddress(t, viewer)
	if st, err := h.client(t).CameraStatus(context.Background(), camera); err != nil || !st.Encryption {
		t.Fatalf("the ledger's policy after camchain pair: %+v, %v; want on", st, err)
	}
	start(t, "camchain-testcam", "ready", "-addr", camAddr)
	mustCLI(t, owner, "policy", "--camera", camera, "--period", "1m", "--hub", h.url())
	waitFor(t, 60*time.Second, "3 segments on the hub", func() bool { return hubHead(t, h, camera) >= 2 })

	// A viewer granted, with a viewing key: the next content key lists it.
	mustCLI(t, owner, "grant", "--camera", camera, "--viewer", viewerAddr, "--hub", h.url())
	mustCLI(t, viewer, "wallet", "viewing-key", "--register", "--hub", h.url())
	var granted api.Envelope
	waitFor(t, 60*time.Second, "an envelope listing the viewer", func() bool {
		for _, e := range envelopesOf(t, h, camera) {
			if lists(e, viewerAddr) {
				granted = e
				return true
			}
		}
		return false
	})
	if !lists(granted, ownerAddr) {
		t.Fatalf("envelope %d lists %v, not the owner", granted.Serial, granted.Recipients)
	}
	mustCLI(t, owner, "revoke", "--camera", camera, "--viewer", viewerAddr, "--hub", h.url())
	revokedAt := time.Now()
	var revoked api.Envelope
	waitFor(t, 60*time.Second, "an envelope after the revoke", func() bool {
		es := envelopesOf(t, h, camera)
		last := es[len(es)-1]
		revoked = last
		return last.Serial > granted.Serial && !lists(last, viewerAddr)
	})
	// Every envelope drawn after that one lists the owner only.
	waitFor(t, 150*time.Second, "a checkpoint on the ledger past the revoke", func() bool {
		cps, err := h.client(t).Checkpoints(context.Background(), camera, -1, 0, 10)
		if err != nil || len(cps.Items) == 0 {
			return false
		}
		ck := cps.Items[len(cps.Items)-1]
		end, _ := time.Parse(time.RFC3339, ck.PeriodEnd)
		return end.After(revokedAt)
	})
	for _, e := range envelopesOf(t, h, camera) {
		if e.Serial >= revoked.Serial && lists(e, viewerAddr) {
			t.Errorf("envelope %d, drawn after the revoke, lists the revoked viewer: %v", e.Serial, e.Recipients)
		}
	}

	// The keys open what they should, and only that.
	ownerKey, viewerKey := viewingKeyOf(t, owner), viewingKeyOf(t, viewer)
	envs := decodedEnvelopes(t, h, camera)
	head := hubHead(t, h, camera)
	openedByViewer, afterRevoke, inParts := 0, 0, 0
	for seq := uint64(0); seq <= uint64(head); seq++ {
		hubSeg, err := os.ReadFile(segPath(filepath.Join(h.data, "recordings"), camera, seq))
		if err != nil {
			t.Fatalf("the hub misses segment %d: %v", seq, err)
		}
		hdr, err := e2ee.ParseSealedHeader(hubSeg)
		if err != nil {
			t.Fatalf("segment %d on the hub is not sealed: %v", seq, err)
		}
		if hdr.Index == 1 {
			inParts++ // recorded while its parts went out sealed (SPEC §17.4)
		}
		env := envs[hdr.Serial]
		if env == nil {
			t.Fatalf("segment %d is sealed under content key %d, whose envelope the hub does not serve", seq, hdr.Serial)
		}
		plain := openSegment(t, ownerKey, env, hdr, hubSeg)
		if !holdsPlaintext(plain, needles) && seq == 0 {
			t.Fatalf("segment %d opened by the owner holds no frame of the sample", seq)
		}
		if ck, err := viewerKey.Open(env); err == nil {
			sk, _ := ck.Segment(hdr.Stream, hdr.Seq)
			if _, err := sk.OpenSegment(hubSeg); err == nil {
				openedByViewer++
			}
			if hdr.Serial >= revoked.Serial {
				t.Errorf("the revoked viewer's key opens content key %d (segment %d, after the revoke)", hdr.Serial, seq)
			}
		} else if hdr.Serial >= revoked.Serial {
			afterRevoke++
		}
	}
	if openedByViewer == 0 || afterRevoke == 0 {
		t.Fatalf("the viewer opened %d segments while granted, and was refused %d after the revoke: want some of each", openedByViewer, afterRevoke)
	}
	if inParts == 0 {
		t.Errorf("none of %d segments was recorded in sealed parts (--parts 200ms)", head+1)
	}
	t.Logf("%d segments, %d in sealed parts, under %d content keys; the viewer opened %d, refused %d after the revoke", head+1, inParts, len(envs), openedByViewer, afterRevoke)
	serials := map[uint64]bool{}
	for s := range envs {
		serials[s] = true
	}
	if len(serials) < 3 {
		t.Errorf("%d content keys across a grant, a revoke and a checkpoint period: want at least 3", len(serials))
	}

	// Every segment on the card too, sealed; the card and the hub agree.
	waitFor(t, 30*time.Second, "the card acknowledged to the hub's head", func() bool { return seqOf(a.status(t).Acked) >= head })
	for seq := uint64(0); seq <= uint64(head); seq++ {
		card, err := os.ReadFile(segPath(filepath.Join(a.data, "store"), camera, seq))
		if err != nil {
			t.Fatalf("the card misses segment %d: %v", seq, err)
		}
		hubSeg, _ := os.ReadFile(segPath(filepath.Join(h.data, "recordings"), camera, seq))
		if !bytes.Equal(card, hubSeg) || !e2ee.IsSealed(card) {
			t.Fatalf("segment %d differs between card and hub, or is not sealed", seq)
		}
	}

	// Verify needs no key.
	chainDir := filepath.Join(h.data, "recordings", strings.ToLower(strings.TrimPrefix(camera, "0x")), "0")
	rc, out, errs = camchain("verify", "--hub", h.url(), chainDir)
	if rc != 1 || !strings.Contains(out, "verified") || strings.Contains(out, "✗ ") {
		// Exit 1 only for the pending segments after the last checkpoint.
		t.Fatalf("verify of the hub's sealed copy: exit %d\n%s%s", rc, out, errs)
	}
	t.Logf("camchain verify of the hub's sealed copy:\n%s", out)
	cardDir := filepath.Join(a.data, "store", strings.ToLower(strings.TrimPrefix(camera, "0x")), "0")
	rc, out, errs = camchain("verify", "--hub", h.url(), cardDir)
	if rc != 1 || !strings.Contains(out, "verified") || strings.Contains(out, "✗ ") {
		t.Fatalf("verify of the card's sealed copy: exit %d\n%s%s", rc, out, errs)
	}
	mustCLI(t, owner, "login", "--hub", h.url())
	cps, _ := h.client(t).Checkpoints(context.Background(), camera, -1, 0, 10)
	ck := cps.Items[len(cps.Items)-1]
	recs, err := h.client(t).Recordings(context.Background(), camera, -1, 0, 500)
	if err != nil || uint64(len(recs.Items)) <= ck.LastSeq {
		t.Fatalf("recordings: %+v, %v", recs, err)
	}
	lastStart, _ := time.Parse(time.RFC3339Nano, recs.Items[ck.LastSeq].Start)
	bundle := filepath.Join(t.TempDir(), "sealed.cbor")
	rc, out, errs = camchain("evidence", "export", "--hub", h.url(), "--camera", camera,
		"--from", recs.Items[0].Start, "--to", lastStart.Add(time.Millisecond).Format(time.RFC3339Nano), "-o", bundle)
	if rc != 0 {
		t.Fatalf("evidence export: exit %d\n%s%s", rc, out, errs)
	}
	rc, out, errs = camchain("evidence", "verify", bundle, "--genesis", filepath.Join(h.data, "ledger", "config", "genesis.json"))
	if want := fmt.Sprintf("VERIFIED: %d clip(s) of camera ", ck.LastSeq+1); rc != 0 || !strings.Contains(out, want) {
		t.Fatalf("evidence verify of the sealed bundle: exit %d, want %q\n%s%s", rc, want, out, errs)
	}

	// camchain export decrypts, for the owner, into a video ffmpeg plays,
	// which camchain verify seals again with the disclosed segment keys of
	// exactly its clips and proves against the camera's records; one byte
	// flipped in the plaintext fails exactly one segment.
	clip := filepath.Join(t.TempDir(), "clip.mp4")
	genesis := filepath.Join(h.data, "ledger", "config", "genesis.json")
	args := []string{"export", "--hub", h.url(), "--camera", camera, "--from", recs.Items[0].Start,
		"--to", lastStart.Add(time.Millisecond).Format(time.RFC3339Nano), "-o", clip}
	rc, out, errs = camchain(append(args, owner.flags()...)...)
	if rc != 0 || !strings.Contains(out, fmt.Sprintf("exported %d segment(s)", ck.LastSeq+1)) {
		t.Fatalf("export of the encrypted camera: exit %d\n%s%s", rc, out, errs)
	}
	if b, err := exec.Command("ffmpeg", "-v", "error", "-i", clip, "-f", "null", "-").CombinedOutput(); err != nil || len(b) != 0 {
		t.Fatalf("ffmpeg decoding the decrypted export: %v\n%s", err, b)
	}
	if b, _ := os.ReadFile(clip); !bytes.Contains(b, needles["SPS"]) {
		t.Fatal("the export holds no plaintext")
	}
	rc, out, errs = camchain("verify", clip, "--genesis", genesis)
	if rc != 0 || !strings.HasPrefix(out, "VERIFIED: "+clip) {
		t.Fatalf("verify of the decrypted export: exit %d\n%s%s", rc, out, errs)
	}
	video, _ := os.ReadFile(clip)
	video[len(video)/2] ^= 0x01
	tampered := filepath.Join(filepath.Dir(clip), "tampered.mp4")
	os.WriteFile(tampered, video, 0o600)
	for _, suffix := range []string{".evidence", ".keys"} {
		b, err := os.ReadFile(clip + suffix)
		if err != nil {
			t.Fatalf("the export's %s file: %v", suffix, err)
		}
		os.WriteFile(tampered+suffix, b, 0o600)
	}
	rc, out, errs = camchain("verify", tampered, "--genesis", genesis)
	if rc != 1 || strings.Count(out, "FAILS: "+tampered+" ") != 1 {
		t.Fatalf("verify of the tampered decrypted export: exit %d\n%s%s", rc, out, errs)
	}
	// Without the keys file the plaintext proves nothing.
	os.Remove(tampered + ".keys")
	os.WriteFile(tampered, func() []byte { b, _ := os.ReadFile(clip); return b }(), 0o600)
	if rc, out, _ = camchain("verify", tampered, "--genesis", genesis); rc != 1 {
		t.Fatalf("verify of a decrypted export without its keys file: exit %d\n%s", rc, out)
	}

	// camchain watch verifies the sealed segments and parts and decrypts
	// them here, with the owner's viewing key from the wallet: the file
	// plays.
	for _, extra := range [][]string{nil, {"--parts"}} {
		out := filepath.Join(t.TempDir(), "watched.mp4")
		args := append([]string{"watch", "--camera", camera, "--hub", h.url(), "--segments", "3", "--out", out, "--timeout", "60s"}, extra...)
		rc, stdout, stderr := camchain(append(args, owner.flags()...)...)
		if rc != 0 || !strings.Contains(stdout, "verified 3 segment(s)") {
			t.Fatalf("watch %v of the encrypted camera: exit %d\n%s%s", extra, rc, stdout, stderr)
		}
		if b, err := exec.Command("ffmpeg", "-v", "error", "-i", out, "-f", "null", "-").CombinedOutput(); err != nil || len(b) != 0 {
			t.Fatalf("ffmpeg decoding what watch %v decrypted: %v\n%s", extra, err, b)
		}
		if extra != nil && !strings.Contains(stdout, "part(s) checked before their segment closed") {
			t.Fatalf("watch --parts took no sealed part:\n%s", stdout)
		}
		if b, _ := os.ReadFile(out); !bytes.Contains(b, needles["SPS"]) {
			t.Fatalf("watch %v wrote no plaintext SPS", extra)
		}
		t.Logf("watch %v: %s", extra, strings.TrimSpace(stdout))
	}

	// No plaintext anywhere the hub keeps or says anything, nor on the card.
	if hits := findPlaintext(t, h.data, needles); len(hits) > 0 {
		t.Errorf("plaintext in the hub's data directory: %v", hits)
	}
	if hits := findPlaintext(t, a.data, needles); len(hits) > 0 {
		t.Errorf("plaintext on the camera's card: %v", hits)
	}
	if b, _ := os.ReadFile(bundle); holdsPlaintext(b, needles) {
		t.Error("plaintext in the evidence bundle the hub served")
	}
	if holdsPlaintext([]byte(h.output()), needles) {
		t.Error("plaintext in the hub's log")
	}
	c := h.client(t)
	ctx := context.Background()
	var answers []any
	for _, get := range []func() (any, error){
		func() (any, error) { return c.Recordings(ctx, camera, -1, 0, 500) },
		func() (any, error) { return c.Records(ctx, camera, -1, 0, 500) },
		func() (any, error) { return c.Envelopes(ctx, camera, 0, 0, 64) },
		func() (any, error) { return c.CameraStatus(ctx, camera) },
		func() (any, error) {
			return c.Timeline(ctx, camera, api.TimelineOptions{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Minute), Epoch: -1})
		},
	} {
		v, err := get()
		if err != nil {
			t.Fatal(err)
		}
		answers = append(answers, v)
	}
	if b, _ := json.Marshal(answers); holdsPlaintext(b, needles) {
		t.Error("plaintext in the hub's API answers")
	}
}

// openSegment opens a sealed segment with k through its envelope, failing
// the test when it does not open.
func openSegment(t *testing.T, k *e2ee.PrivateKey, env *e2ee.Envelope, hdr *e2ee.SealedHeader, sealed []byte) []byte {
	t.Helper()
	ck, err := k.Open(env)
	if err != nil {
		t.Fatalf("the owner cannot open content key %d: %v", env.Serial, err)
	}
	sk, err := ck.Segment(hdr.Stream, hdr.Seq)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := sk.OpenSegment(sealed)
	if err != nil {
		t.Fatalf("segment %d does not open under the owner's key: %v", hdr.Seq, err)
	}
	return plain
}
