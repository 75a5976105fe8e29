package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/ethereum/go-ethereum/trie"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/stateproof"
	"github.com/camchain/camchain/internal/tx"
)

var _ abci.Application = (*App)(nil)

// MaxPrunePerBlock bounds how many expired nonces one block forgets, so a
// burst of expiries cannot make one block slow.
const MaxPrunePerBlock = 1000

// BenchNoopPrefix starts the unsigned no-op transactions a node accepts only
// when Config.BenchNoop is set: the baseline of `make bench`.
var BenchNoopPrefix = []byte("camchain/bench/noop/")

// Genesis is the application's part of the genesis file (app_state).
type Genesis struct {
	// Hubs are the hub addresses registered at genesis: the hubs cameras
	// may bind to and that may sign audit events.
	Hubs []string `json:"hubs"`
	// Validators ties each genesis validator's key to its hub (§3.6):
	// the hub whose key signs that validator's SetValidator votes. The set
	// must be exactly the genesis validator set. Absent in a one-hub
	// genesis made before networks, whose single validator is then the
	// single hub's.
	Validators []GenesisValidator `json:"validators,omitempty"`
}

// GenesisValidator is one entry of Genesis.Validators.
type GenesisValidator struct {
	Hub    string `json:"hub"`
	PubKey []byte `json:"pub_key"` // ed25519, 32 bytes
	Power  int64  `json:"power"`
}

// Config configures an App.
type Config struct {
	LedgerChainID string // "camchain-<n>"
	DB            dbm.DB // the application's own database (not CometBFT's)
	Logger        *slog.Logger
	BenchNoop     bool // accept BenchNoopPrefix transactions (benchmarks only)
	// AdmitAll makes CheckTx admit every transaction unchecked, as a faulty
	// or byzantine validator's mempool would; the rules then run in the
	// block only. Tests only: it reproduces blocks that hold transactions
	// the rules refused, which every verifier must still catch.
	AdmitAll bool
}

// TxResult is the outcome of a transaction in a committed block.
type TxResult struct {
	Hash   feedchain.Hash
	Height uint64
	Code   uint32
	Log    string
}

// App is the camchain ABCI application. CometBFT calls its ABCI methods one
// at a time; the query methods may be called concurrently with them and see
// only committed state.
type App struct {
	abci.BaseApplication
	cfg        Config
	evmChainID uint64
	log        *slog.Logger

	mu       sync.RWMutex // held for writing only while a block is written
	st       *store
	checkMu  sync.Mutex
	checkSt  *store // committed state + the writes of what CheckTx admitted since the last commit
	height   uint64
	appHash  []byte
	waitMu   sync.Mutex
	waiters  map[feedchain.Hash][]chan TxResult
	inflight []TxResult      // results of the block being finalized
	nextHash []byte          // app hash after the block being finalized
	tree     *trie.Trie      // the committed state trie (read under mu; replaced in Commit)
	root     stateproof.Hash // its root
	work     *trie.Trie      // the trie of the block being finalized
	heightCh chan struct{}
	sigs     *sigCache  // signers recovered by CheckTx, for the recheck and the block
	nodes    *nodeCache // trie nodes written or read, by path (nodecache.go)
	// unflushed holds the trie nodes committed since they were last
	// written to the database (tree.go).
	unflushed *nodeOverlay
	// flushBlocks is trieFlushBlocks; tests set 1 to write every block's.
	flushBlocks int
	// nonces holds every committed nonce entry's key (noncefilter.go).
	nonces *nonceFilter
	// sequential turns preVerifyBlock off: the reference path of tests.
	sequential bool
}

// NewApp opens the application over cfg.DB, resuming from the last
// committed block.
func NewApp(cfg Config) (*App, error) {
	id, err := tx.ParseLedgerChainID(cfg.LedgerChainID)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &App{cfg: cfg, evmChainID: id, log: cfg.Logger, st: newStore(cfg.DB), checkSt: newStore(cfg.DB),
		waiters: map[feedchain.Hash][]chan TxResult{}, heightCh: make(chan struct{}), sigs: newSigCache(MaxSigCache),
		nodes: newNodeCache(trieNodeCache), unflushed: newNodeOverlay(), flushBlocks: trieFlushBlocks}
	if b, err := a.st.committed(keyMetaChain); err != nil {
		return nil, err
	} else if b != nil && string(b) != cfg.LedgerChainID {
		return nil, fmt.Errorf("ledger database belongs to chain %q, not %q", b, cfg.LedgerChainID)
	}
	if b, err := a.st.committed(keyMetaHeight); err != nil {
		return nil, err
	} else if b != nil {
		a.height = be64u(b)
	}
	if a.appHash, err = a.st.committed(keyMetaAppHash); err != nil {
		return nil, err
	}
	if err := a.openState(); err != nil {
		return nil, err
	}
	if a.nonces, err = loadNonceFilter(cfg.DB); err != nil {
		return nil, err
	}
	a.st.nonces, a.checkSt.nonces = a.nonces, a.nonces
	a.st.devices = &deviceMemo{}
	a.checkSt.devices = a.st.devices
	return a, nil
}

