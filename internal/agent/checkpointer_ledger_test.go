package agent

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/hub"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// ledgerCamera is a camera agent imprinted on a real hub's ledger (real
// in-process CometBFT), with a 60-second checkpoint period, whose API is
// reached through front: the real hub, or a hub that lies (hubFront).
type ledgerCamera struct {
	t       *testing.T
	a       *Agent
	hub     *hub.Hub
	direct  *api.Client
	front   *hubFront
	chain64 uint64
}

func newLedgerCamera(t *testing.T) *ledgerCamera {
	t.Helper()
	dir := t.TempDir()
	if _, err := hub.Init(hub.Config{DataDir: dir}, ""); err != nil {
		t.Fatal(err)
	}
	h, err := hub.Start(hub.Config{DataDir: dir, HTTPAddr: "127.0.0.1:0", LinkAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	a, err := Open(Config{DataDir: t.TempDir(), Source: nopSource{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.store.Close() })
	direct, err := api.NewClient("http://" + h.Addr())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := direct.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	owner, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	direct.WithCredentials(&api.KeyCredentials{Key: a.key}) // the test reads the camera's record as the camera
	c := &ledgerCamera{t: t, a: a, hub: h, direct: direct, chain64: st.EVMChainID}
	c.submit(&tx.Imprint{Camera: a.Address(), Owner: owner.Address(), Hub: h.Address(), Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, owner, a.key)
	c.submit(&tx.SetPolicy{Camera: a.Address(), CheckpointPeriod: 60, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, owner)
	target, _ := url.Parse("http://" + h.Addr())
	c.front = &hubFront{proxy: httputil.NewSingleHostReverseProxy(target)}
	srv := httptest.NewServer(c.front)
	t.Cleanup(srv.Close)
	c.front.client, _ = api.NewClient(srv.URL)
	c.front.client.WithCredentials(a.hubLogin) // the camera logs in as itself, as checkpointLoop does
	return c
}

func (c *ledgerCamera) submit(m tx.Msg, signers ...keys.Signer) {
	c.t.Helper()
	s, err := tx.Sign(c.chain64, m, signers...)
	if err != nil {
		c.t.Fatal(err)
	}
	raw, err := s.Encode()
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.direct.Submit(context.Background(), raw); err != nil {
		c.t.Fatalf("%s: %v", m.Type(), err)
	}
}

// record appends n 20-second records, the first starting at start (the
// camera's clock), as the recorder would.
func (c *ledgerCamera) record(n int, start time.Time) {
	c.t.Helper()
	chain := c.a.Chain()
	for i := 0; i < n; i++ {
		data := []byte{byte(i), 7, 7, 7}
		r := &feedchain.Record{Camera: c.a.Address(), Seq: uint64(i), Segment: feedchain.SegmentHash(data),
			Start: start.Add(time.Duration(i) * 20 * time.Second).UnixNano(), Duration: 20 * time.Second, Size: 4, Codec: "avc1.4d401e"}
		if h := chain.Head(); h.Valid {
			r.Prev, r.Seq = h.Hash, h.Seq+1
		}
		if err := r.Sign(c.a.key); err != nil {
			c.t.Fatal(err)
		}
		if err := chain.Append(r, data); err != nil {
			c.t.Fatal(err)
		}
	}
}

func (c *ledgerCamera) checkpointer() *checkpointer {
	return &checkpointer{a: c.a, chain: c.a.Chain(), tree: checkpoint.NewTree(), api: c.front.client, evmChainID: c.chain64}
}

// onLedger is the number of checkpoints the ledger holds for the camera,
// read from the real hub.
func (c *ledgerCamera) onLedger() uint64 {
	c.t.Helper()
	d, err := c.direct.Device(context.Background(), c.a.Address().Hex())
	if err != nil {
		c.t.Fatal(err)
	}
	return d.Checkpoints.Count
}

func (c *ledgerCamera) alarms(kind audit.Alarm) []string {
	var out []string
	for _, al := range c.a.alarms.All() {
		if al.Kind == kind {
			out = append(out, al.Detail)
		}
	}
	return out
}

// hubFront stands between the camera and the real hub. Honest, it passes
// everything through. With drop set it is a hub that swallows the
// camera's transactions and answers as if the ledger had committed them;
// with substitute set it answers every transaction lookup with the bytes of
// another transaction.
type hubFront struct {
	proxy      *httputil.ReverseProxy
	client     *api.Client
	drop       atomic.Bool
	substitute atomic.Pointer[[]byte]
	dropped    atomic.Int32
}

func (f *hubFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case f.drop.Load() && r.Method == http.MethodPost && r.URL.Path == "/api/v1/txs":
		f.dropped.Add(1)
		json.NewEncoder(w).Encode(api.TxResult{Hash: "0x" + strings.Repeat("ab", 32), Code: 0, CodeName: "ok", Height: 7})
	case f.substitute.Load() != nil && r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/txs/"):
		hash := strings.TrimPrefix(r.URL.Path, "/api/v1/txs/")
		json.NewEncoder(w).Encode(api.TxResult{Hash: hash, Code: 0, CodeName: "ok", Height: 7, Tx: "0x" + hex.EncodeToString(*f.substitute.Load())})
	default:
		f.proxy.ServeHTTP(w, r)
	}
}

// A camera whose clock is wrong cannot commit checkpoints; it must say so.
// The camera really runs on the skewed clock: its records are stamped with
// it and its checkpoints signed with it; the ledger judges by its block
// time. Fast: the period ends in the ledger's future (code future). Slow:
// the checkpoint has expired before it is signed (code expired). Each
// raises checkpoint-refused naming the clock, once an hour, not each round.
func TestCheckpointRefusedForClockSkewRaisesAnAlarm(t *testing.T) {
	for _, tc := range []struct {
		name string
		skew time.Duration
		code string
	}{
		{"fast", 30 * time.Minute, "future"},
		{"slow", -2 * time.Hour, "expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newLedgerCamera(t)
			clock := time.Now().Add(tc.skew)
			c.record(6, clock.Add(-3*time.Minute))
			cp := c.checkpointer()
			n, err := cp.once(context.Background(), clock)
			if err == nil || n != 0 || !strings.Contains(err.Error(), tc.code) {
				t.Fatalf("a checkpoint from a %s clock: %d committed, err %v; want refused with %s", tc.name, n, err, tc.code)
			}
			got := c.alarms(audit.CheckpointRefused)
			if len(got) != 1 || !strings.Contains(got[0], tc.code) || !strings.Contains(got[0], "clock") {
				t.Fatalf("alarms %q, want one checkpoint-refused naming %s and the clock", got, tc.code)
			}
			// The next rounds retry, and do not raise the alarm again within the hour.
			for i := 1; i <= 2; i++ {
				if _, err := cp.once(context.Background(), clock.Add(time.Duration(i)*time.Second)); err == nil {
					t.Fatal("a retry from the same clock landed")
				}
			}
			if got := c.alarms(audit.CheckpointRefused); len(got) != 1 {
				t.Fatalf("%d alarms after the retries, want still 1", len(got))
			}
			if _, err := cp.once(context.Background(), clock.Add(checkpointAlarmEvery+time.Minute)); err == nil {
				t.Fatal("a retry from the same clock landed")
			}
			if got := c.alarms(audit.CheckpointRefused); len(got) != 2 {
				t.Fatalf("%d alarms an hour on, want 2", len(got))
			}
			if n := c.onLedger(); n != 0 {
				t.Fatalf("the ledger holds %d checkpoints", n)
			}
		})
	}
}

// The camera confirms each checkpoint on the ledger. A hub that swallows
// the transaction and answers "committed" is caught: the checkpoint is not
// found, no further one is signed on top of it, and once it has expired
// the camera raises checkpoint-missing and signs the period again; through
// an honest hub that one lands, and nothing is lost.
func TestCheckpointMissingFromTheLedgerRaisesAnAlarmAndIsRetried(t *testing.T) {
	c := newLedgerCamera(t)
	now := time.Now()
	c.record(6, now.Add(-3*time.Minute))
	cp := c.checkpointer()

	c.front.drop.Store(true)
	n, err := cp.once(context.Background(), now)
	if n != 1 || !errors.Is(err, errUnconfirmed) || c.front.dropped.Load() != 1 {
		t.Fatalf("through a lying hub: %d submitted, %v (%d dropped); want 1 submitted, unconfirmed", n, err, c.front.dropped.Load())
	}
	// Until it expires the camera waits for it, and signs nothing more.
	if n, err := cp.once(context.Background(), now.Add(time.Minute)); n != 0 || !errors.Is(err, errUnconfirmed) {
		t.Fatalf("waiting round: %d, %v", n, err)
	}
	if got := c.alarms(audit.CheckpointMissing); len(got) != 0 {
		t.Fatalf("alarm before the checkpoint expired: %q", got)
	}
	// Expired and not on the ledger: missing.
	later := now.Add(tx.DefaultTTL + confirmGrace + time.Second)
	if _, err := cp.once(context.Background(), later); err == nil || !strings.Contains(err.Error(), "not on the ledger") {
		t.Fatalf("after expiry: %v", err)
	}
	if got := c.alarms(audit.CheckpointMissing); len(got) != 1 || !strings.Contains(got[0], "#0–") {
		t.Fatalf("alarms %q, want one checkpoint-missing naming the records", got)
	}
	if n := c.onLedger(); n != 0 {
		t.Fatalf("the ledger holds %d checkpoints though the hub dropped them", n)
	}
	// The hub is honest again: the period is signed again, lands, and is confirmed.
	c.front.drop.Store(false)
	n, err = cp.once(context.Background(), later)
	if err != nil || n < 1 || cp.pending != nil {
		t.Fatalf("retry through an honest hub: %d, %v, pending %v", n, err, cp.pending)
	}
	if got := c.onLedger(); got != uint64(n) {
		t.Fatalf("the ledger holds %d checkpoints, the camera committed %d", got, n)
	}
}

// A hub that answers the lookup with another transaction under the
// checkpoint's hash is caught at once.
func TestCheckpointAnsweredWithAnotherTransactionRaisesAnAlarm(t *testing.T) {
	c := newLedgerCamera(t)
	now := time.Now()
	c.record(3, now.Add(-3*time.Minute))
	other := []byte{0x83, 0x01, 0x02, 0x03}
	c.front.substitute.Store(&other)
	cp := c.checkpointer()
	if _, err := cp.once(context.Background(), now); err == nil || !strings.Contains(err.Error(), "another transaction") {
		t.Fatalf("lookup answered with another tx: %v", err)
	}
	if got := c.alarms(audit.CheckpointMissing); len(got) != 1 || !strings.Contains(got[0], "another transaction") {
		t.Fatalf("alarms %q, want one checkpoint-missing", got)
	}
}
