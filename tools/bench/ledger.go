package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/tx"
)

// ledgerEnv is a single-validator ledger node in a fresh temporary home,
// accepting the unsigned no-op transactions of the baselines, with one
// camera imprinted by one owner.
type ledgerEnv struct {
	home  string
	node  *ledger.Node
	owner *keys.PrivateKey
	cam   keys.Address
	epoch uint64
	noops uint64 // no-op transactions made so far; each one is unique
}

func startLedger(ctx context.Context, o *options) (*ledgerEnv, error) {
	home, err := os.MkdirTemp("", "camchain-bench-ledger-*")
	if err != nil {
		return nil, err
	}
	e := &ledgerEnv{home: home}
	hub, err := keys.Generate()
	if err != nil {
		e.close()
		return nil, err
	}
	if err := ledger.InitHome(home, ledger.RandomLedgerChainID(), []keys.Address{hub.Address()}); err != nil {
		e.close()
		return nil, err
	}
	if e.node, err = ledger.StartNode(ledger.NodeConfig{Home: home, BenchNoop: true}); err != nil {
		e.close()
		return nil, err
	}
	if err := e.imprint(ctx); err != nil {
		e.close()
		return nil, err
	}
	o.Progress.Printf("   node started in %s; camera %s imprinted", home, e.cam.Hex())
	return e, nil
}

// imprint puts one camera on the ledger, owned by e.owner.
func (e *ledgerEnv) imprint(ctx context.Context) error {
	var err error
	if e.owner, err = keys.Generate(); err != nil {
		return err
	}
	cam, err := keys.Generate()
	if err != nil {
		return err
	}
	e.cam = cam.Address()
	t, err := tx.Sign(e.node.App.EVMChainID(), &tx.Imprint{Camera: e.cam, Owner: e.owner.Address(),
		Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Hour)}, e.owner, cam)
	if err != nil {
		return err
	}
	if _, err := submitOK(ctx, e.node, t); err != nil {
		return fmt.Errorf("imprint: %w", err)
	}
	d, err := e.node.App.Device(e.cam)
	if err != nil || d == nil {
		return fmt.Errorf("imprinted camera not found: %v", err)
	}
	e.epoch = d.Epoch
	return nil
}

func (e *ledgerEnv) close() {
	if e.node != nil {
		e.node.Close()
	}
	os.RemoveAll(e.home)
}

