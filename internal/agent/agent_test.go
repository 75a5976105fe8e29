package agent

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/clocksync"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/media"
	"github.com/camchain/camchain/internal/pairing"
	"github.com/camchain/camchain/internal/store"
	"github.com/camchain/camchain/internal/tx"
)

// The agent must stay small: it never links the ledger engine, the hub or
// a web UI.
func TestAgentDoesNotLinkTheLedger(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/camchain/camchain/cmd/camchain-agent").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/cometbft/", "github.com/cockroachdb/pebble",
			"github.com/camchain/camchain/internal/ledger", "github.com/camchain/camchain/internal/hub",
			"github.com/camchain/camchain/internal/web"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("camchain-agent links %s", dep)
			}
		}
	}
}

// nopSource records nothing.
type nopSource struct{}

func (nopSource) Run(ctx context.Context, _ func(media.Segment) error) error {
	<-ctx.Done()
	return nil
}

func startAgent(t *testing.T, ttl time.Duration) (*Agent, context.CancelFunc) {
	return startAgentWith(t, Config{CodeTTL: ttl})
}

func startAgentWith(t *testing.T, cfg Config) (*Agent, context.CancelFunc) {
	t.Helper()
	cfg.DataDir = t.TempDir()
	if cfg.Source == nil {
		cfg.Source = nopSource{}
	}
	a, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for a.Status().Code == "" {
		if time.Now().After(deadline) {
			t.Fatal("no pairing code shown")
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return a, stop
}

func request(t *testing.T, code *pairing.Code, owner *keys.PrivateKey) *pairing.Request {
	return requestVia(t, code, owner, "http://127.0.0.1:1", time.Minute)
}

// requestVia is an owner's pairing request naming the hub API hubAPI, its
// imprint valid for ttl.
func requestVia(t *testing.T, code *pairing.Code, owner *keys.PrivateKey, hubAPI string, ttl time.Duration) *pairing.Request {
	return requestIn(t, tx.DomainV1, code, owner, hubAPI, ttl)
}

// requestIn is requestVia with the owner's signature in EIP-712 domain dom.
func requestIn(t *testing.T, dom tx.Domain, code *pairing.Code, owner *keys.PrivateKey, hubAPI string, ttl time.Duration) *pairing.Request {
	t.Helper()
	hub, _ := keys.Generate()
	r := &pairing.Request{Secret: code.Secret, EVMChainID: 7, Owner: owner.Address(), Hub: hub.Address(), Epoch: code.Epoch,
		Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(ttl), HubLink: "127.0.0.1:1", HubAPI: hubAPI, Domain: uint64(dom)}
	d, _ := tx.DigestIn(dom, 7, r.Imprint(code.Camera))
	r.OwnerSig, _ = owner.SignDigest(d)
	r.Encryption = signedIn(t, dom, &tx.Encryption{Camera: code.Camera, Epoch: code.Epoch, On: 1, Nonce: tx.NewNonce(), Expiry: r.Expiry}, owner)
	r.ViewingKey = viewingKeyTx(t, 7, owner, r.Expiry)
	return r
}

// signedIn is m signed by k in domain dom on chain 7, as wire bytes.
func signedIn(t *testing.T, dom tx.Domain, m tx.Msg, k *keys.PrivateKey) []byte {
	t.Helper()
	return signedInChain(t, dom, 7, m, k)
}

func alarmKinds(a *Agent) []string {
	var k []string
	for _, al := range a.Alarms() {
		k = append(k, string(al.Kind))
	}
	return k
}

func TestPairingRefusals(t *testing.T) {
	a, _ := startAgent(t, 0)
	code, err := pairing.ParseCode(a.Status().Code)
	if err != nil {
		t.Fatal(err)
	}
	owner, stranger := mustKey(t), mustKey(t)
	ctx := context.Background()

	// Without the code: a guessed secret.
	bad := request(t, code, stranger)
	bad.Secret[0] ^= 1
	if _, err := pairing.Dial(ctx, code, bad); err == nil || !strings.Contains(err.Error(), "wrong pairing code") {
		t.Fatalf("wrong secret: %v", err)
	}
	// An imprint the named owner did not sign.
	forged := request(t, code, owner)
	forged.Owner = stranger.Address()
	if _, err := pairing.Dial(ctx, code, forged); err == nil || !strings.Contains(err.Error(), "not signed by the owner") {
		t.Fatalf("forged owner: %v", err)
	}
	// That attempt had the right secret, so the code is spent: it is now a
	// used code, and the camera shows a new one.
	if _, err := pairing.Dial(ctx, code, request(t, code, owner)); err == nil || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("used code: %v", err)
	}
	code2, _ := pairing.ParseCode(a.Status().Code)
	if code2.Secret == code.Secret {
		t.Fatal("no new code after the old one was spent")
	}
	ledger := newTxHub(t)
	req := requestVia(t, code2, owner, ledger.URL(), time.Minute)
	resp, err := pairing.Dial(ctx, code2, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.CameraPin != a.tlsID.Pin {
		t.Fatal("camera returned another TLS pin")
	}
	ledger.commit(t, req, code2.Camera, resp)
	waitPaired(t, a)
	// An owned camera has no pairing endpoint at all.
	if _, err := pairing.Dial(ctx, code2, request(t, code2, stranger)); err == nil || !strings.Contains(err.Error(), "cannot reach the camera") {
		t.Fatalf("owned camera: %v", err)
	}
	refused := 0
	for _, k := range alarmKinds(a) {
		if k == "pairing-refused" {
			refused++
		}
	}
	if refused != 3 {
		t.Fatalf("%d pairing-refused alarms, want 3 (%v)", refused, alarmKinds(a))
	}
	// The reset button: imprintable again with a fresh code.
	if _, err := a.Reset(); err != nil {
		t.Fatal(err)
	}
	st := a.Status()
	if st.Paired || st.Epoch != 1 || st.Code == "" {
		t.Fatalf("after reset: %+v", st)
	}
}

func TestExpiredCodeIsRefused(t *testing.T) {
	a, _ := startAgent(t, 50*time.Millisecond)
	code, _ := pairing.ParseCode(a.Status().Code)
	time.Sleep(1100 * time.Millisecond) // codes expire on whole seconds
	_, err := pairing.Dial(context.Background(), code, request(t, code, mustKey(t)))
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired code: %v", err)
	}
	if a.Status().Paired {
		t.Fatal("paired with an expired code")
	}
}

func mustKey(t *testing.T) *keys.PrivateKey {
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// With the card full of video the hub has not acknowledged, the agent
// stops recording and says so (log and alarm) — it never deletes an
// unacknowledged segment to make room.
func TestFullCardStopsRecordingAndKeepsUnackedVideo(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(Config{DataDir: dir, Source: &PacedSample{Speed: 500}, MaxBytes: 500 << 10})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	for a.Status().Recording != "stopped: storage full" {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("never stopped: %+v", a.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	head := a.Chain().Head()
	time.Sleep(300 * time.Millisecond) // more segments arrive and are refused
	if a.Chain().Head() != head {
		t.Fatal("recording went on past a full card")
	}
	if k := alarmKinds(a); len(k) != 1 || k[0] != "storage-full" {
		t.Fatalf("alarms = %v, want one storage-full", k)
	}
	// Every segment recorded is still there: nothing unacknowledged was
	// deleted to make room.
	for s := uint64(0); s <= head.Seq; s++ {
		if _, err := a.Chain().Segment(s); err != nil {
			t.Fatalf("segment %d: %v", s, err)
		}
	}
	cancel()
	<-done
}

// A flood of bad pairing attempts cannot fill the card with alarms.
func TestPairingFloodIsRateLimited(t *testing.T) {
	a, _ := startAgent(t, 0)
	code, _ := pairing.ParseCode(a.Status().Code)
	bad := request(t, code, mustKey(t))
	bad.Secret[0] ^= 1
	for i := 0; i < 40; i++ {
		if _, err := pairing.Dial(context.Background(), code, bad); err == nil {
			t.Fatal("wrong secret accepted")
		}
	}
	if n := len(alarmKinds(a)); n != maxRefusalAlarms+1 {
		t.Fatalf("%d alarms for 40 refused attempts, want %d", n, maxRefusalAlarms+1)
	}
	if last := a.Alarms()[len(a.Alarms())-1]; !strings.Contains(last.Detail, "not recorded") {
		t.Fatalf("last alarm %q does not say attempts are dropped", last.Detail)
	}
}

// The status carries the process's CPU time from its rusage, which grows
// as the process works: what the footprint benchmark differences.
func TestStatusReportsProcessCPU(t *testing.T) {
	a, _ := startAgent(t, time.Minute)
	rusage := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	c0, r0 := a.Status().CPUNanos, rusage()
	for rusage()-r0 < 20*time.Millisecond { // busy work, however the machine is loaded
	}
	c1 := a.Status().CPUNanos
	if c0 <= 0 || c1-c0 < int64(20*time.Millisecond) {
		t.Fatalf("cpu_ns %d then %d after 20 ms of CPU work", c0, c1)
	}
}

// A second agent on a data directory another one holds is refused with a
// hint at the running one (the store's lock, store.ErrLocked).
func TestSecondAgentOnADataDirIsRefused(t *testing.T) {
	a, _ := startAgent(t, 0)
	_, err := Open(Config{DataDir: a.cfg.DataDir, Source: nopSource{}})
	if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), "is camchain-agent already running") {
		t.Fatalf("second agent on %s: %v", a.cfg.DataDir, err)
	}
}

// TestPairingInDomainV2: an owner whose browser wallet signs the imprint
// in EIP-712 domain v2 (no chainId) gets the camera's co-signature over
// that very digest; a request naming an unknown domain is refused.
func TestPairingInDomainV2(t *testing.T) {
	a, _ := startAgent(t, 0)
	code, err := pairing.ParseCode(a.Status().Code)
	if err != nil {
		t.Fatal(err)
	}
	owner := mustKey(t)
	ctx := context.Background()
	bad := requestIn(t, tx.DomainV2, code, owner, "http://127.0.0.1:1", time.Minute)
	bad.Domain = 3
	if _, err := pairing.Dial(ctx, code, bad); err == nil || !strings.Contains(err.Error(), "domain") {
		t.Fatalf("domain 3: %v", err)
	}
	code2, _ := pairing.ParseCode(a.Status().Code)
	ledger := newTxHub(t)
	req := requestIn(t, tx.DomainV2, code2, owner, ledger.URL(), time.Minute)
	resp, err := pairing.Dial(ctx, code2, req)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := tx.DigestIn(tx.DomainV2, 7, req.Imprint(code2.Camera))
	if who, err := keys.Recover(d, resp.CameraSig); err != nil || who != code2.Camera {
		t.Fatalf("camera co-signature recovers to %s (%v), want the camera %s", who.Hex(), err, code2.Camera.Hex())
	}
	if err := pairing.VerifyPin(code2.Camera, d, resp.CameraPin, resp.PinSig); err != nil {
		t.Fatal(err)
	}
	ledger.commit(t, req, code2.Camera, resp)
	waitPaired(t, a)
}

// Each arrival-clocked record says whether this machine's clock was
// NTP-synchronised (by its kernel's word) when the record was made:
// clock 3 while it is, clock 1 while it is not or cannot be read.
func TestRecordsSayWhetherTheClockIsSynchronised(t *testing.T) {
	var synced atomic.Int32 // 0 unsynchronised, 1 synchronised, 2 unreadable
	read := func() (clocksync.State, error) {
		switch synced.Load() {
		case 1:
			return clocksync.State{Synchronized: true}, nil
		case 2:
			return clocksync.State{}, errors.New("no adjtimex here")
		}
		return clocksync.State{}, nil
	}
	a, err := Open(Config{DataDir: t.TempDir(), Source: &PacedSample{Speed: 50}, ClockSync: read})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	want := map[int32]feedchain.ClockSource{0: feedchain.ClockArrival, 1: feedchain.ClockArrivalSynced, 2: feedchain.ClockArrival}
	for _, state := range []int32{1, 0, 2, 1} {
		synced.Store(state)
		from := a.Chain().Head().Seq
		deadline := time.Now().Add(20 * time.Second)
		for {
			h := a.Chain().Head()
			if h.Valid && h.Seq >= from+2 {
				r, err := a.Chain().Record(h.Seq)
				if err != nil {
					t.Fatal(err)
				}
				if r.Clock != want[state] {
					t.Fatalf("clock state %d: record %d has clock %v, want %v", state, r.Seq, r.Clock, want[state])
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no new records: %+v", a.Status())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// gatedSource records the sample (fast) only once gate is closed.
type gatedSource struct{ gate chan struct{} }

func (g gatedSource) Run(ctx context.Context, emit func(media.Segment) error) error {
	select {
	case <-ctx.Done():
		return nil
	case <-g.gate:
	}
	return (&PacedSample{Speed: 50}).Run(ctx, emit)
}

// TestEncryptionStartsAtTheImprint: the owner's encryption policy comes
// with the imprint, and only the owner's for this very imprint is taken —
// a request without one (an old client, or a relaying hub that dropped
// it), one the hub signed turning it off, one the owner signed for
// another pairing attempt (another expiry), or "on" without the owner's
// own viewing key is refused, and the code spent. The camera paired with
// the default seals its first segment, to the owner's viewing key, before
// any hub forwarded anything, and what it recorded in the clear before
// its imprint (unowned) is gone from the card: the chain restarts at #0,
// sealed. A hub-signed "off" afterwards changes nothing.
func TestEncryptionStartsAtTheImprint(t *testing.T) {
	confirmEvery = 20 * time.Millisecond
	gate := make(chan struct{})
	a, _ := startAgentWith(t, Config{Source: gatedSource{gate}})
	close(gate) // an unowned camera records, in the clear
	waitHead := func(seq uint64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for h := a.Chain().Head(); !h.Valid || h.Seq < seq; h = a.Chain().Head() {
			if time.Now().After(deadline) {
				t.Fatalf("not recording: %+v", a.Status())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitHead(1)
	sps := sampleSPS(t)
	if !cardHolds(t, a.cfg.DataDir, sps) {
		t.Fatal("the unowned camera's card holds no plaintext SPS: the search is broken")
	}
	owner, hub := mustKey(t), mustKey(t)
	ctx := context.Background()
	nextCode := func() *pairing.Code {
		t.Helper()
		c, err := pairing.ParseCode(a.Status().Code)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	policy := func(code *pairing.Code, by *keys.PrivateKey, on, expiry uint64) []byte {
		return signedIn(t, tx.DomainV1, &tx.Encryption{Camera: code.Camera, Epoch: code.Epoch, On: on, Nonce: tx.NewNonce(), Expiry: expiry}, by)
	}
	refusals := []struct {
		name   string
		change func(code *pairing.Code, r *pairing.Request)
		want   string
	}{
		{"no policy", func(_ *pairing.Code, r *pairing.Request) { r.Encryption, r.ViewingKey = nil, nil }, "carries no encryption policy"},
		{"off, signed by the hub", func(c *pairing.Code, r *pairing.Request) { r.Encryption = policy(c, hub, 0, r.Expiry) }, "not the owner"},
		{"off, the owner's for another attempt", func(c *pairing.Code, r *pairing.Request) { r.Encryption = policy(c, owner, 0, r.Expiry-1) }, "signed for another pairing"},
		{"off, the owner's for another epoch", func(c *pairing.Code, r *pairing.Request) {
			r.Encryption = signedIn(t, tx.DomainV1, &tx.Encryption{Camera: c.Camera, Epoch: c.Epoch + 1, On: 0, Nonce: 1, Expiry: r.Expiry}, owner)
		}, "not the owner's for this imprint"},
		{"on without a viewing key", func(_ *pairing.Code, r *pairing.Request) { r.ViewingKey = nil }, "without the owner's viewing key"},
		{"on, to the hub's viewing key", func(_ *pairing.Code, r *pairing.Request) { r.ViewingKey = viewingKeyTx(t, 7, hub, r.Expiry) }, "the owner's viewing key"},
		{"not a transaction", func(_ *pairing.Code, r *pairing.Request) { r.Encryption = []byte{0x85, 1} }, "not the owner's for this imprint"},
	}
	for _, c := range refusals {
		code := nextCode()
		req := request(t, code, owner)
		c.change(code, req)
		if _, err := pairing.Dial(ctx, code, req); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%s: %v, want a refusal saying %q", c.name, err, c.want)
		}
		if st := a.Status(); st.Pending != 0 || st.Paired {
			t.Fatalf("%s: the camera took the imprint: %+v", c.name, st)
		}
	}
	code := nextCode()
	ledger := newTxHub(t)
	req := requestVia(t, code, owner, ledger.URL(), time.Minute)
	resp, err := pairing.Dial(ctx, code, req)
	if err != nil {
		t.Fatal(err)
	}
	ledger.commit(t, req, code.Camera, resp)
	waitPaired(t, a)
	if s := a.Status().E2EE; s != e2eeOn {
		t.Fatalf("paired with the policy on: e2ee %q before the hub forwarded anything", s)
	}
	// A hub-signed "off", with a later expiry, changes nothing.
	a.currentE2EE().Learn([][]byte{policy(code, hub, 0, req.Expiry+60)})
	waitHead(1)
	if cardHolds(t, a.cfg.DataDir, sps) {
		t.Fatal("plaintext on the card of a camera paired with encryption on")
	}
	vk, err := e2ee.Derive(owner)
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(0); seq <= 1; seq++ {
		seg, err := a.Chain().Segment(seq)
		if err != nil {
			t.Fatal(err)
		}
		hdr, err := e2ee.ParseSealedHeader(seg)
		if err != nil {
			t.Fatalf("segment %d is not sealed: %v", seq, err)
		}
		raw, err := a.currentE2EE().Envelope(hdr.Epoch, hdr.Serial)
		if err != nil {
			t.Fatal(err)
		}
		env, err := e2ee.DecodeEnvelope(raw, code.Camera)
		if err != nil {
			t.Fatal(err)
		}
		ck, err := vk.Open(env)
		if err != nil {
			t.Fatalf("the owner's viewing key does not open segment %d's content key: %v", seq, err)
		}
		sk, _ := ck.Segment(hdr.Stream, hdr.Seq)
		if _, err := sk.OpenSegment(seg); err != nil {
			t.Fatalf("segment %d does not open: %v", seq, err)
		}
	}
	if s := a.Status().E2EE; s != e2eeOn {
		t.Fatalf("after a hub-signed off: e2ee %q", s)
	}
}

// A camera paired with --no-encryption (the owner's signed "off") records
// in the clear, as one paired before the policy came with the imprint.
func TestPairedWithEncryptionOff(t *testing.T) {
	confirmEvery = 20 * time.Millisecond
	a, _ := startAgent(t, 0)
	owner := mustKey(t)
	code, _ := pairing.ParseCode(a.Status().Code)
	ledger := newTxHub(t)
	req := requestVia(t, code, owner, ledger.URL(), time.Minute)
	req.Encryption = signedIn(t, tx.DomainV1, &tx.Encryption{Camera: code.Camera, Epoch: code.Epoch, On: 0, Nonce: tx.NewNonce(), Expiry: req.Expiry}, owner)
	req.ViewingKey = nil
	resp, err := pairing.Dial(context.Background(), code, req)
	if err != nil {
		t.Fatal(err)
	}
	ledger.commit(t, req, code.Camera, resp)
	waitPaired(t, a)
	if s := a.Status().E2EE; s != e2eeOff {
		t.Fatalf("paired with the policy off: e2ee %q", s)
	}
}

// sampleSPS is the sample clip's SPS, in every plaintext segment.
func sampleSPS(t *testing.T) []byte {
	t.Helper()
	aus, err := media.SplitAccessUnits(media.SampleH264())
	if err != nil {
		t.Fatal(err)
	}
	for _, au := range aus {
		for _, n := range au {
			if n[0]&0x1f == 7 {
				return n
			}
		}
	}
	t.Fatal("no SPS in the sample")
	return nil
}

// cardHolds reports whether any file under dir holds needle.
func cardHolds(t *testing.T, dir string, needle []byte) bool {
	t.Helper()
	found := false
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, needle) {
			found = true
		}
		return nil
	})
	return found
}
