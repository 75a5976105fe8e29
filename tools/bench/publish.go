package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/evidence/evidencetest"
	"github.com/camchain/camchain/internal/hub"
	"github.com/camchain/camchain/internal/testutil/litewitness"
	"github.com/camchain/camchain/internal/testutil/openssltsa"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/witness"
)

// publishPeriods is how many checkpoint periods checkpoint.publish runs.
const publishPeriods = 8

// benchCheckpointPublish measures one camera's checkpoint publication end
// to end for each period — the camera signs its checkpoint, the ledger
// commits it, the hub publishes it to a real witness (torchwood's
// litewitness) that checks consistency and cosigns, and a real TSA
// (OpenSSL's ts -reply) timestamps it — until the camera's bundle carries
// both, beside signing the checkpoint alone.
func benchCheckpointPublish(ctx context.Context, o *options) (rows []Row, err error) {
	tmp, err := os.MkdirTemp("", "camchain-bench-publish-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	tb := &benchTB{dir: tmp}
	defer tb.close()
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(benchFatal)
			if !ok {
				panic(r)
			}
			err = errors.New(string(f))
		}
	}()
	o.Progress.Printf("   a real witness (litewitness) and a real TSA (openssl ts) on loopback")
	lw := litewitness.Start(tb, "witness.example/bench")
	ts := openssltsa.Start(tb)
	dir := filepath.Join(tmp, "hub")
	h, err := evidencetest.StartHubConfig(hub.Config{DataDir: dir, Witnesses: []hub.WitnessTarget{{URL: lw.URL, Key: witness.Key{Name: lw.Name, Public: lw.Public}}},
		TSAs: []string{ts.URL}, WitnessInterval: 20 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	defer h.Close()
	cam, err := evidencetest.NewCamera(ctx, h)
	if err != nil {
		return nil, err
	}
	origin := witness.Origin(h.Node().LedgerChainID(), cam.Key.Address(), 0)
	vkey, err := h.WitnessLogKey(origin)
	if err != nil {
		return nil, err
	}
	lw.AddLog(tb, origin, vkey)

	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	var e2e, sign []time.Duration
	for p := range publishPeriods {
		if err := cam.Record(30, t0.Add(time.Duration(p*30)*2*time.Second), 2*time.Second, 1000); err != nil {
			return nil, err
		}
		// Signing alone: the camera's checkpoint transaction, as Checkpoint signs it.
		m := &tx.Checkpoint{Camera: cam.Key.Address(), PeriodStart: 1, PeriodEnd: 2, FirstSeq: 0, LastSeq: 0, TreeSize: 1, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}
		s0 := time.Now()
		st, err := tx.Sign(cam.Chain, m, cam.Key)
		if err == nil {
			_, err = st.Encode()
		}
		if err != nil {
			return nil, err
		}
		sign = append(sign, time.Since(s0))

		start := time.Now()
		if err := cam.Checkpoint(ctx); err != nil {
			return nil, err
		}
		from, to := t0.Add(time.Duration(p*30)*2*time.Second), t0.Add(time.Duration(p*30+30)*2*time.Second)
		deadline := start.Add(30 * time.Second)
		for {
			data, err := cam.Export(ctx, from, to)
			if err != nil {
				return nil, err
			}
			b, err := evidence.Decode(data)
			if err != nil {
				return nil, err
			}
			last := b.Checkpoints[len(b.Checkpoints)-1]
			if len(last.Cosignatures) > 0 && len(last.Timestamps) > 0 {
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("period %d: not cosigned and timestamped within 30 s", p)
			}
			time.Sleep(5 * time.Millisecond)
		}
		e2e = append(e2e, time.Since(start))
	}
	slices.Sort(e2e)
	slices.Sort(sign)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return []Row{
		NewRow("checkpoint.publish_ms", "ms", ms(e2e[len(e2e)/2]), "checkpoint.sign_ms", ms(sign[len(sign)/2]), nil,
			fmt.Sprintf("one camera, median of %d periods of 30 segments: the camera signs its checkpoint, the single-validator ledger commits it, the hub (witness pass every 20 ms) publishes it with its consistency proof to a real litewitness (filippo.io/torchwood) that cosigns and has a real TSA (openssl ts -reply behind HTTP) timestamp it, until the camera's evidence bundle carries both (polled every 5 ms); baseline: signing the checkpoint transaction alone (EIP-712 digest, secp256k1, encoding)", publishPeriods)),
	}, nil
}

// benchTB lets the bench start the test witness and TSA, whose helpers take
// a testing.TB: the methods they call, with Fatal ending the group (the
// embedded interface is nil; nothing else is called).
type benchTB struct {
	testing.TB
	dir      string
	n        int
	cleanups []func()
}

type benchFatal string

func (b *benchTB) Helper()                        {}
func (b *benchTB) Fatal(a ...any)                 { panic(benchFatal(fmt.Sprint(a...))) }
func (b *benchTB) Fatalf(format string, a ...any) { panic(benchFatal(fmt.Sprintf(format, a...))) }
func (b *benchTB) Logf(string, ...any)            {}
func (b *benchTB) Failed() bool                   { return false }
func (b *benchTB) Cleanup(f func())               { b.cleanups = append(b.cleanups, f) }
func (b *benchTB) TempDir() string {
	b.n++
	d := filepath.Join(b.dir, fmt.Sprintf("tmp%d", b.n))
	if err := os.MkdirAll(d, 0o700); err != nil {
		b.Fatal(err)
	}
	return d
}
func (b *benchTB) close() {
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		b.cleanups[i]()
	}
}
