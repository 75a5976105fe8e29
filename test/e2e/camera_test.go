package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/pairing"
	"github.com/camchain/camchain/internal/store"
	"github.com/camchain/camchain/internal/tx"
	cwallet "github.com/camchain/camchain/internal/wallet"
)

// compareStores opens both stores (the processes must be stopped) and
// checks that every record the hub holds is the camera's, byte for byte,
// with its segment, and, unless the camera abandoned the epoch, that the
// hub holds everything the camera saw acknowledged. It returns the hub's
// and the camera's heads.
func compareStores(t *testing.T, hubData, agentData, camera string, epoch uint64) (hub, cam feedchain.Head) {
	t.Helper()
	return compareChains(t, hubData, agentData, camera, epoch, true)
}

// compareAbandoned is compareStores for an epoch the camera left by a
// reset: it marks the epoch's unsent segments acknowledged so that they
// become prunable (they were the previous owner's), so only the hub's
// records are compared with the camera's.
func compareAbandoned(t *testing.T, hubData, agentData, camera string, epoch uint64) (hub, cam feedchain.Head) {
	t.Helper()
	return compareChains(t, hubData, agentData, camera, epoch, false)
}

// compareAcrossReset compares both epochs' chains of a camera reset once
// (epoch 0 abandoned, epoch 1 live): the hub holds the camera's, byte for
// byte, at least up to record #min0 of epoch 0 and #min1 of epoch 1.
func compareAcrossReset(t *testing.T, h *hubProc, a *agentProc, camera string, min0, min1 uint64) {
	t.Helper()
	if hubH, _ := compareAbandoned(t, h.data, a.data, camera, 0); !hubH.Valid || hubH.Seq < min0 {
		t.Fatalf("hub holds %v of epoch 0, want at least #%d", hubH, min0)
	}
	if hubH, _ := compareStores(t, h.data, a.data, camera, 1); !hubH.Valid || hubH.Seq < min1 {
		t.Fatalf("hub holds %v of epoch 1, want at least #%d", hubH, min1)
	}
}

