package ledger

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble"
	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/libs/service"
	"github.com/cometbft/cometbft/mempool"
	nm "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	rpclocal "github.com/cometbft/cometbft/rpc/client/local"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	sm "github.com/cometbft/cometbft/state"
	"github.com/cometbft/cometbft/types"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// NodeConfig configures the in-process ledger node.
type NodeConfig struct {
	// Home is the CometBFT home directory (config/ and data/), made by InitHome.
	Home string
	// P2PListen is the CometBFT peer address; the default listens on
	// loopback only, on a port of the kernel's choosing.
	P2PListen string
	// TimeoutCommit is how long the validator waits after a block before
	// proposing the next. Zero (the single-validator default) commits as soon
	// as all votes are in.
	TimeoutCommit time.Duration
	// TimeoutPropose is how long validators wait for a proposal before
	// voting nil and moving to the next round (whose proposer may be up):
	// how long a network stalls when the proposer is down. Zero: CometBFT's
	// default, 3 s.
	TimeoutPropose time.Duration
	// Peers are the persistent peers (NODE_ID@HOST:PORT) of a network of
	// hubs; nil: those InstallGenesis recorded in the home, if any.
	Peers     []string
	Logger    *slog.Logger
	BenchNoop bool
	AdmitAll  bool // tests only: see Config.AdmitAll
}

// Node is a CometBFT validator running the camchain App in this process.
type Node struct {
	App    *App
	node   *nm.Node
	synced atomic.Bool // WaitSynced has seen block sync over and block 1
	appDB  dbm.DB
	dbs    *dbTracker
	client *rpclocal.Local
	log    *slog.Logger
	// onCommit is told each submission's time to commit (OnCommit).
	onCommit atomic.Pointer[func(time.Duration)]
	// valChanges caches ValidatorChanges: blocks never change once
	// committed.
	valChanges struct {
		sync.Mutex
		upTo    int64   // scanned blocks 1..upTo
		heights []int64 // the changes among them
	}
}

// RandomLedgerChainID returns a fresh "camchain-<n>" chain id with n a random
// number below 2^53 (so JavaScript wallets handle it exactly).
func RandomLedgerChainID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed")
	}
	n := binary.BigEndian.Uint64(b[:])%(1<<53-1_000_000) + 1_000_000
	return tx.LedgerChainID(n)
}

// InitHome creates a single-validator CometBFT home: config, validator and
// node keys, and a genesis with the given chain id and registered hubs,
// whose one validator is the first hub's. It refuses to touch a home that
// already has a genesis.
func InitHome(home, ledgerChainID string, hubs []keys.Address) error {
	if _, err := tx.ParseLedgerChainID(ledgerChainID); err != nil {
		return err
	}
	c := cmtcfg.DefaultConfig()
	c.SetRoot(home)
	if _, err := os.Stat(c.GenesisFile()); err == nil {
		return fmt.Errorf("ledger already initialised: %s exists", c.GenesisFile())
	}
	var first keys.Address
	if len(hubs) > 0 {
		first = hubs[0]
	}
	id, err := PrepareHome(home, first)
	if err != nil {
		return err
	}
	pub := ed25519.PubKey(id.ValidatorKey)
	g := Genesis{}
	for _, h := range hubs {
		g.Hubs = append(g.Hubs, h.Hex())
	}
	if len(hubs) > 0 {
		g.Validators = []GenesisValidator{{Hub: first.Hex(), PubKey: pub, Power: DefaultValidatorPower}}
	}
	doc, err := genesisDoc(ledgerChainID, g, []types.GenesisValidator{{Address: pub.Address(), PubKey: pub, Power: DefaultValidatorPower, Name: "hub"}})
	if err != nil {
		return err
	}
	return doc.SaveAs(c.GenesisFile())
}

