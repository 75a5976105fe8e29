package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
)

// benchNet is a network of in-process ledger nodes on 127.0.0.2, .3, …,
// set up as `camchaind init --network`, `genesis` and `join` set up hubs,
// with the hub's node settings (timeouts, gossip).
type benchNet struct {
	dir   string
	homes []string
	addrs []string // host:port
	ids   []ledger.Identity
	nodes []*ledger.Node
}

func newBenchNet(powers []int64) (*benchNet, error) {
	dir, err := os.MkdirTemp("", "camchain-bench-net-*")
	if err != nil {
		return nil, err
	}
	n := &benchNet{dir: dir, nodes: make([]*ledger.Node, len(powers))}
	for i := range powers {
		k, err := keys.Generate()
		if err != nil {
			n.close()
			return nil, err
		}
		home := filepath.Join(dir, fmt.Sprint("hub", i))
		id, err := ledger.PrepareHome(home, k.Address())
		if err != nil {
			n.close()
			return nil, err
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:0", i+2))
		if err != nil {
			n.close()
			return nil, err
		}
		addr := l.Addr().String()
		l.Close()
		n.homes, n.addrs, n.ids = append(n.homes, home), append(n.addrs, addr), append(n.ids, id)
	}
	doc, err := ledger.NetworkGenesisPowers(ledger.RandomLedgerChainID(), n.ids, powers)
	if err != nil {
		n.close()
		return nil, err
	}
	gen, err := ledger.GenesisJSON(doc)
	if err != nil {
		n.close()
		return nil, err
	}
	for i, home := range n.homes {
		var peers []string
		for j := range n.homes {
			if j != i {
				peers = append(peers, n.ids[j].NodeID+"@"+n.addrs[j])
			}
		}
		if _, err := ledger.InstallGenesis(home, gen, peers); err != nil {
			n.close()
			return nil, err
		}
	}
	return n, nil
}

func (n *benchNet) start(i int) error {
	node, err := ledger.StartNode(ledger.NodeConfig{Home: n.homes[i], P2PListen: "tcp://" + n.addrs[i], BenchNoop: true})
	if err != nil {
		return fmt.Errorf("start node %d: %w", i, err)
	}
	n.nodes[i] = node
	return nil
}

func (n *benchNet) stop(i int) {
	if n.nodes[i] != nil {
		n.nodes[i].Close()
		n.nodes[i] = nil
	}
}

func (n *benchNet) close() {
	for i := range n.nodes {
		n.stop(i)
	}
	os.RemoveAll(n.dir)
}

// benchNetwork measures four validators on this machine beside one node,
// in the same run and with the same transactions: sequential commit
// latency and signed throughput, both submitted through one node.
func benchNetwork(ctx context.Context, o *options) ([]Row, error) {
	if o.Txs < 1 || o.InFlight < 1 || o.LatencyTxs < 1 {
		return nil, errors.New("-txs, -inflight and -latency-txs must be positive")
	}
	latTxs, thrTxs := o.LatencyTxs, max(o.Txs/2, 1)

	single, err := startLedger(ctx, o)
	if err != nil {
		return nil, err
	}
	sLat, sRate, err := latencyAndRate(ctx, o, single, "single node", latTxs, thrTxs)
	single.close()
	if err != nil {
		return nil, err
	}

	net, err := newBenchNet([]int64{10, 10, 10, 10})
	if err != nil {
		return nil, err
	}
	defer net.close()
	for i := range net.nodes {
		if err := net.start(i); err != nil {
			return nil, err
		}
	}
	o.Progress.Printf("   4 validators on 127.0.0.2-5 started")
	e := &ledgerEnv{node: net.nodes[0]}
	if err := e.imprint(ctx); err != nil {
		return nil, err
	}
	nLat, nRate, err := latencyAndRate(ctx, o, e, "4 validators", latTxs, thrTxs)
	if err != nil {
		return nil, err
	}
	note := fmt.Sprintf("4 in-process validators on 127.0.0.2-5 (the hub's node settings) on this machine's %d cores; %d txs one at a time, then %d signed txs with %d in flight, all through validator 0; the baseline is one node, same run, same txs",
		runtime.NumCPU(), latTxs, thrTxs, o.InFlight)
	return []Row{
		NewRow("ledger.network.commit_latency.p50", "ms", ms(percentile(nLat, 50)), "ledger.single.commit_latency.p50", ms(percentile(sLat, 50)), AtMost(150), note),
		NewRow("ledger.network.commit_latency.p99", "ms", ms(percentile(nLat, 99)), "ledger.single.commit_latency.p99", ms(percentile(sLat, 99)), nil, note),
		NewRow("ledger.network.commit_throughput.signed", "tx/s", nRate, "ledger.single.commit_throughput.signed", sRate, AtLeast(1000), note),
	}, nil
}

// latencyAndRate submits latTxs signed transactions one at a time (their
// submit-to-commit latencies) and then thrTxs with o.InFlight in flight
// (the rate).
func latencyAndRate(ctx context.Context, o *options, e *ledgerEnv, label string, latTxs, thrTxs int) ([]time.Duration, float64, error) {
	const warmUp = 10
	signed, err := e.signed(ctx, o, warmUp+latTxs+thrTxs)
	if err != nil {
		return nil, 0, err
	}
	o.Progress.Printf("   %s: %d signed txs one at a time", label, latTxs)
	var lat []time.Duration
	for k, raw := range signed[:warmUp+latTxs] {
		t0 := time.Now()
		if _, err := submitRaw(ctx, e.node, raw); err != nil {
			return nil, 0, fmt.Errorf("%s: tx %d: %w", label, k, err)
		}
		if k >= warmUp {
			lat = append(lat, time.Since(t0))
		}
	}
	o.Progress.Printf("   %s: %d signed txs, %d in flight", label, thrTxs, o.InFlight)
	rate, _, err := flood(ctx, o, e.node, label, signed[warmUp+latTxs:], o.InFlight)
	return lat, rate, err
}

// benchCatchUp measures how long a validator that was down takes to catch
// up blocks the others produced meanwhile, beside the time they took to
// produce them. Two validators: A (power 1000) and B (power 1), so that A
// alone holds more than two thirds and makes blocks while B is down, at
// the rate one node makes them (one no-op transaction per block).
func benchCatchUp(ctx context.Context, o *options) ([]Row, error) {
	if o.CatchUpBlocks < 1 {
		return nil, errors.New("-catchup-blocks must be positive")
	}
	net, err := newBenchNet([]int64{1000, 1})
	if err != nil {
		return nil, err
	}
	defer net.close()
	for i := range net.nodes {
		if err := net.start(i); err != nil {
			return nil, err
		}
	}
	a := &ledgerEnv{node: net.nodes[0]}
	if _, err := submitRaw(ctx, a.node, a.noop(1)[0]); err != nil {
		return nil, err
	}
	net.stop(1)
	h0, _ := a.node.App.Height()
	o.Progress.Printf("   validator B down at height %d; A makes %d blocks", h0, o.CatchUpBlocks)
	stop := o.Progress.Every(5*time.Second, func() string {
		h, _ := a.node.App.Height()
		return fmt.Sprintf("height %d", h)
	})
	t0 := time.Now()
	for range o.CatchUpBlocks {
		if _, err := submitRaw(ctx, a.node, a.noop(1)[0]); err != nil {
			stop()
			return nil, err
		}
	}
	produce := time.Since(t0)
	stop()
	target, _ := a.node.App.Height()
	made := target - h0
	o.Progress.Printf("   %d blocks in %s; restarting B", made, produce.Round(time.Millisecond))
	t1 := time.Now()
	if err := net.start(1); err != nil {
		return nil, err
	}
	b := net.nodes[1]
	stop = o.Progress.Every(5*time.Second, func() string {
		h, _ := b.App.Height()
		return fmt.Sprintf("B at height %d of %d", h, target)
	})
	defer stop()
	for {
		h, next := b.App.Height()
		if h >= target {
			break
		}
		select {
		case <-next:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	catchUp := time.Since(t1)
	note := fmt.Sprintf("validator B (power 1 of 1001, so that it is rarely the proposer A waits for) down while validator A made %d blocks (one no-op tx each), then restarted: start to its app at A's height (block sync), beside A's time to make them", made)
	return []Row{
		NewRow("ledger.catchup_blocks", "s", catchUp.Seconds(), "ledger.produce_blocks", produce.Seconds(), nil, note),
	}, nil
}