// signed returns n encoded SetPolicy transactions by the owner on the
// imprinted camera, each with its own random nonce, so that every one of
// them is valid in any order. Signing runs on every core, before any timing.
func (e *ledgerEnv) signed(ctx context.Context, o *options, n int) ([][]byte, error) {
	out := make([][]byte, n)
	chain := e.node.App.EVMChainID()
	expiry := tx.ExpiryIn(50 * time.Minute)
	minP, maxP := uint64(tx.MinCheckpointPeriod.Seconds()), uint64(tx.MaxCheckpointPeriod.Seconds())
	var next, done atomic.Int64
	stop := o.Progress.Every(2*time.Second, func() string { return fmt.Sprintf("signed %d/%d", done.Load(), n) })
	defer stop()
	errs := make(chan error, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				m := &tx.SetPolicy{Camera: e.cam, Epoch: e.epoch,
					CheckpointPeriod: minP + uint64(i)%(maxP-minP), Nonce: tx.NewNonce(), Expiry: expiry}
				t, err := tx.Sign(chain, m, e.owner)
				if err == nil {
					out[i], err = t.Encode()
				}
				if err != nil {
					errs <- err
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return out, ctx.Err()
}

// noop returns n unsigned no-op transactions, unique within this node.
func (e *ledgerEnv) noop(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		e.noops++
		out[i] = binary.BigEndian.AppendUint64(slices.Clone(ledger.BenchNoopPrefix), e.noops)
	}
	return out
}

// submitOK submits one transaction and waits for its commit; anything but
// CodeOK is an error.
func submitOK(ctx context.Context, n *ledger.Node, t *tx.Tx) (ledger.Submitted, error) {
	raw, err := t.Encode()
	if err != nil {
		return ledger.Submitted{}, err
	}
	return submitRaw(ctx, n, raw)
}

func submitRaw(ctx context.Context, n *ledger.Node, raw []byte) (ledger.Submitted, error) {
	res, err := n.Submit(ctx, raw)
	if err != nil {
		return res, err
	}
	if res.Code != ledger.CodeOK {
		return res, fmt.Errorf("tx %x: code %d (%s): %s", res.Hash[:8], res.Code, ledger.CodeName(res.Code), res.Log)
	}
	return res, nil
}

// flood submits txs through inFlight concurrent Submit calls and returns
// the rate from the first submission to the last commit, and the number of
// blocks they landed in.
func flood(ctx context.Context, o *options, n *ledger.Node, label string, txs [][]byte, inFlight int) (rate float64, blocks int, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	heights := make([]uint64, len(txs))
	var next, done atomic.Int64
	stop := o.Progress.Every(time.Second, func() string {
		return fmt.Sprintf("%s: %d/%d committed", label, done.Load(), len(txs))
	})
	var wg sync.WaitGroup
	start := time.Now()
	for range min(inFlight, len(txs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(txs) && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				res, err := submitRaw(ctx, n, txs[i])
				if err != nil {
					cancel(fmt.Errorf("%s tx %d: %w", label, i, err))
					return
				}
				heights[i] = res.Height
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	stop()
	if err := context.Cause(ctx); err != nil {
		return 0, 0, err
	}
	slices.Sort(heights)
	return float64(len(txs)) / elapsed.Seconds(), len(slices.Compact(heights)), nil
}

func benchCommitThroughput(ctx context.Context, o *options) ([]Row, error) {
	if o.Txs < 1 || o.InFlight < 1 {
		return nil, errors.New("-txs and -inflight must be positive")
	}
	e, err := startLedger(ctx, o)
	if err != nil {
		return nil, err
	}
	defer e.close()
	o.Progress.Printf("   pre-signing %d SetPolicy txs (EIP-712, secp256k1)", o.Txs)
	signed, err := e.signed(ctx, o, o.Txs)
	if err != nil {
		return nil, err
	}
	noop := e.noop(o.Txs)
	if _, _, err := flood(ctx, o, e.node, "warm-up", e.noop(min(1000, o.Txs)), o.InFlight); err != nil {
		return nil, err
	}
	o.Progress.Printf("   submitting %d signed txs, %d in flight", len(signed), o.InFlight)
	stopProfile, err := startProfile(o.SignedProfile)
	if err != nil {
		return nil, err
	}
	sRate, sBlocks, err := flood(ctx, o, e.node, "signed", signed, o.InFlight)
	stopProfile()
	if err != nil {
		return nil, err
	}
	o.Progress.Printf("   submitting %d no-op txs, %d in flight", len(noop), o.InFlight)
	nRate, nBlocks, err := flood(ctx, o, e.node, "noop", noop, o.InFlight)
	if err != nil {
		return nil, err
	}
	note := fmt.Sprintf("%d txs, %d in flight; signed in %d blocks, no-op in %d blocks", o.Txs, o.InFlight, sBlocks, nBlocks)
	return []Row{
		NewRow("ledger.commit_throughput.signed", "tx/s", sRate, "ledger.commit_throughput.noop", nRate, AtLeast(10000), note),
	}, nil
}

// startProfile starts a CPU profile into path (nothing if path is empty)
// and returns what stops it.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func benchCommitLatency(ctx context.Context, o *options) ([]Row, error) {
	const warmUp = 20
	if o.LatencyTxs < 1 {
		return nil, errors.New("-latency-txs must be positive")
	}
	e, err := startLedger(ctx, o)
	if err != nil {
		return nil, err
	}
	defer e.close()
	n := warmUp + o.LatencyTxs
	signed, err := e.signed(ctx, o, n)
	if err != nil {
		return nil, err
	}
	noop := e.noop(n)
	// Alternate signed and no-op so that both see the same node, the same
	// database size and the same background work.
	var sLat, nLat []time.Duration
	var pairs atomic.Int64
	stop := o.Progress.Every(2*time.Second, func() string { return fmt.Sprintf("%d/%d pairs committed", pairs.Load(), n) })
	defer stop()
	for k := range n {
		for _, c := range []struct {
			raw []byte
			lat *[]time.Duration
		}{{signed[k], &sLat}, {noop[k], &nLat}} {
			t0 := time.Now()
			if _, err := submitRaw(ctx, e.node, c.raw); err != nil {
				return nil, fmt.Errorf("tx %d: %w", k, err)
			}
			if k >= warmUp {
				*c.lat = append(*c.lat, time.Since(t0))
			}
		}
		pairs.Store(int64(k + 1))
	}
	note := fmt.Sprintf("%d txs each, one at a time, after %d warm-up", o.LatencyTxs, warmUp)
	return []Row{
		NewRow("ledger.commit_latency.p50", "ms", ms(percentile(sLat, 50)), "ledger.commit_latency.noop.p50", ms(percentile(nLat, 50)), AtMost(30), note),
		NewRow("ledger.commit_latency.p99", "ms", ms(percentile(sLat, 99)), "ledger.commit_latency.noop.p99", ms(percentile(nLat, 99)), nil, note),
	}, nil
}

// percentile returns the nearest-rank p-th percentile of ds (0 if empty).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(float64(len(s))*p/100)) - 1
	return s[max(0, min(rank, len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