// StartNode opens the application database, starts CometBFT and returns
// once the node runs. It replays any blocks the application missed.
func StartNode(cfg NodeConfig) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := cmtcfg.DefaultConfig()
	c.SetRoot(cfg.Home)
	for _, f := range []string{c.PrivValidatorKeyFile(), c.NodeKeyFile()} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("ledger home %s is not initialised (missing %s): run `camchaind init` first", cfg.Home, filepath.Base(f))
		}
	}
	if _, err := os.Stat(c.GenesisFile()); err != nil {
		return nil, fmt.Errorf("ledger home %s has keys but no genesis: install the network's with `camchaind join --genesis FILE --peer ...`", cfg.Home)
	}
	gen, err := types.GenesisDocFromFile(c.GenesisFile())
	if err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	c.Consensus.TimeoutCommit = cfg.TimeoutCommit
	c.Consensus.CreateEmptyBlocks = false
	c.RPC.ListenAddress = "" // the hub's own API is the only way in
	c.RPC.MaxSubscriptionsPerClient = 64
	c.P2P.ListenAddress = cfg.P2PListen
	if c.P2P.ListenAddress == "" {
		c.P2P.ListenAddress = "tcp://127.0.0.1:0"
	}
	c.P2P.PexReactor = false
	peers := cfg.Peers
	if peers == nil {
		if peers, err = ReadPeers(cfg.Home); err != nil {
			return nil, fmt.Errorf("ledger peers (%s): %w", peersFile(cfg.Home), err)
		}
	} else if err := checkPeers(peers); err != nil {
		return nil, err
	}
	c.P2P.PersistentPeers = strings.Join(peers, ",")
	// Hubs of one network may share a host or a private network (the
	// four-hub walk-through runs on 127.0.0.1-4).
	c.P2P.AddrBookStrict = false
	c.P2P.AllowDuplicateIP = true
	// Votes and block parts go out as soon as they exist, not after
	// CometBFT's 100 ms default sleep, which sets a network's commit time.
	c.Consensus.PeerGossipSleepDuration = 10 * time.Millisecond
	if cfg.TimeoutPropose > 0 {
		c.Consensus.TimeoutPropose = cfg.TimeoutPropose
	}
	c.TxIndex.Indexer = "kv"
	c.Mempool.Size = 50_000
	c.Mempool.Recheck = true // CheckTx's check state is rebuilt by the recheck after each commit
	c.Instrumentation.Prometheus = false

	dbs := &dbTracker{log: cfg.Logger}
	appDB, err := dbs.openApp(c.DBDir())
	if err != nil {
		return nil, fmt.Errorf("open application database: %w", err)
	}
	app, err := NewApp(Config{LedgerChainID: gen.ChainID, DB: appDB, Logger: cfg.Logger, BenchNoop: cfg.BenchNoop, AdmitAll: cfg.AdmitAll})
	if err != nil {
		appDB.Close()
		return nil, err
	}
	if err := checkConsensusAppHash(dbs, c.DBDir(), app); err != nil {
		appDB.Close()
		return nil, err
	}
	nodeKey, err := p2p.LoadNodeKey(c.NodeKeyFile())
	if err != nil {
		appDB.Close()
		return nil, fmt.Errorf("node key: %w", err)
	}
	pv := privval.LoadFilePV(c.PrivValidatorKeyFile(), c.PrivValidatorStateFile())
	// One lock per ABCI connection, not one over all: CheckTx (the mempool
	// connection) and Info run while a block executes on the consensus
	// connection. The app is built for it: CheckTx works on its own check
	// state over the committed database, which only Commit writes, under
	// a.mu, which CheckTx and Info hold for reading.
	n, err := nm.NewNode(context.Background(), c, pv, nodeKey,
		proxy.NewConnSyncLocalClientCreator(app),
		nm.DefaultGenesisDocProviderFunc(c),
		dbs.provide,
		nm.DefaultMetricsProvider(c.Instrumentation),
		cometLogger{cfg.Logger.With("module", "cometbft")})
	if err != nil {
		appDB.Close()
		return nil, fmt.Errorf("create ledger node: %w", err)
	}
	if err := n.Start(); err != nil {
		appDB.Close()
		return nil, fmt.Errorf("start ledger node: %w", err)
	}
	return &Node{App: app, node: n, appDB: appDB, dbs: dbs, client: rpclocal.New(n), log: cfg.Logger}, nil
}

