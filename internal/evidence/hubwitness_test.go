package evidence_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/evidence/evidencetest"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/hub"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/testutil/litewitness"
	"github.com/camchain/camchain/internal/testutil/openssltsa"
	"github.com/camchain/camchain/internal/witness"
)

// TestHubPublishesToWitness: a real hub configured with a real witness
// (torchwood's litewitness) and a real TSA (OpenSSL's ts -reply) publishes
// each committed checkpoint to the witness, in order, with consistency
// proofs, and has the TSA timestamp it; its bundles then carry the
// cosignatures and tokens and verify under that witness and TSA. A second camera whose log the witness
// saw with another tree of the same size (a fork) raises the hub's
// witness-fork alarm on the ledger, and its bundles stay unwitnessed.
func TestHubPublishesToWitness(t *testing.T) {
	ctx := context.Background()
	lw := litewitness.Start(t, "witness.example/hub")
	ts := openssltsa.Start(t)
	key := witness.Key{Name: lw.Name, Public: lw.Public}
	dir := filepath.Join(t.TempDir(), "hub")
	h, err := evidencetest.StartHubConfig(hub.Config{DataDir: dir,
		Witnesses: []hub.WitnessTarget{{URL: lw.URL, Key: key}}, TSAs: []string{ts.URL}, WitnessInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	pin, err := evidencetest.PinnedValidatorsHash(dir)
	if err != nil {
		t.Fatal(err)
	}
	chainID := h.Node().LedgerChainID()
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)

	cam, err := evidencetest.NewCamera(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	origin := witness.Origin(chainID, cam.Key.Address(), 0)
	vkey, err := h.WitnessLogKey(origin)
	if err != nil {
		t.Fatal(err)
	}
	lw.AddLog(t, origin, vkey)
	// Its sub stream is a log of its own (SPEC §16.1).
	sub := cam.Sub()
	subOrigin := witness.StreamOrigin(chainID, cam.Key.Address(), 0, feedchain.StreamSub)
	svkey, err := h.WitnessLogKey(subOrigin)
	if err != nil {
		t.Fatal(err)
	}
	lw.AddLog(t, subOrigin, svkey)

	// The forked camera: the witness first sees another tree of 3 records
	// for its log, signed with the hub's own log key (a copy of the hub, or
	// a rewritten history).
	forked, err := evidencetest.NewCamera(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	forkOrigin := witness.Origin(chainID, forked.Key.Address(), 0)
	fvkey, _ := h.WitnessLogKey(forkOrigin)
	lw.AddLog(t, forkOrigin, fvkey)
	secret, err := os.ReadFile(filepath.Join(dir, "witness", "log.secret"))
	if err != nil {
		t.Fatal(err)
	}
	lk, err := witness.NewLogKeys(secret)
	if err != nil {
		t.Fatal(err)
	}
	other := checkpoint.NewTree()
	for i := 0; i < 3; i++ {
		var leaf feedchain.Hash
		rand.Read(leaf[:])
		other.Append(leaf)
	}
	client := &witness.Client{Key: key, URL: lw.URL}
	if _, err := witness.Publish(ctx, client, lk, forkOrigin, other, 3, 0); err != nil {
		t.Fatal(err)
	}

	for _, step := range []func() error{
		func() error { return cam.Record(2, t0, 2*time.Second, 100) },
		func() error { return cam.Checkpoint(ctx) },
		func() error { return cam.Record(3, t0.Add(4*time.Second), 2*time.Second, 100) },
		func() error { return cam.Checkpoint(ctx) },
		func() error { return sub.Record(2, t0, 2*time.Second, 50) },
		func() error { return sub.Checkpoint(ctx) },
		func() error { return forked.Record(3, t0, 2*time.Second, 100) },
		func() error { return forked.Checkpoint(ctx) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}

	opts := evidence.Options{PinnedValidatorsHash: pin, Now: time.Now().Add(time.Minute), Witnesses: []witness.Key{key}, TSARoots: ts.Roots}
	witnessed := func(c *evidencetest.Camera) *evidence.Report {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			data, err := c.Export(ctx, t0, t0.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := evidence.VerifyBytes(data, opts)
			if err == nil {
				return rep
			}
			if !errors.Is(err, evidence.ErrNotWitnessed) && !errors.Is(err, evidence.ErrNotTimestamped) || time.Now().After(deadline) {
				t.Fatalf("the hub's %s stream bundle: %v", c.Stream, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	rep := witnessed(cam)
	if len(rep.Checkpoints) != 2 || rep.Checkpoints[1].TreeSize != 5 || !rep.Checkpoints[1].Witnesses[0].Trusted || !rep.Checkpoints[1].Timestamps[0].Trusted {
		t.Fatalf("report: %+v", rep.Checkpoints)
	}
	if rep := witnessed(sub); rep.Origin != subOrigin || len(rep.Checkpoints) != 1 || rep.Checkpoints[0].TreeSize != 2 ||
		!rep.Checkpoints[0].Witnesses[0].Trusted || !rep.Checkpoints[0].Timestamps[0].Trusted {
		t.Fatalf("sub stream report: origin %q, %+v", rep.Origin, rep.Checkpoints)
	}

	// The fork: an alarm on the ledger, naming the witness and the sizes.
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs, err := h.Node().App.Events(ledger.EventFilter{Camera: forked.Key.Address(), Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range evs {
			found = found || e.Kind == audit.WitnessFork && strings.Contains(e.Detail, lw.Name) && strings.Contains(e.Detail, "from size 3 to 3")
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no witness-fork alarm for the forked camera; events: %+v", evs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	data, err := forked.Export(ctx, t0, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := evidence.VerifyBytes(data, opts); !errors.Is(err, evidence.ErrNotWitnessed) {
		t.Fatalf("the forked camera's bundle under the witness: %v, want not_witnessed", err)
	}
}

// TestHubWitnessesForAnotherHub: a camchain hub runs a witness for another
// owner's hub (camchaind run --witness-log VKEY): hub A publishes its
// camera's checkpoints to hub B's /witness, B checks each against the
// last tree it cosigned (kept across B's restart) and cosigns, and A's
// bundles verify for a stranger who trusts only B's witness key.
func TestHubWitnessesForAnotherHub(t *testing.T) {
	ctx := context.Background()
	// B starts witnessing one log already (another hub's), so its witness
	// key and URL exist before A is configured with them.
	earlier, err := witness.NewLogKeys(bytes.Repeat([]byte{9}, witness.LogSecretSize))
	if err != nil {
		t.Fatal(err)
	}
	earlierKey, err := earlier.VerifierKey("camchain/v1/elsewhere/0x00/0")
	if err != nil {
		t.Fatal(err)
	}
	bDir := filepath.Join(t.TempDir(), "b")
	b, err := evidencetest.StartHubConfig(hub.Config{DataDir: bDir, WitnessLogs: []string{earlierKey}})
	if err != nil {
		t.Fatal(err)
	}
	bKey, ok := b.WitnessServerKey()
	if !ok || bKey.Name != hub.DefaultWitnessName(b.Address()) {
		b.Close()
		t.Fatalf("hub B's witness key: %v %v", bKey, ok)
	}
	bURL, bAddr := b.WitnessURL(), b.Addr()

	aDir := filepath.Join(t.TempDir(), "a")
	a, err := evidencetest.StartHubConfig(hub.Config{DataDir: aDir,
		Witnesses: []hub.WitnessTarget{{URL: bURL, Key: bKey}}, WitnessInterval: 100 * time.Millisecond})
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	defer a.Close()
	cam, err := evidencetest.NewCamera(ctx, a)
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	origin := witness.Origin(a.Node().LedgerChainID(), cam.Key.Address(), 0)
	vkey, err := a.WitnessLogKey(origin)
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	// B's operator adds A's camera log and restarts B (same address).
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b, err = hub.Start(hub.Config{DataDir: bDir, HTTPAddr: bAddr, LinkAddr: "127.0.0.1:0", WitnessLogs: []string{vkey}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if k, _ := b.WitnessServerKey(); !k.Equal(bKey) {
		t.Fatalf("B's witness key changed across its restart: %s, was %s", k, bKey)
	}

	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	for _, step := range []func() error{
		func() error { return cam.Record(2, t0, 2*time.Second, 100) },
		func() error { return cam.Checkpoint(ctx) },
		func() error { return cam.Record(3, t0.Add(4*time.Second), 2*time.Second, 100) },
		func() error { return cam.Checkpoint(ctx) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	pin, err := evidencetest.PinnedValidatorsHash(aDir)
	if err != nil {
		t.Fatal(err)
	}
	opts := evidence.Options{PinnedValidatorsHash: pin, Now: time.Now().Add(time.Minute), Witnesses: []witness.Key{bKey}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, err := cam.Export(ctx, t0, t0.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := evidence.VerifyBytes(data, opts)
		if err == nil {
			if n := len(rep.Checkpoints); n != 2 || rep.Checkpoints[1].TreeSize != 5 || !rep.Checkpoints[1].Witnesses[0].Trusted ||
				rep.Checkpoints[1].Witnesses[0].Name != bKey.Name {
				t.Fatalf("report: %+v", rep.Checkpoints)
			}
			break
		}
		if !errors.Is(err, evidence.ErrNotWitnessed) || time.Now().After(deadline) {
			t.Fatalf("hub A's bundle under hub B's witness: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// B keeps what it cosigned: A's log at 5, and the log it had before.
	st, err := os.ReadFile(filepath.Join(bDir, "witness", "server", "witnessed.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(st), `"size": 5`) || !strings.Contains(string(st), earlierKey) {
		t.Fatalf("B's witness state: %s", st)
	}
}