// openChain opens the store at storeDir (a hub's recordings or a camera's
// card, the program not running) and camera's chain ref in it; close the
// store with the function it returns before the program runs again.
func openChain(t *testing.T, storeDir, camera string, ref store.ChainRef) (*store.Chain, func()) {
	t.Helper()
	cAddr, err := keys.ParseAddress(camera)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(storeDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref.Camera = cAddr
	c, err := s.StreamChain(ref)
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	return c, func() { s.Close() }
}

// storedHead is the head of the camera's epoch-0 main chain in the hub
// data directory hubData, read from its files (the hub not running).
func storedHead(t *testing.T, hubData, camera string) feedchain.Head {
	t.Helper()
	c, done := openChain(t, filepath.Join(hubData, "recordings"), camera, store.ChainRef{})
	defer done()
	return c.Head()
}

// compareStream is compareStores for one stream's chain.
func compareStream(t *testing.T, hubData, agentData, camera string, epoch uint64, stream feedchain.Stream) (hub, cam feedchain.Head) {
	t.Helper()
	return compareStreamChains(t, hubData, agentData, camera, store.ChainRef{Epoch: epoch, Stream: stream}, true)
}

func compareChains(t *testing.T, hubData, agentData, camera string, epoch uint64, checkAcked bool) (hub, cam feedchain.Head) {
	t.Helper()
	return compareStreamChains(t, hubData, agentData, camera, store.ChainRef{Epoch: epoch}, checkAcked)
}

func compareStreamChains(t *testing.T, hubData, agentData, camera string, ref store.ChainRef, checkAcked bool) (hub, cam feedchain.Head) {
	t.Helper()
	hc, hubDone := openChain(t, filepath.Join(hubData, "recordings"), camera, ref)
	defer hubDone()
	ac, camDone := openChain(t, filepath.Join(agentData, "store"), camera, ref)
	defer camDone()
	hub, cam = hc.Head(), ac.Head()
	if acked := ac.Acked(); checkAcked && acked.Valid && (!hub.Valid || hub.Seq < acked.Seq) {
		t.Fatalf("the camera saw record #%d acknowledged but the hub holds only %v: an acknowledged segment was lost", acked.Seq, hub)
	}
	if !hub.Valid {
		return
	}
	for s := uint64(0); s <= hub.Seq; s++ {
		hr, err := hc.Record(s)
		if err != nil {
			t.Fatalf("hub record #%d: %v", s, err)
		}
		ar, err := ac.Record(s)
		if err != nil {
			t.Fatalf("camera record #%d: %v", s, err)
		}
		if !bytes.Equal(hr.Marshal(), ar.Marshal()) {
			t.Fatalf("record #%d differs between hub and camera", s)
		}
		hseg, err := hc.Segment(s)
		if err != nil {
			t.Fatalf("hub segment #%d: %v", s, err)
		}
		if err := feedchain.VerifySegment(hr, hseg); err != nil {
			t.Fatal(err)
		}
	}
	return hub, cam
}

func TestPairStreamResetAndPairingAttacks(t *testing.T) {
	h := initHub(t)
	h.run(t, "--refusal-interval", "2s")
	a := runAgent(t, filepath.Join(t.TempDir(), "agent"), "--speed", "10")
	owner, stranger := newWallet(t), newWallet(t)

	// Pairing without the code: right camera, guessed secret.
	code, err := pairing.ParseCode(pairingCode(t, a.data))
	if err != nil {
		t.Fatal(err)
	}
	guess := *code
	guess.Secret[3] ^= 0x40
	rc, _, errs := camchain(append([]string{"pair", guess.String(), "--hub", h.url(), "--yes"}, stranger.flags()...)...)
	if rc != 1 || !strings.Contains(errs, "wrong pairing code") {
		t.Fatalf("pairing with a guessed code: exit %d, %q", rc, errs)
	}

	camera := pair(t, h, a, owner)
	waitFor(t, 20*time.Second, "10 segments on the hub", func() bool { return hubHead(t, h, camera) >= 9 })
	d, err := h.client(t).Device(context.Background(), camera)
	if err != nil || !d.Owned || d.Hub == "" {
		t.Fatalf("device after pairing: %+v %v", d, err)
	}

	// The owned camera refuses pairing, even with its own (spent) code.
	rc, _, errs = camchain(append([]string{"pair", code.String(), "--hub", h.url(), "--yes"}, stranger.flags()...)...)
	if rc != 1 || !strings.Contains(errs, "already has an owner") {
		t.Fatalf("pairing an owned camera: exit %d, %q", rc, errs)
	}
	// An attempt straight at the camera (skipping the CLI's ledger check)
	// finds no pairing endpoint: an owned camera closes it.
	if _, err := pairing.Dial(context.Background(), code, &pairing.Request{Secret: code.Secret, EVMChainID: 1}); err == nil || !strings.Contains(err.Error(), "cannot reach the camera") {
		t.Fatalf("owned camera's pairing endpoint: %v", err)
	}
	// The guessed code above was refused by the camera, which reported it
	// to its hub once paired: the owner sees it in the audit log.
	waitFor(t, 20*time.Second, "pairing-refused on the audit log", func() bool {
		return contains(auditKinds(t, h, camera), string(audit.CameraPairRefused.Kind()))
	})

	// A reset signed by anyone but the camera — here the owner — is refused
	// by the ledger, and the attempt is audited.
	ownerKey, err := cwallet.NewKeystore(owner.dir, cwallet.LightScrypt).Load("e2e passphrase")
	if err != nil {
		t.Fatal(err)
	}
	st, err := h.client(t).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cAddr, err := keys.ParseAddress(camera)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := tx.Sign(st.EVMChainID, &tx.Reset{Camera: cAddr, Epoch: 0, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, ownerKey)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := signed.Encode()
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.client(t).Submit(context.Background(), raw)
	var ae *api.Error
	if err == nil || !asAPIError(err, &ae) || ae.Result == nil || ae.Result.CodeName != "unauthorized" {
		t.Fatalf("owner-signed reset: %v", err)
	}
	waitFor(t, 20*time.Second, "reset-refused on the audit log", func() bool {
		return contains(auditKinds(t, h, camera), string(audit.ResetRefused))
	})

	// The physical reset: the camera signs it; the ledger frees the camera.
	out, err := exec.Command(bin("camchain-agent"), "reset", "--data", a.data).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "reset committed to the ledger") {
		t.Fatalf("camchain-agent reset: %v %s", err, out)
	}
	d = device(t, h, camera)
	if d.Owned || d.Epoch != 1 {
		t.Fatalf("device after reset: %+v", d)
	}
	if !contains(auditKinds(t, h, camera), "reset") {
		t.Fatal("reset not on the audit log")
	}
	// Imprintable again, by a new owner, with the new code; the old code
	// is dead (its pairing endpoint closed with the pairing; the new one
	// would refuse its secret).
	rc, _, errs = camchain(append([]string{"pair", code.String(), "--hub", h.url(), "--yes"}, stranger.flags()...)...)
	if rc != 1 || !(strings.Contains(errs, "already used") || strings.Contains(errs, "wrong pairing code") || strings.Contains(errs, "cannot reach the camera")) {
		t.Fatalf("old code after reset: exit %d, %q", rc, errs)
	}
	if again := pair(t, h, a, stranger); again != camera {
		t.Fatalf("paired %s, want %s", again, camera)
	}
	d = device(t, h, camera)
	if !d.Owned || d.Epoch != 1 || !strings.EqualFold(d.Owner, walletAddress(t, stranger)) {
		t.Fatalf("device after re-pairing: %+v", d)
	}
	waitFor(t, 20*time.Second, "epoch 1 segments on the hub", func() bool { return hubHead(t, h, camera) >= 2 })
	a.stop()
	h.stop()
	compareAcrossReset(t, h, a, camera, 9, 2)
}

// device is the hub's view of the camera; an API error fails the test.
func device(t *testing.T, h *hubProc, camera string) *api.Device {
	t.Helper()
	d, err := h.client(t).Device(context.Background(), camera)
	if err != nil {
		t.Fatalf("device %s: %v", camera, err)
	}
	return d
}

func asAPIError(err error, target **api.Error) bool {
	e, ok := err.(*api.Error)
	if ok {
		*target = e
	}
	return ok
}

func walletAddress(t *testing.T, w wallet) string {
	rc, out, errs := camchain("wallet", "address", "--keystore", w.dir)
	if rc != 0 {
		t.Fatalf("wallet address: %s", errs)
	}
	return strings.TrimSpace(out)
}

// An impostor hub holding the genuine hub's TLS key, ledger key and ledger
// copy — everything but the chain — is refused: the camera alarms, keeps
// recording, and later resumes with the real hub, losing nothing.
func TestImpostorHubHoldingKeysButNotTheChain(t *testing.T) {
	h := initHub(t)
	h.run(t)
	a := runAgent(t, filepath.Join(t.TempDir(), "agent"), "--speed", "10")
	camera := pair(t, h, a, newWallet(t))
	waitFor(t, 20*time.Second, "upload", func() bool { return seqOf(a.status(t).Acked) >= 5 })
	h.stop()

	imp := &hubProc{data: filepath.Join(t.TempDir(), "impostor"), http: h.http, link: h.link, reader: &api.KeyCredentials{Key: h.reader.Key}}
	if out, err := exec.Command("cp", "-a", h.data, imp.data).CombinedOutput(); err != nil {
		t.Fatalf("copy: %v %s", err, out)
	}
	os.RemoveAll(filepath.Join(imp.data, "recordings"))
	imp.run(t)
	before := seqOf(a.status(t).Head)
	waitFor(t, 30*time.Second, "the camera to refuse the impostor", func() bool {
		return strings.HasPrefix(a.status(t).Link, "diverged")
	})
	acked := seqOf(a.status(t).Acked)
	waitFor(t, 10*time.Second, "recording to go on", func() bool { return seqOf(a.status(t).Head) > before+3 })
	if n := hubHead(t, imp, camera); n != -1 {
		t.Fatalf("the impostor received records up to #%d", n)
	}
	if seqOf(a.status(t).Acked) != acked {
		t.Fatal("the camera took an acknowledgement from the impostor")
	}
	imp.stop()

	h.run(t)
	waitFor(t, 60*time.Second, "backfill to the real hub", func() bool {
		s := a.status(t)
		return seqOf(s.Acked) > before+3 && seqOf(s.Acked) >= seqOf(s.Head)-1
	})
	waitFor(t, 30*time.Second, "the divergence alarm on the ledger", func() bool {
		return contains(auditKinds(t, h, camera), string(audit.ChainDivergence.Kind()))
	})
	a.stop()
	h.stop()
	hubH, camH := compareStores(t, h.data, a.data, camera, 0)
	if camH.Seq-hubH.Seq > 2 {
		t.Fatalf("hub at #%d, camera at #%d", hubH.Seq, camH.Seq)
	}
}

// A clone (a copy of the camera's data directory: keys, chain, pairing)
// is refused while the original is live and reported as a suspected clone;
// the hub's chain stays the original's.
func TestClonedCameraIsRefused(t *testing.T) {
	h := initHub(t)
	h.run(t)
	orig := filepath.Join(t.TempDir(), "agent")
	a := runAgent(t, orig, "--speed", "10")
	camera := pair(t, h, a, newWallet(t))
	waitFor(t, 20*time.Second, "upload", func() bool { return seqOf(a.status(t).Acked) >= 3 })
	a.stop()
	copied := hubHead(t, h, camera)
	clone := filepath.Join(t.TempDir(), "clone")
	if out, err := exec.Command("cp", "-a", orig, clone).CombinedOutput(); err != nil {
		t.Fatalf("copy: %v %s", err, out)
	}
	a = runAgent(t, orig, "--speed", "10")
	waitFor(t, 20*time.Second, "original reconnects", func() bool { return a.status(t).Link == "connected" })
	c := runAgent(t, clone, "--speed", "10")
	waitFor(t, 30*time.Second, "clone-suspected on the audit log", func() bool {
		return contains(auditKinds(t, h, camera), string(audit.CloneSuspected))
	})
	if st := c.status(t); st.Link == "connected" {
		t.Fatal("the clone is connected")
	}
	// The original records on and uploads past the point of the copy.
	waitFor(t, 20*time.Second, "the original to upload past the copy", func() bool { return hubHead(t, h, camera) >= copied+3 })
	// The original goes away; the clone, which recorded its own segments,
	// now forks from the hub's chain and is refused again.
	a.stop()
	time.Sleep(2 * time.Second)
	waitFor(t, 30*time.Second, "the clone refused alone", func() bool {
		s := c.status(t)
		return strings.HasPrefix(s.Link, "diverged")
	})
	c.stop()
	h.stop()
	compareStores(t, h.data, orig, camera, 0)
}

// kill -9 of the hub mid-stream, then a cut of 8 s of wall time (over 2.5
// minutes of video at 20× speed) with the agent's default reconnect
// backoff (doubling from 0.5 s, at most 30 s): every acknowledged segment
// survives, the camera records through the outage, reconnects on its own
// schedule and backfills everything: zero segments lost, chain intact.
func TestHubKill9AndLongCutLoseNothing(t *testing.T) {
	h := initHub(t)
	h.run(t)
	a := runAgentDefaults(t, filepath.Join(t.TempDir(), "agent"), "--speed", "20")
	camera := pair(t, h, a, newWallet(t))
	waitFor(t, 30*time.Second, "upload", func() bool { return seqOf(a.status(t).Acked) >= 10 })
	h.kill()
	ackedAtKill := seqOf(a.status(t).Acked)
	headAtKill := seqOf(a.status(t).Head)
	// The link stays cut while the camera records on: at 20× real time,
	// 8 s of wall time is over 2.5 minutes of video.
	time.Sleep(8 * time.Second)
	if got := seqOf(a.status(t).Head); got < headAtKill+40 {
		t.Fatalf("camera recorded only %d segments during the outage", got-headAtKill)
	}
	h.run(t)
	if n := hubHead(t, h, camera); n < ackedAtKill {
		t.Fatalf("after kill -9 the hub holds up to #%d, but #%d was acknowledged", n, ackedAtKill)
	}
	waitFor(t, 60*time.Second, "full backfill", func() bool {
		s := a.status(t)
		return seqOf(s.Acked) >= seqOf(s.Head)-1 && seqOf(s.Acked) > headAtKill+40
	})
	a.stop()
	h.stop()
	hubH, camH := compareStores(t, h.data, a.data, camera, 0)
	if camH.Seq-hubH.Seq > 2 {
		t.Fatalf("hub at #%d, camera at #%d after backfill", hubH.Seq, camH.Seq)
	}
}

// A reset while the hub is unreachable (the button pressed during an
// outage) still reaches the ledger: the camera keeps its signed Reset and
// the next pairing delivers it before the new imprint.
func TestResetWhileHubIsDownIsDeliveredByTheNextPairing(t *testing.T) {
	h := initHub(t)
	h.run(t)
	a := runAgent(t, filepath.Join(t.TempDir(), "agent"), "--speed", "10")
	first, second := newWallet(t), newWallet(t)
	camera := pair(t, h, a, first)
	waitFor(t, 20*time.Second, "upload", func() bool { return seqOf(a.status(t).Acked) >= 2 })
	h.stop()

	out, err := exec.Command(bin("camchain-agent"), "reset", "--data", a.data).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "next pairing delivers it") {
		t.Fatalf("offline reset: %v %s", err, out)
	}
	if st := a.status(t); st.Paired || st.Epoch != 1 {
		t.Fatalf("after the offline reset: %+v", st)
	}
	h.run(t)
	if d := device(t, h, camera); !d.Owned || d.Epoch != 0 {
		t.Fatalf("the ledger saw the reset before any pairing: %+v", d)
	}
	// The ledger still names the old owner; the camera's new code is for
	// epoch 1, and pairing submits the camera's pending Reset first.
	if again := pair(t, h, a, second); again != camera {
		t.Fatalf("paired %s, want %s", again, camera)
	}
	d, err := h.client(t).Device(context.Background(), camera)
	if err != nil || !d.Owned || d.Epoch != 1 || !strings.EqualFold(d.Owner, walletAddress(t, second)) {
		t.Fatalf("after pairing with the pending reset: %+v %v", d, err)
	}
	if k := auditKinds(t, h, camera); !contains(k, "reset") || !contains(k, "imprint") {
		t.Fatalf("audit kinds %v lack the reset or the new imprint", k)
	}
	waitFor(t, 20*time.Second, "epoch 1 segments on the hub", func() bool { return hubHead(t, h, camera) >= 1 })
	a.stop()
	h.stop()
	compareAcrossReset(t, h, a, camera, 2, 1)
}

