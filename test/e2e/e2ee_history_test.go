package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/keys"
	cwallet "github.com/camchain/camchain/internal/wallet"
)

// TestE2EEHistory (SPEC §17.6): a viewer granted with --history-from T
// after T, on a camera that encrypts, gets from the owner's `camchain
// history-keys` the keys of what was recorded from T on — the period T
// cuts by the segment keys of its segments from T on, the whole period
// after it by its content key — and with them and the camera's own keys
// opens every segment from T on, and none before T: not with the camera's
// envelope of the cut period (not wrapped to it), not with any key it
// holds. `camchain watch --from T` decrypts for it into video ffmpeg
// plays. Another grantee can neither list nor open the viewer's history
// envelopes; a changed or forged one is refused; a run again adds
// nothing.
func TestE2EEHistory(t *testing.T) {
	t.Parallel()
	needles := plaintextNeedles(t)
	h := initHub(t)
	h.run(t)
	camAddr := freeAddr(t)
	a := runAgent(t, filepath.Join(t.TempDir(), "agent"), "--source", "rtsp://"+camAddr+"/sample", "--camera-max-backoff", "1s")
	owner, viewer, other := newWallet(t), newWallet(t), newWallet(t)
	camera := pair(t, h, a, owner)
	ownerAddr, viewerAddr, otherAddr := walletAddress(t, owner), walletAddress(t, viewer), walletAddress(t, other)
	// Paired with the default: encrypting from the imprint on, no
	// `camchain encryption --on` needed. The RTSP source starts once the
	// camera is paired, so the camera records nothing unpaired (which is in
	// the clear: there is no owner to seal to, SPEC §17.4).
	waitFor(t, 60*time.Second, "the camera encrypting", func() bool { return e2eeState(t, a) == "on" })
	start(t, "camchain-testcam", "ready", "-addr", camAddr)
	waitFor(t, 60*time.Second, "3 segments on the hub", func() bool { return hubHead(t, h, camera) >= 2 })

	// T: after some segments under the first content key; then more under
	// it, from T on.
	histFrom := time.Now().Add(time.Second).Truncate(time.Second)
	time.Sleep(time.Until(histFrom))
	headAtT := hubHead(t, h, camera)
	waitFor(t, 60*time.Second, "2 segments after T", func() bool { return hubHead(t, h, camera) >= headAtT+3 })

	// Another grantee: the camera draws a key for the owner and it — a
	// whole period after T that the viewer must get from the owner.
	mustCLI(t, owner, "grant", "--camera", camera, "--viewer", otherAddr, "--hub", h.url())
	mustCLI(t, other, "wallet", "viewing-key", "--register", "--hub", h.url())
	waitFor(t, 60*time.Second, "an envelope listing the other grantee", func() bool {
		es := envelopesOf(t, h, camera)
		return lists(es[len(es)-1], otherAddr)
	})
	head := hubHead(t, h, camera)
	waitFor(t, 60*time.Second, "2 segments under it", func() bool { return hubHead(t, h, camera) >= head+2 })

	// The viewer, granted with history from T; the camera wraps to it
	// from its next key on.
	mustCLI(t, owner, "grant", "--camera", camera, "--viewer", viewerAddr, "--history-from", histFrom.UTC().Format(time.RFC3339), "--hub", h.url())
	mustCLI(t, viewer, "wallet", "viewing-key", "--register", "--hub", h.url())
	waitFor(t, 60*time.Second, "an envelope listing the viewer", func() bool {
		es := envelopesOf(t, h, camera)
		return lists(es[len(es)-1], viewerAddr)
	})
	head = hubHead(t, h, camera)
	waitFor(t, 60*time.Second, "a segment under it", func() bool { return hubHead(t, h, camera) >= head+1 })

	out := mustCLI(t, owner, "history-keys", "--camera", camera, "--viewer", viewerAddr, "--hub", h.url(), "--json")
	var res struct {
		Content   int `json:"content_keys"`
		Segments  int `json:"segment_keys"`
		Envelopes int `json:"envelopes"`
		Held      int `json:"already_held"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Content < 1 || res.Segments < 2 || res.Envelopes != 1 {
		t.Fatalf("history-keys: %+v, %v\n%s", res, err, out)
	}
	t.Logf("history-keys: %s", strings.TrimSpace(out))

	// What the viewer holds: its history envelopes, checked as the
	// ledger owner's, and the camera's envelopes.
	cam, _ := keys.ParseAddress(camera)
	own, _ := keys.ParseAddress(ownerAddr)
	as := func(w wallet) *api.Client {
		k, err := cwallet.NewKeystore(w.dir, cwallet.LightScrypt).Load("e2e passphrase")
		if err != nil {
			t.Fatal(err)
		}
		c, _ := api.NewClient(h.url())
		return c.WithCredentials(&api.KeyCredentials{Key: k})
	}
	ctx := context.Background()
	cv := as(viewer)
	hl, err := cv.HistoryEnvelopes(ctx, camera, -1, "")
	if err != nil || len(hl.Items) != 1 {
		t.Fatalf("the viewer's history envelopes: %+v, %v", hl, err)
	}
	histRaw, _ := hex.DecodeString(strings.TrimPrefix(hl.Items[0].Envelope, "0x"))
	he, err := e2ee.DecodeHistory(histRaw, cam, own)
	if err != nil {
		t.Fatal(err)
	}
	vk, ok := viewingKeyOf(t, viewer), viewingKeyOf(t, other)
	hk, err := vk.OpenHistory(he)
	if err != nil {
		t.Fatal(err)
	}
	content := map[uint64]*e2ee.ContentKey{}
	for _, ck := range hk.Content {
		content[ck.Serial] = ck
	}
	envs := map[uint64]*e2ee.Envelope{}
	for _, e := range envelopesOf(t, h, camera) {
		raw, _ := hex.DecodeString(strings.TrimPrefix(e.Envelope, "0x"))
		env, err := e2ee.DecodeEnvelope(raw, cam)
		if err != nil {
			t.Fatal(err)
		}
		envs[e.Serial] = env
	}
	recs, err := h.client(t).Recordings(ctx, camera, -1, 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	// keysFor is every key the viewer holds that could open segment hdr.
	keysFor := func(hdr *e2ee.SealedHeader) []*e2ee.SegmentKey {
		var out []*e2ee.SegmentKey
		if ck, err := vk.Open(envs[hdr.Serial]); err == nil {
			sk, _ := ck.Segment(hdr.Stream, hdr.Seq)
			out = append(out, sk)
		}
		for _, ck := range hk.Content {
			sk, _ := ck.Segment(hdr.Stream, hdr.Seq)
			out = append(out, sk)
		}
		return append(out, hk.Segments...)
	}
	var before, after, cutAfter, cutBefore int
	var cut uint64 // the key T cuts
	for _, r := range recs.Items {
		sealed, err := os.ReadFile(segPath(filepath.Join(h.data, "recordings"), camera, r.Seq))
		if err != nil {
			t.Fatal(err)
		}
		hdr, err := e2ee.ParseSealedHeader(sealed)
		if err != nil {
			t.Fatalf("segment %d: %v", r.Seq, err)
		}
		start, _ := time.Parse(time.RFC3339Nano, r.Start)
		opened := false
		for _, sk := range keysFor(hdr) {
			if _, err := sk.OpenSegment(sealed); err == nil {
				opened = true
			}
		}
		switch {
		case start.Before(histFrom) && opened:
			t.Errorf("segment %d, recorded %s before history-from %s, opens for the viewer", r.Seq, r.Start, histFrom)
		case start.Before(histFrom):
			before++
			cut = hdr.Serial
			cutBefore++
		case !opened:
			t.Errorf("segment %d, recorded %s from history-from on (content key %d), does not open for the viewer", r.Seq, r.Start, hdr.Serial)
		default:
			after++
			if hdr.Serial == cut {
				cutAfter++
			}
		}
	}
	if before == 0 || after == 0 || cutAfter == 0 || cutBefore == 0 {
		t.Fatalf("%d segments before T (refused), %d from T (opened), of which %d under the key T cuts (%d before): want some of each", before, after, cutAfter, cutBefore)
	}
	if content[cut] != nil {
		t.Fatalf("the content key %d that T cuts was re-wrapped whole", cut)
	}
	t.Logf("%d segments before T refused, %d from T opened (%d under the cut key %d by their segment keys)", before, after, cutAfter, cut)

	// From outside: the hub gives the viewer the cut key's envelope, but it
	// is not wrapped to it.
	el, err := cv.Envelopes(ctx, camera, 0, cut, 1)
	if err != nil || len(el.Items) != 1 {
		t.Fatalf("the cut key's envelope as the viewer: %+v, %v", el, err)
	}
	raw, _ := hex.DecodeString(strings.TrimPrefix(el.Items[0].Envelope, "0x"))
	env, _ := e2ee.DecodeEnvelope(raw, cam)
	if _, err := vk.Open(env); !errors.Is(err, e2ee.ErrNotRecipient) {
		t.Fatalf("the viewer opens the envelope of the key T cuts: %v", err)
	}

	// Another grantee: cannot list the viewer's, cannot open it.
	if _, err := as(other).HistoryEnvelopes(ctx, camera, -1, viewerAddr); api.CodeOf(err) != api.ErrForbidden {
		t.Errorf("another grantee listing the viewer's history envelopes: %v", err)
	}
	if l, err := as(other).HistoryEnvelopes(ctx, camera, -1, ""); err != nil || len(l.Items) != 0 {
		t.Errorf("another grantee's own list: %+v, %v", l, err)
	}
	if _, err := ok.OpenHistory(he); !errors.Is(err, e2ee.ErrNotRecipient) {
		t.Errorf("another grantee opens the viewer's history envelope: %v", err)
	}
	// Changed, or made by another key in the owner's name: refused, by
	// the client and by the hub.
	bad := bytes.Clone(histRaw)
	bad[len(bad)-100] ^= 1
	if _, err := e2ee.DecodeHistory(bad, cam, own); !errors.Is(err, keys.ErrBadSignature) {
		t.Errorf("a changed history envelope: %v", err)
	}
	forger, _ := keys.Generate()
	forged, err := e2ee.NewHistory(cam, he.Epoch, e2ee.Recipient{Account: vk.Account(), Key: vk.Public()}, he.Grant, *hk, forger)
	if err != nil {
		t.Fatal(err)
	}
	forgedRaw, _ := forged.Encode()
	if _, err := e2ee.DecodeHistory(forgedRaw, cam, own); !errors.Is(err, keys.ErrBadSignature) {
		t.Errorf("a history envelope signed by another key: %v", err)
	}
	if _, err := as(owner).UploadHistory(ctx, camera, forgedRaw); api.CodeOf(err) != api.ErrBadRequest {
		t.Errorf("the hub took a forged history envelope: %v", err)
	}
	dir := filepath.Join(h.data, "history-keys", strings.ToLower(camera), "0", strings.ToLower(viewerAddr))
	os.WriteFile(filepath.Join(dir, strings.Repeat("ab", 32)), forgedRaw, 0o600) // put on its disk
	if l, err := cv.HistoryEnvelopes(ctx, camera, -1, ""); err != nil || len(l.Items) != 1 {
		t.Errorf("with a forged envelope on the hub's disk: %+v, %v", l, err)
	}

	// Given the ciphertext from before T anyway (the hub serves it to the
	// owner's session, here with the viewer's wallet for the keys), the
	// viewer's keys do not open it.
	mustCLI(t, owner, "login", "--hub", h.url())
	rc, stdout, stderr := camchain(append([]string{"watch", "--camera", camera, "--hub", h.url(), "--from", histFrom.Add(-30 * time.Second).UTC().Format(time.RFC3339),
		"--segments", "1", "--out", filepath.Join(t.TempDir(), "before.mp4"), "--timeout", "60s"}, viewer.flags()...)...)
	if rc == 0 || !strings.Contains(stdout+stderr, "not encrypted to your viewing key") || !strings.Contains(stdout+stderr, "nor re-wrapped to you by the owner") {
		t.Fatalf("watch of what precedes T with the viewer's keys: exit %d\n%s%s", rc, stdout, stderr)
	}

	// camchain watch from T decrypts for the viewer, logged in as itself:
	// the cut period by segment keys, then the whole one.
	mustCLI(t, viewer, "login", "--hub", h.url())
	video := filepath.Join(t.TempDir(), "history.mp4")
	n := after
	if n > 6 {
		n = 6
	}
	rc, stdout, stderr = camchain(append([]string{"watch", "--camera", camera, "--hub", h.url(), "--from", histFrom.UTC().Format(time.RFC3339),
		"--segments", strconv.Itoa(n), "--out", video, "--timeout", "60s"}, viewer.flags()...)...)
	if rc != 0 || !strings.Contains(stdout, "verified "+strconv.Itoa(n)+" segment(s)") {
		t.Fatalf("watch --from T as the viewer: exit %d\n%s%s", rc, stdout, stderr)
	}
	if b, err := exec.Command("ffmpeg", "-v", "error", "-i", video, "-f", "null", "-").CombinedOutput(); err != nil || len(b) != 0 {
		t.Fatalf("ffmpeg decoding what the viewer's watch decrypted: %v\n%s", err, b)
	}
	if b, _ := os.ReadFile(video); !bytes.Contains(b, needles["SPS"]) {
		t.Fatal("the viewer's watch wrote no plaintext")
	}
	// The other grantee (no history envelope) cannot watch from T.
	mustCLI(t, other, "login", "--hub", h.url())
	rc, stdout, stderr = camchain(append([]string{"watch", "--camera", camera, "--hub", h.url(), "--from", histFrom.UTC().Format(time.RFC3339),
		"--segments", "1", "--out", filepath.Join(t.TempDir(), "no.mp4"), "--timeout", "60s"}, other.flags()...)...)
	if rc == 0 || !strings.Contains(stdout+stderr, "not encrypted to your viewing key") {
		t.Fatalf("watch --from T as the other grantee: exit %d\n%s%s", rc, stdout, stderr)
	}

	// Again: nothing new to give.
	mustCLI(t, owner, "login", "--hub", h.url())
	out = mustCLI(t, owner, "history-keys", "--camera", camera, "--viewer", viewerAddr, "--hub", h.url(), "--json")
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Envelopes != 0 || res.Held == 0 {
		t.Fatalf("history-keys again: %+v, %v\n%s", res, err, out)
	}
	if hits := findPlaintext(t, h.data, needles); len(hits) > 0 {
		t.Errorf("plaintext in the hub's data directory: %v", hits)
	}
}