// EVMChainID returns the numeric EIP-712 chain id transactions must be
// signed for (n of the ledger chain id "camchain-<n>").
func (a *App) EVMChainID() uint64 { return a.evmChainID }

// Info reports the last committed height and app hash, so CometBFT can
// replay whatever blocks the application has not yet committed.
func (a *App) Info(context.Context, *abci.InfoRequest) (*abci.InfoResponse, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return &abci.InfoResponse{
		Data:             "camchain",
		Version:          "1",
		AppVersion:       1,
		LastBlockHeight:  int64(a.height),
		LastBlockAppHash: a.appHash,
	}, nil
}

// InitChain registers the genesis hubs. Its writes are committed at once
// (height 0); it runs again, idempotently, if the node stops before block 1.
func (a *App) InitChain(_ context.Context, req *abci.InitChainRequest) (*abci.InitChainResponse, error) {
	if req.ChainId != a.cfg.LedgerChainID {
		return nil, fmt.Errorf("genesis chain id %q does not match configured %q", req.ChainId, a.cfg.LedgerChainID)
	}
	var g Genesis
	if len(req.AppStateBytes) > 0 {
		dec := json.NewDecoder(bytes.NewReader(req.AppStateBytes))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&g); err != nil {
			return nil, fmt.Errorf("genesis app_state: %w", err)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.st.pending = map[string]change{}
	a.st.set(keyMetaChain, []byte(a.cfg.LedgerChainID))
	for _, h := range g.Hubs {
		addr, err := keys.ParseAddress(h)
		if err != nil {
			return nil, fmt.Errorf("genesis hub: %w", err)
		}
		a.st.set(hubKey(addr), []byte{})
	}
	if err := genesisValidators(a.st, g, req.Validators); err != nil {
		return nil, fmt.Errorf("genesis validators: %w", err)
	}
	work := a.tree.Copy()
	if err := applyChanges(work, a.st.pending); err != nil {
		return nil, err
	}
	root, nodes := trieWrites(work)
	appHash := stateproof.AppHash(root)
	if err := a.st.commit(0, appHash, root, nodes, map[string][]byte{string(keyMetaStateVersion): be64(stateVersion2),
		string(keyMetaTrieRoot): root[:]}); err != nil {
		return nil, err
	}
	a.nodes.cacheWrites(nodes)
	tree, err := a.openTrie(root)
	if err != nil {
		return nil, err
	}
	a.height, a.appHash, a.tree, a.root = 0, appHash, tree, root
	return &abci.InitChainResponse{AppHash: appHash}, nil
}

// CheckTx admits a transaction to the mempool only if it would be applied:
// it runs every check of §2 (wall-clock time) and every rule of §3 against
// the check state — committed state plus the writes of the transactions
// admitted since the last commit, in mempool order — so what the state
// already refuses never reaches a block (docs/SPEC.md §3). A transaction
// refused here changes nothing, not even its nonce. After each commit the
// check state restarts from the committed state and CometBFT rechecks the
// mempool's remaining transactions in order, rebuilding it.
func (a *App) CheckTx(_ context.Context, req *abci.CheckTxRequest) (*abci.CheckTxResponse, error) {
	if a.cfg.BenchNoop && bytes.HasPrefix(req.Tx, BenchNoopPrefix) {
		return &abci.CheckTxResponse{Code: CodeOK}, nil
	}
	if a.cfg.AdmitAll {
		return &abci.CheckTxResponse{Code: CodeOK}, nil
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	a.checkMu.Lock()
	defer a.checkMu.Unlock()
	blk := blockCtx{height: a.height + 1, time: uint64(time.Now().Unix()), txHash: sha256.Sum256(req.Tx)}
	ref, _, err := a.execute(a.checkSt, req.Tx, blk, false)
	if err != nil {
		return nil, err
	}
	if ref != nil {
		return &abci.CheckTxResponse{Code: ref.Code, Log: ref.Reason, Codespace: Codespace}, nil
	}
	return &abci.CheckTxResponse{Code: CodeOK}, nil
}

// FinalizeBlock executes the block's transactions against the state,
// stages their writes, and returns the app hash they lead to. Nothing is
// persisted until Commit.
func (a *App) FinalizeBlock(_ context.Context, req *abci.FinalizeBlockRequest) (*abci.FinalizeBlockResponse, error) {
	a.st.pending = map[string]change{}
	a.inflight = a.inflight[:0]
	now := uint64(req.Time.Unix())
	if req.Time.Unix() < 0 {
		now = 0
	}
	if len(req.Txs) > 0 {
		if err := a.pruneNonces(now); err != nil {
			return nil, err
		}
	}
	if !a.sequential {
		a.preVerifyBlock(req.Txs)
	}
	res := make([]*abci.ExecTxResult, len(req.Txs))
	for i, raw := range req.Txs {
		blk := blockCtx{height: uint64(req.Height), time: now, txHash: sha256.Sum256(raw)}
		r, err := a.deliver(raw, blk)
		if err != nil {
			// A storage failure: halting is the only safe answer.
			return nil, fmt.Errorf("height %d tx %d: %w", req.Height, i, err)
		}
		res[i] = r
		a.inflight = append(a.inflight, TxResult{Hash: blk.txHash, Height: blk.height, Code: r.Code, Log: r.Log})
	}
	// The app hash commits to the whole state after the block (§3.4). Only
	// Commit writes the trie; queries keep reading a.tree meanwhile.
	a.work = a.tree.Copy()
	if err := applyChanges(a.work, a.st.pending); err != nil {
		return nil, fmt.Errorf("height %d: %w", req.Height, err)
	}
	a.nextHash = stateproof.AppHash(stateproof.Hash(a.work.Hash()))
	updates, err := a.blockValidatorUpdates()
	if err != nil {
		return nil, fmt.Errorf("height %d: %w", req.Height, err)
	}
	return &abci.FinalizeBlockResponse{TxResults: res, AppHash: a.nextHash, ValidatorUpdates: updates}, nil
}

// blockValidatorUpdates returns the validator-set changes the block's
// SetValidator votes applied (valset.go), for CometBFT to apply.
func (a *App) blockValidatorUpdates() ([]abci.ValidatorUpdate, error) {
	if _, changed := a.st.pending[string(keyValidators)]; !changed {
		return nil, nil
	}
	before, err := readValidators(committedReader{a.st})
	if err != nil {
		return nil, err
	}
	after, err := readValidators(a.st)
	if err != nil {
		return nil, err
	}
	return validatorUpdates(before, after), nil
}

func (a *App) deliver(raw []byte, blk blockCtx) (*abci.ExecTxResult, error) {
	if a.cfg.BenchNoop && bytes.HasPrefix(raw, BenchNoopPrefix) {
		return &abci.ExecTxResult{Code: CodeOK}, nil
	}
	ref, typ, err := a.execute(a.st, raw, blk, true)
	if err != nil {
		return nil, err
	}
	if ref != nil {
		return &abci.ExecTxResult{Code: ref.Code, Log: ref.Reason, Codespace: Codespace}, nil
	}
	return &abci.ExecTxResult{Code: CodeOK, Log: string(typ)}, nil
}

// execute runs one transaction against st — the block's state in
// FinalizeBlock, the check state in CheckTx — and stages its writes there.
// One function for both, so CheckTx and blocks apply the same rules.
//
// In a block (inBlock), a transaction that passes the checks of §2 spends
// its nonce even if a rule of §3 then refuses it: whatever reached a block
// can never succeed later by replay. CheckTx refusals spend nothing — they
// never reach a block — and are bounded instead by the expiry (tx.MaxTTL,
// docs/SPEC.md §2.4).
func (a *App) execute(st *store, raw []byte, blk blockCtx, inBlock bool) (*Refusal, tx.Type, error) {
	var verified *verifiedTx
	if v, ok := a.sigs.get(blk.txHash); ok {
		verified = &v
	}
	if inBlock {
		a.sigs.drop(blk.txHash) // executed now: no recheck will ask again
	}
	ad, ref, err := admit(st, a.evmChainID, raw, verified, blk.time)
	if err != nil || ref != nil {
		return ref, "", err
	}
	j := newTxn(st)
	ref, err = exec(j, ad, blk)
	if err != nil {
		return nil, "", err
	}
	if ref == nil {
		if err := j.record(blk); err != nil {
			return nil, "", err
		}
		j.apply()
	}
	switch {
	case ref == nil && !inBlock && verified == nil:
		// Admitted to the mempool: its recheck and its block reuse this.
		a.sigs.put(blk.txHash, verifiedTx{tx: ad.tx, signers: ad.signers})
	case ref != nil && !inBlock:
		a.sigs.drop(blk.txHash) // a recheck refused it: it leaves the mempool
	}
	if ref == nil || inBlock {
		nonce, expiry := ad.tx.Msg.Replay()
		st.set(nonceKey(ad.signers[0], nonce), cat(be64(expiry), blk.txHash[:]))
		st.set(nonceExpKey(expiry, ad.signers[0], nonce), []byte{})
	}
	return ref, ad.tx.Msg.Type(), nil
}

// pruneNonces forgets nonces whose transactions have expired: they can
// never be admitted again anyway.
func (a *App) pruneNonces(now uint64) error {
	n := 0
	return a.st.scan(prefixNonceExp, false, func(k, _ []byte) (bool, error) {
		rest := k[len(prefixNonceExp):]
		if len(rest) != 8+20+8 {
			return false, errors.New("ledger: corrupt nonce-expiry key")
		}
		if be64u(rest[:8]) > now || n >= MaxPrunePerBlock {
			return false, nil
		}
		var signer keys.Address
		copy(signer[:], rest[8:28])
		a.st.del(append([]byte(nil), k...))
		a.st.del(nonceKey(signer, be64u(rest[28:])))
		n++
		return true, nil
	})
}

// Commit persists the finalized block's state in one synced write, then
// wakes whoever waits for its transactions. The trie nodes that commit to
// the state are written with it only every trieFlushBlocks blocks; in
// between they wait in memory (a.unflushed, tree.go).
func (a *App) Commit(context.Context, *abci.CommitRequest) (*abci.CommitResponse, error) {
	if a.work == nil {
		return nil, errors.New("ledger: Commit without FinalizeBlock")
	}
	a.mu.Lock()
	height := a.height + 1
	for k, c := range a.st.pending { // before the write: a false "maybe" is harmless, a false "no" is not
		if !c.del && isNonceKey([]byte(k)) {
			a.nonces.add([]byte(k))
		}
	}
	root, nodes := trieWrites(a.work)
	a.work = nil
	a.unflushed.add(nodes)
	var extra map[string][]byte
	flushed := a.unflushed.due(a.flushBlocks)
	if flushed != nil {
		extra = map[string][]byte{string(keyMetaTrieRoot): root[:]}
	}
	// The node cache takes the flushed nodes while the batch is written
	// and synced (a cached node is served only for its own hash, so it may
	// hold them before the disk does).
	cached := make(chan struct{})
	go func() { a.nodes.cacheWrites(flushed); close(cached) }()
	err := a.st.commit(height, a.nextHash, root, flushed, extra)
	<-cached
	if err == nil && flushed != nil {
		a.unflushed.reset()
	}
	var tree *trie.Trie
	if err == nil {
		// A root that does not open means the disk is failing: halt (the
		// error stops CometBFT).
		tree, err = a.openTrie(root)
	}
	if err == nil {
		a.height, a.appHash, a.tree, a.root = height, a.nextHash, tree, root
		if a.nonces.full() {
			err = a.nonces.rebuild(a.cfg.DB)
		}
	}
	// The mempool's recheck, which follows, rebuilds the check state from
	// the new committed state.
	a.checkMu.Lock()
	a.checkSt.pending = map[string]change{}
	a.checkMu.Unlock()
	a.mu.Unlock()
	if err != nil {
		return nil, err
	}
	a.waitMu.Lock()
	for _, r := range a.inflight {
		for _, ch := range a.waiters[r.Hash] {
			ch <- r
		}
		delete(a.waiters, r.Hash)
	}
	close(a.heightCh)
	a.heightCh = make(chan struct{})
	a.waitMu.Unlock()
	return &abci.CommitResponse{}, nil
}

// Await returns a channel that receives the result of the transaction with
// the given hash once a block containing it is committed. Call cancel when
// no longer waiting.
func (a *App) Await(h feedchain.Hash) (<-chan TxResult, func()) {
	ch := make(chan TxResult, 1)
	a.waitMu.Lock()
	a.waiters[h] = append(a.waiters[h], ch)
	a.waitMu.Unlock()
	return ch, func() {
		a.waitMu.Lock()
		defer a.waitMu.Unlock()
		ws := a.waiters[h]
		for i, w := range ws {
			if w == ch {
				a.waiters[h] = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(a.waiters[h]) == 0 {
			delete(a.waiters, h)
		}
	}
}

// Height returns the last committed height and a channel closed when the
// next block commits.
func (a *App) Height() (uint64, <-chan struct{}) {
	a.waitMu.Lock()
	defer a.waitMu.Unlock()
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.height, a.heightCh
}

// AppHash returns the last committed app hash.
func (a *App) AppHash() []byte {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return append([]byte(nil), a.appHash...)
}