// A pairing code past its expiry is refused end to end: the CLI's pair
// fails naming the expiry, the camera itself refuses the code when tried
// straight at it, it stays unpaired and unowned on the ledger, and it pairs
// again afterwards.
func TestExpiredPairingCodeIsRefused(t *testing.T) {
	h := initHub(t)
	h.run(t)
	a := runAgent(t, filepath.Join(t.TempDir(), "agent"), "--code-ttl", "1s")
	old := pairingCode(t, a.data)
	code, err := pairing.ParseCode(old)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(time.Unix(code.Expiry, 0)) + 1100*time.Millisecond) // codes expire on whole seconds
	owner := newWallet(t)
	rc, out, errs := camchain(append([]string{"pair", old, "--hub", h.url()}, owner.flags()...)...)
	if rc != 1 || !strings.Contains(errs, "expired") {
		t.Fatalf("pairing with an expired code: exit %d, %q %q", rc, out, errs)
	}
	if st := a.status(t); st.Paired {
		t.Fatalf("the camera paired with an expired code: %+v", st)
	}
	// The ledger has never heard of the camera (or knows it unowned).
	h.readAs(t, owner)
	d, err := h.client(t).Device(context.Background(), code.Camera.Hex())
	var ae *api.Error
	switch {
	case err == nil && d.Owned:
		t.Fatalf("the ledger names an owner after an expired code: %+v", d)
	case err != nil && !(asAPIError(err, &ae) && ae.Code == api.ErrNotFound):
		t.Fatalf("device after an expired code: %v", err)
	}
	// The same code straight at the camera, skipping the CLI's check as an
	// attacker would: the camera refuses it as expired and draws a new one.
	if _, err := pairing.Dial(context.Background(), code, &pairing.Request{Secret: code.Secret, EVMChainID: 1}); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired code straight at the camera: %v", err)
	}
	if st := a.status(t); st.Paired {
		t.Fatalf("the camera paired with an expired code: %+v", st)
	}
	waitFor(t, 20*time.Second, "a fresh pairing code", func() bool { return pairingCode(t, a.data) != old })
	// Restarted with the default code lifetime (the 1 s one above would
	// expire again before the CLI is through), it pairs with its new code.
	fresh := pairingCode(t, a.data)
	a.stop()
	a = runAgent(t, a.data)
	waitFor(t, 20*time.Second, "the restarted camera's code", func() bool { c := pairingCode(t, a.data); return c != fresh && c != old })
	if got := pair(t, h, a, owner); !strings.EqualFold(got, code.Camera.Hex()) {
		t.Fatalf("paired %s, want %s", got, code.Camera.Hex())
	}
}
