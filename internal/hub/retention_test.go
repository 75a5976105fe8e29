package hub

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/store"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/verify/verifytest"
)

// The hub's retention removes exactly what it should: segments older than
// the owner's ledger policy (the --retention default until there is one),
// only those a committed checkpoint covers, never a held one, oldest first
// — on a real hub with its real ledger.
func TestHubRetentionFollowsTheLedgerPolicy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hub")
	lh := startLedgerHub(t, Config{DataDir: dir, RetentionInterval: time.Hour})
	h, c, ctx, _ := lh.Hub, lh.c, lh.ctx, lh.status
	owner, cam, stranger := recordsTestKey(t), recordsTestKey(t), recordsTestKey(t)
	trySubmit := lh.trySubmit(t)
	submit := func(m tx.Msg, ks ...*keys.PrivateKey) error { _, err := trySubmit(m, ks...); return err }
	if err := submit(&tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Hub: h.Address(),
		Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, owner, cam); err != nil {
		t.Fatal(err)
	}

	// Ten segments recorded ten days ago; a checkpoint covers 0–6.
	now := time.Now()
	chain := verifytest.NewChain(cam, 0)
	if err := chain.AppendRandom(10, 3000, 4, now.Add(-10*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	sc, err := h.Store().Chain(cam.Address(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range chain.Records {
		if err := sc.Append(r, chain.Segments[i]); err != nil {
			t.Fatal(err)
		}
	}
	m, err := chain.CheckpointMsg(0, 6, uint64(now.Add(-2*time.Hour).Unix()), uint64(now.Add(-time.Hour).Unix()))
	if err != nil {
		t.Fatal(err)
	}
	if err := submit(m, cam); err != nil {
		t.Fatal(err)
	}
	// The sub stream's chain, as old: not checkpointed, so never deleted.
	sub, err := h.Store().StreamChain(store.ChainRef{Camera: cam.Address(), Epoch: 0, Stream: feedchain.StreamSub})
	if err != nil {
		t.Fatal(err)
	}
	var prev feedchain.Hash
	for i := range uint64(3) {
		data := []byte{byte(i), 's', 'u', 'b'}
		r := &feedchain.Record{Version: feedchain.Version2, Camera: cam.Address(), Seq: i, Prev: prev, Segment: feedchain.SegmentHash(data),
			Start: now.Add(-10 * 24 * time.Hour).Add(time.Duration(i) * 2 * time.Second).UnixNano(), Duration: 2 * time.Second,
			Size: uint64(len(data)), Codec: "avc1.4d401e", Stream: feedchain.StreamSub, Clock: feedchain.ClockArrival}
		if err := r.Sign(cam); err != nil {
			t.Fatal(err)
		}
		if err := sub.Append(r, data); err != nil {
			t.Fatal(err)
		}
		prev = r.Hash()
	}
	pruned := func() []bool {
		var out []bool
		for s := range uint64(10) {
			si, _ := sc.Info(s)
			out = append(out, si.Pruned)
		}
		return out
	}
	expect := func(what string, below int) {
		t.Helper()
		if _, err := h.retentionPass(now); err != nil {
			t.Fatalf("%s: retention pass: %v", what, err)
		}
		got := pruned()
		for s, p := range got {
			if p != (s < below) {
				t.Fatalf("%s: pruned %v, want the segments below %d", what, got, below)
			}
		}
	}

	// The hub's default, 30 days: ten-day-old video stays.
	expect("the 30-day default", 0)
	if s := cameraStatusOf(t, ctx, c, owner, cam); s.RetentionSeconds != uint64(DefaultRetention/time.Second) || s.RetentionPolicy {
		t.Fatalf("status says retention %ds (ledger policy %v) before any policy", s.RetentionSeconds, s.RetentionPolicy)
	}

	if s := cameraStatusOf(t, ctx, c, owner, cam); !slices.Equal(s.Streams, []string{"main", "sub"}) {
		t.Errorf("status lists streams %v, want main and sub (both chains hold records)", s.Streams)
	}

	// A stranger's policy is refused; the owner's 7 days applies.
	if err := submit(&tx.Retention{Camera: cam.Address(), Days: 1, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, stranger); err == nil {
		t.Fatal("a stranger's retention policy was accepted")
	}
	expect("after the stranger's policy", 0)
	if err := submit(&tx.Retention{Camera: cam.Address(), Days: 7, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, owner); err != nil {
		t.Fatal(err)
	}
	if s := cameraStatusOf(t, ctx, c, owner, cam); s.RetentionSeconds != 7*86400 || !s.RetentionPolicy {
		t.Fatalf("status says retention %ds (ledger policy %v) under a 7-day policy", s.RetentionSeconds, s.RetentionPolicy)
	}

	// A legal hold on seq 3 stops the pass there.
	h.cfg.Held = func(c keys.Address, epoch uint64, si store.SegmentInfo) bool {
		return c == cam.Address() && epoch == 0 && si.Seq == 3
	}
	expect("7 days, seq 3 held", 3)
	// Released: 3–6 go; 7–9 are as old but no checkpoint covers them yet.
	h.cfg.Held = nil
	expect("7 days", 7)
	for s := uint64(7); s < 10; s++ {
		if _, err := sc.Segment(s); err != nil {
			t.Fatalf("uncheckpointed segment %d: %v", s, err)
		}
	}
	// Lengthening the policy deletes nothing more, and brings nothing back.
	if err := submit(&tx.Retention{Camera: cam.Address(), Days: 30, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, owner); err != nil {
		t.Fatal(err)
	}
	expect("30 days again", 7)
	for s := range uint64(3) {
		if si, _ := sub.Info(s); si.Pruned {
			t.Fatalf("sub stream segment %d deleted though no checkpoint covers the sub chain", s)
		}
	}

	// Each change is an audit event of the camera.
	tok := loginToken(t, ctx, c, owner)
	c.WithCredentials(api.StaticToken(tok))
	evs, err := c.Audit(ctx, api.AuditQuery{Camera: cam.Address().Hex(), Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs.Items {
		if e.Kind == "retention" {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d retention audit events, want 2", n)
	}
}

// cameraStatusOf reads GET /devices/{camera}/status as owner.
func cameraStatusOf(t *testing.T, ctx context.Context, c *api.Client, owner, cam *keys.PrivateKey) api.CameraStatus {
	t.Helper()
	c.WithCredentials(api.StaticToken(loginToken(t, ctx, c, owner)))
	s, err := c.CameraStatus(ctx, cam.Address().Hex())
	if err != nil {
		t.Fatal(err)
	}
	return *s
}
