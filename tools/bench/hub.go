package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble"
	dbm "github.com/cometbft/cometbft-db"
	"github.com/cometbft/cometbft/abci/example/kvstore"
	cmtcfg "github.com/cometbft/cometbft/config"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	nm "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"

	"github.com/camchain/camchain/internal/ledger"
)

// readyPoll is how often the start-to-ready bench asks for the status.
const readyPoll = 5 * time.Millisecond

func benchHubStart(ctx context.Context, o *options) ([]Row, error) {
	if o.StartRuns < 1 {
		return nil, errors.New("-start-runs must be positive")
	}
	bin, err := filepath.Abs(o.Bin)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		return nil, fmt.Errorf("%s not found: run `make build` first (`make bench` does)", o.Bin)
	}
	tmp, err := os.MkdirTemp("", "camchain-bench-hub-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	data := filepath.Join(tmp, "hub")
	if out, err := exec.CommandContext(ctx, bin, "init", "--data", data).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("camchaind init: %w\n%s", err, out)
	}
	var hub []time.Duration
	for i := range o.StartRuns {
		d, err := hubStartToReady(ctx, bin, data)
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", i+1, err)
		}
		o.Progress.Printf("   camchaind run %d/%d: ready after %s", i+1, o.StartRuns, d.Round(time.Millisecond))
		hub = append(hub, d)
	}

	home := filepath.Join(tmp, "kvstore")
	if err := ledger.InitHome(home, ledger.RandomLedgerChainID(), nil); err != nil {
		return nil, err
	}
	var base []time.Duration
	for i := range o.StartRuns {
		d, err := kvstoreStart(home)
		if err != nil {
			return nil, fmt.Errorf("kvstore node run %d: %w", i+1, err)
		}
		o.Progress.Printf("   CometBFT kvstore node %d/%d: started after %s", i+1, o.StartRuns, d.Round(time.Millisecond))
		base = append(base, d)
	}
	note := fmt.Sprintf("median of %d starts of the same data dir; hub: exec to first 200 (polled every %s); baseline: in-process node.Start returned", o.StartRuns, readyPoll)
	return []Row{
		NewRow("hub.start_to_ready", "ms", ms(median(hub)), "cometbft.kvstore.start", ms(median(base)), AtMost(2000), note),
	}, nil
}

func median(ds []time.Duration) time.Duration { return percentile(ds, 50) }

// hubStartToReady runs `camchaind run` on an initialised data directory
// and returns the time from exec until GET /api/v1/status answers 200. It
// stops the hub (SIGTERM) before returning.
func hubStartToReady(ctx context.Context, bin, data string) (time.Duration, error) {
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	url := "http://" + addr + "/api/v1/status"
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "run", "--data", data, "--http", addr, "--link", "127.0.0.1:0", "--log-level", "warn")
	cmd.Stderr = &stderr
	client := &http.Client{Timeout: time.Second}

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer stopProcess(cmd, exited)

	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	for {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		select {
		case <-tick.C:
		case err := <-exited:
			exited <- err // for stopProcess
			return 0, fmt.Errorf("camchaind exited before ready: %v\n%s", err, stderr.Bytes())
		case <-deadline.C:
			return 0, fmt.Errorf("camchaind not ready after 30s\n%s", stderr.Bytes())
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// stopProcess asks the hub to shut down and waits for it; it kills it if
// it takes longer than 10 s.
func stopProcess(cmd *exec.Cmd, exited <-chan error) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// freePort asks the kernel for a free loopback port. Another process could
// take it before camchaind binds it; the run then fails loudly.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// kvstoreStart starts CometBFT's example kvstore app as a single-validator
// node on home, with the settings ledger.StartNode uses, and returns how
// long it took until node.Start returned. It stops the node before
// returning.
func kvstoreStart(home string) (d time.Duration, err error) {
	start := time.Now()
	c := cmtcfg.DefaultConfig()
	c.SetRoot(home)
	c.Consensus.TimeoutCommit = 0
	c.Consensus.CreateEmptyBlocks = false
	c.RPC.ListenAddress = ""
	c.RPC.MaxSubscriptionsPerClient = 64
	c.P2P.ListenAddress = "tcp://127.0.0.1:0"
	c.P2P.PexReactor = false
	c.TxIndex.Indexer = "kv"
	c.Mempool.Size = 50_000
	c.Instrumentation.Prometheus = false

	// Node.OnStop closes the block store, state and evidence databases but
	// not the others; close those and the app's, the app's last.
	var dbs []dbm.DB
	defer func() {
		for _, db := range slices.Backward(dbs) {
			err = errors.Join(err, db.Close())
		}
	}()
	open := func(name, dir string) (dbm.DB, error) {
		db, err := dbm.NewPebbleDBWithOpts(name, dir, &pebble.Options{Logger: quietPebble{}})
		switch {
		case err != nil:
		case name == "blockstore" || name == "state" || name == "evidence":
		default:
			dbs = append(dbs, db)
		}
		return db, err
	}
	appDB, err := open("kvstore", c.DBDir())
	if err != nil {
		return 0, err
	}
	nodeKey, err := p2p.LoadNodeKey(c.NodeKeyFile())
	if err != nil {
		return 0, err
	}
	if _, err := os.Stat(c.PrivValidatorKeyFile()); errors.Is(err, fs.ErrNotExist) {
		return 0, err // LoadFilePV would exit the process
	}
	pv := privval.LoadFilePV(c.PrivValidatorKeyFile(), c.PrivValidatorStateFile())
	n, err := nm.NewNode(context.Background(), c, pv, nodeKey,
		proxy.NewLocalClientCreator(kvstore.NewApplication(appDB)),
		nm.DefaultGenesisDocProviderFunc(c),
		func(ctx *cmtcfg.DBContext) (dbm.DB, error) { return open(ctx.ID, ctx.Config.DBDir()) },
		nm.DefaultMetricsProvider(c.Instrumentation),
		cmtlog.NewNopLogger())
	if err != nil {
		return 0, err
	}
	if err := n.Start(); err != nil {
		return 0, err
	}
	d = time.Since(start)
	if err := n.Stop(); err != nil {
		return 0, err
	}
	n.Wait()
	_ = n.ProxyApp().Stop() // Node.OnStop does not stop it in v1.0.1
	return d, nil
}

// quietPebble drops Pebble's informational lines ("WAL file … replayed").
type quietPebble struct{}

func (quietPebble) Infof(string, ...any) {}
func (quietPebble) Fatalf(format string, args ...any) {
	panic("pebble: " + fmt.Sprintf(format, args...))
}