// checkConsensusAppHash compares the application's last committed app hash
// with the one CometBFT's own state recorded for the same height, before
// CometBFT starts (whose handshake would panic on a mismatch): a state
// rewritten on disk together with its root and app hash is caught here,
// against the app hash the validators signed.
func checkConsensusAppHash(dbs *dbTracker, dir string, app *App) error {
	db, err := dbs.open("state", dir)
	if err != nil {
		return fmt.Errorf("open consensus state: %w", err)
	}
	defer db.Close()
	st, err := sm.NewStore(db, sm.StoreOptions{}).Load()
	if err != nil {
		return fmt.Errorf("load consensus state: %w", err)
	}
	height, appHash := app.height, app.AppHash()
	if st.LastBlockHeight == int64(height) && st.LastBlockHeight > 0 && !equalBytes(st.AppHash, appHash) {
		return fmt.Errorf("%w: at height %d the application's app hash is %X, the consensus state recorded %X", ErrStateTampered, height, appHash, []byte(st.AppHash))
	}
	return nil
}

// Close stops consensus and closes every database, the application's last.
func (n *Node) Close() error {
	var errs []error
	if n.node.IsRunning() {
		if err := n.node.Stop(); err != nil {
			errs = append(errs, err)
		}
		n.node.Wait()
	}
	// In v1.0.1 Node.OnStop does not stop the ABCI client.
	if err := n.node.ProxyApp().Stop(); err != nil && !errors.Is(err, service.ErrAlreadyStopped) {
		errs = append(errs, err)
	}
	// The trie nodes the app holds in memory, while nothing executes.
	if err := n.App.Close(); err != nil {
		errs = append(errs, err)
	}
	for _, db := range n.dbs.orphans {
		if err := db.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := n.appDB.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// dbTracker opens CometBFT's databases and remembers the ones its Node.OnStop
// does not close in v1.0.1 (the tx and block indexes), so a stopped node
// releases every lock and can be started again in the same process.
type dbTracker struct {
	log     *slog.Logger
	orphans []dbm.DB
}

// open opens a Pebble database whose log lines go to slog, not to stderr.
func (t *dbTracker) open(name, dir string) (dbm.DB, error) {
	return t.openWith(name, dir, &pebble.Options{})
}

// appBlockCache is the application database's block cache. Every
// transaction reads its nonce and records and every block reads the trie
// nodes on its paths; with Pebble's default 8 MiB most of those reads
// decompressed a block from the file again (a third of CheckTx and of
// FinalizeBlock in the signed-throughput profile).
const appBlockCache = 64 << 20

// appMemTable is the application database's memtable size (Pebble's
// default is 4 MiB). A block rewrites the trie nodes on every path it
// changes — the upper levels in every block — and each 4 MiB memtable
// flushed them to L0 to be compacted again and again: Pebble's compactions
// took 17 % of the signed-throughput profile. In a 16 MiB memtable a node
// rewritten by the next blocks is replaced before it is flushed. At most
// two are held (Pebble's MemTableStopWritesThreshold): 32 MiB.
const appMemTable = 16 << 20

// openApp opens the application database, with its own block cache and
// memtable size.
func (t *dbTracker) openApp(dir string) (dbm.DB, error) {
	opts := &pebble.Options{Cache: pebble.NewCache(appBlockCache), MemTableSize: appMemTable}
	defer opts.Cache.Unref() // the open database holds its own reference
	return t.openWith("app", dir, opts)
}

func (t *dbTracker) openWith(name, dir string, opts *pebble.Options) (dbm.DB, error) {
	opts.Logger = pebbleLogger{t.log.With("db", name)}
	return dbm.NewPebbleDBWithOpts(name, dir, opts)
}

func (t *dbTracker) provide(ctx *cmtcfg.DBContext) (dbm.DB, error) {
	if ctx.Config.DBBackend != string(dbm.PebbleDBBackend) {
		return nil, fmt.Errorf("ledger: db_backend %q is not supported, use %q", ctx.Config.DBBackend, dbm.PebbleDBBackend)
	}
	db, err := t.open(ctx.ID, ctx.Config.DBDir())
	if err != nil {
		return nil, err
	}
	g := &closedGuard{DB: db}
	switch ctx.ID {
	case "blockstore", "state", "evidence": // closed by Node.OnStop
	default:
		t.orphans = append(t.orphans, g) // the tx index among them: Close closes it
	}
	return g, nil
}

// Submitted is the outcome of Submit.
type Submitted struct {
	Hash   feedchain.Hash
	Code   uint32
	Log    string
	Height uint64 // 0 if refused before a block
}

// ErrDuplicate is returned for a transaction the node already holds.
var ErrDuplicate = errors.New("transaction already submitted")

// Submit hands raw to the mempool and waits until the block holding it is
// committed (or ctx ends). A transaction refused by CheckTx returns at once
// with its code and no height.
func (n *Node) Submit(ctx context.Context, raw []byte) (Submitted, error) {
	return n.handOff(ctx, raw)()
}

// SubmitAll is Submit for several transactions: each is handed to the
// mempool in order, without waiting for the block of the one before, and
// then each is waited for. A burst of them shares blocks instead of taking
// one block each. The i-th outcome is raws[i]'s.
func (n *Node) SubmitAll(ctx context.Context, raws [][]byte) ([]Submitted, []error) {
	waits := make([]func() (Submitted, error), len(raws))
	for i, raw := range raws {
		waits[i] = n.handOff(ctx, raw)
	}
	out, errs := make([]Submitted, len(raws)), make([]error, len(raws))
	for i, wait := range waits {
		out[i], errs[i] = wait()
	}
	return out, errs
}

// handOff hands raw to the mempool (CheckTx) and returns what waits for
// its block; a refusal before the mempool is the outcome at once.
func (n *Node) handOff(ctx context.Context, raw []byte) func() (Submitted, error) {
	start := time.Now()
	h := feedchain.Hash(types.Tx(raw).Hash())
	now := func(s Submitted, err error) func() (Submitted, error) {
		return func() (Submitted, error) { return s, err }
	}
	if err := n.WaitSynced(ctx); err != nil {
		return now(Submitted{Hash: h}, err)
	}
	n.App.PreVerify(raw) // signatures recovered here, in parallel, not under the ABCI lock
	ch, cancel := n.App.Await(h)
	res, err := n.client.BroadcastTxSync(ctx, raw)
	if err != nil {
		cancel()
		if errors.Is(err, mempool.ErrTxInCache) {
			return now(Submitted{Hash: h}, ErrDuplicate)
		}
		var invalid mempool.ErrInvalidTx
		if errors.As(err, &invalid) {
			return now(Submitted{Hash: h, Code: invalid.Code, Log: invalid.Log}, nil)
		}
		return now(Submitted{Hash: h}, fmt.Errorf("submit to mempool: %w", err))
	}
	if res.Code != CodeOK {
		cancel()
		return now(Submitted{Hash: h, Code: res.Code, Log: res.Log}, nil)
	}
	return func() (Submitted, error) {
		defer cancel()
		select {
		case r := <-ch:
			if f := n.onCommit.Load(); f != nil {
				(*f)(time.Since(start))
			}
			return Submitted{Hash: h, Code: r.Code, Log: r.Log, Height: r.Height}, nil
		case <-ctx.Done():
			return Submitted{Hash: h}, fmt.Errorf("waiting for commit of %x: %w", h[:], ctx.Err())
		}
	}
}

// ErrCatchingUp: the node is still fetching blocks from its peers
// (CometBFT's block sync) and takes no transactions yet.
var ErrCatchingUp = errors.New("ledger node is catching up with its peers")

// WaitSynced returns once the node follows consensus and its network has
// made its first block: at once for a single validator; for a hub of a
// network, after block sync has caught up with its peers (CometBFT waits up
// to 5 s for them when all are at the start) and block 1 is committed.
//
// Block 1 matters for a network that is starting. A peer still in block
// sync drops the transactions it is sent (CometBFT's mempool reactor
// ignores them while syncing) and the sender never sends them again; with
// empty blocks off, a transaction only its sender holds then waits for
// ever. Block 1 is committed only once validators holding more than two
// thirds of the power have left block sync and voted, so a transaction
// sent after it reaches enough of them to be proposed.
func (n *Node) WaitSynced(ctx context.Context) error {
	if n.synced.Load() {
		return nil // block 1 stays committed; block sync never comes back
	}
	for {
		h, _ := n.App.Height()
		if !n.node.ConsensusReactor().WaitSync() && h >= 1 {
			n.synced.Store(true)
			return nil
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			if !n.node.ConsensusReactor().WaitSync() {
				return fmt.Errorf("%w: the network has not made its first block yet (are validators holding more than two thirds of the power up? see --peers): %w", ErrCatchingUp, ctx.Err())
			}
			return fmt.Errorf("%w (at block %d; are its peers up? see --peers): %w", ErrCatchingUp, h, ctx.Err())
		}
	}
}

// OnCommit sets f to be told, for each transaction Submit saw committed,
// how long it took from submission to commit (the hub's metrics).
func (n *Node) OnCommit(f func(time.Duration)) { n.onCommit.Store(&f) }

// ErrTxNotFound: no committed block holds the transaction.
var ErrTxNotFound = errors.New("transaction not found in a committed block")

// Tx looks a committed transaction up in the node's index; ErrTxNotFound
// if no committed block holds it. (CometBFT's own Tx lookup tells "not
// found" from a failed read only in its error text, so this searches the
// index by hash, which answers an empty list instead.)
func (n *Node) Tx(ctx context.Context, hash feedchain.Hash, prove bool) (*ctypes.ResultTx, error) {
	page, perPage := 1, 1
	res, err := n.client.TxSearch(ctx, fmt.Sprintf("tx.hash='%X'", hash[:]), prove, &page, &perPage, "asc")
	if err != nil {
		return nil, err
	}
	if len(res.Txs) == 0 {
		return nil, fmt.Errorf("%w: %x", ErrTxNotFound, hash[:])
	}
	return res.Txs[0], nil
}

// Status returns CometBFT's view of the node.
func (n *Node) Status(ctx context.Context) (*ctypes.ResultStatus, error) {
	return n.client.Status(ctx)
}

// LedgerChainID is the CometBFT chain id, "camchain-<n>".
func (n *Node) LedgerChainID() string {
	return tx.LedgerChainID(n.App.EVMChainID())
}

// The block-level reads below are what an offline proof of a transaction
// needs (docs/SPEC.md §10): the signed header of its block, the block after
// it, their validator sets and the block's results.

// SignedHeader returns block height's header with a commit for it.
// canonical reports whether the commit is the one block height+1 carries
// (it is whenever height+1 exists); otherwise it is the commit this node saw.
func (n *Node) SignedHeader(ctx context.Context, height int64) (sh *types.SignedHeader, canonical bool, err error) {
	res, err := n.client.Commit(ctx, &height)
	if err != nil {
		return nil, false, err
	}
	return &res.SignedHeader, res.CanonicalCommit, nil
}

// Validators returns the validator set that signs block height, all pages.
func (n *Node) Validators(ctx context.Context, height int64) (*types.ValidatorSet, error) {
	const perPage = 100 // CometBFT's maximum
	var vals []*types.Validator
	for page := 1; ; page++ {
		p, pp := page, perPage
		res, err := n.client.Validators(ctx, &height, &p, &pp)
		if err != nil {
			return nil, err
		}
		vals = append(vals, res.Validators...)
		if len(vals) >= res.Total || len(res.Validators) == 0 {
			break
		}
	}
	if len(vals) == 0 {
		return nil, fmt.Errorf("no validators at height %d", height)
	}
	// NewValidatorSet orders by power and address, the order the set's hash
	// is computed in, as the node's own set is.
	return types.NewValidatorSet(vals), nil
}

// ValidatorChanges returns, in increasing order, the heights up to upTo of
// the blocks whose NextValidatorsHash differs from their ValidatorsHash:
// the blocks that hand the ledger to a new validator set (signed by the
// set before it; the new set signs from the next block on). An evidence
// bundle carries them as its validator-set history (docs/SPEC.md §10.2).
// It reads each block's header once, 20 at a time, and remembers what it
// read.
func (n *Node) ValidatorChanges(ctx context.Context, upTo int64) ([]int64, error) {
	c := &n.valChanges
	c.Lock()
	defer c.Unlock()
	for c.upTo < upTo {
		lo, hi := c.upTo+1, min(c.upTo+20, upTo)
		res, err := n.client.BlockchainInfo(ctx, lo, hi)
		if err != nil {
			return nil, err
		}
		if len(res.BlockMetas) != int(hi-lo+1) {
			return nil, fmt.Errorf("the node holds %d of blocks %d..%d (pruned, or not yet committed)", len(res.BlockMetas), lo, hi)
		}
		for i := len(res.BlockMetas) - 1; i >= 0; i-- { // highest first
			h := &res.BlockMetas[i].Header
			if h.Height != hi-int64(i) {
				return nil, fmt.Errorf("asked for block %d, the node answered block %d", hi-int64(i), h.Height)
			}
			if !bytes.Equal(h.ValidatorsHash, h.NextValidatorsHash) {
				c.heights = append(c.heights, h.Height)
			}
		}
		c.upTo = hi
	}
	i := sort.Search(len(c.heights), func(i int) bool { return c.heights[i] > upTo })
	return slices.Clone(c.heights[:i]), nil
}

// BlockResults returns the results of every transaction of block height, in
// block order.
func (n *Node) BlockResults(ctx context.Context, height int64) ([]*abci.ExecTxResult, error) {
	res, err := n.client.BlockResults(ctx, &height)
	if err != nil {
		return nil, err
	}
	return res.TxResults, nil
}

// WaitForHeight returns once the application has committed block height
// (or ctx ends).
func (n *Node) WaitForHeight(ctx context.Context, height uint64) error {
	for {
		h, changed := n.App.Height()
		if h >= height {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for block %d (at %d): %w", height, h, ctx.Err())
		}
	}
}

// pebbleLogger sends Pebble's chatter ("WAL file … replayed" on every
// open) to debug. Fatalf must not return: Pebble calls it on corruption.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) { p.l.Debug(fmt.Sprintf(format, args...)) }
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error(msg)
	panic("pebble: " + msg)
}

// cometLogger adapts slog to CometBFT's logger; CometBFT's info level is
// chatty, so it is logged at debug.
type cometLogger struct{ l *slog.Logger }

func (c cometLogger) Debug(msg string, kv ...any) { c.l.Debug(msg, kv...) }
func (c cometLogger) Info(msg string, kv ...any)  { c.l.Debug(msg, kv...) }
func (c cometLogger) Error(msg string, kv ...any) {
	if msg == "Stopped accept routine, as transport is closed" { // every clean shutdown
		c.l.Debug(msg, kv...)
		return
	}
	c.l.Error(msg, kv...)
}
func (c cometLogger) With(kv ...any) cmtlog.Logger {
	return cometLogger{c.l.With(kv...)}
}
