package ledger

import (
	"bytes"
	"crypto/sha256"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// A transaction's signers are recovered when CheckTx admits it, and were
// recovered again in every recheck after a commit and once more in
// FinalizeBlock: three secp256k1 recoveries (and three EIP-712 digests)
// for each transaction that lands, most of a signed transaction's cost
// (docs/SPEC.md §3, "Signature cache"). The outcome depends on the encoded
// bytes alone — the chain id and domain are inside them — so it is cached
// by SHA-256 of those bytes, the hash CometBFT itself names transactions
// by: a recheck and the block reuse it, and everything else (expiry,
// nonce, every rule) is still checked against the state each time.
// Only successful recoveries are cached; a transaction is dropped from the
// cache once a block has executed it.

// MaxSigCache bounds the cache: the mempool's size (Node sets
// mempool.size to 50,000), so every admitted transaction can be in it.
const MaxSigCache = 50_000

type verifiedTx struct {
	tx      *tx.Tx // decoded; never modified after decoding
	signers []keys.Address
}

// sigCache is a bounded map with first-in first-out eviction.
type sigCache struct {
	mu    sync.Mutex
	max   int
	m     map[feedchain.Hash]verifiedTx
	order []feedchain.Hash // insertion order, a ring of max entries
	next  int
}

func newSigCache(max int) *sigCache {
	return &sigCache{max: max, m: make(map[feedchain.Hash]verifiedTx, max)}
}

func (c *sigCache) get(h feedchain.Hash) (verifiedTx, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[h]
	return v, ok
}

func (c *sigCache) put(h feedchain.Hash, v verifiedTx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[h]; ok {
		return
	}
	if len(c.order) < c.max {
		c.order = append(c.order, h)
	} else {
		delete(c.m, c.order[c.next]) // the oldest; a no-op if already dropped
		c.order[c.next] = h
		c.next = (c.next + 1) % c.max
	}
	c.m[h] = v
}

func (c *sigCache) drop(h feedchain.Hash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, h)
}

func (c *sigCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// PreVerify decodes raw and recovers its signers in the caller's
// goroutine, and caches the outcome for CheckTx (Node.Submit calls it
// before handing raw to the mempool). CheckTx runs under CometBFT's ABCI
// lock, one transaction at a time; recovering there left every other core
// idle. Here submissions recover in parallel, and CheckTx still applies
// every check and rule — what it takes from the cache is exactly what
// decoding and recovering the same bytes would give (the cache is keyed
// by their SHA-256). A transaction that does not decode or recover is not
// cached: CheckTx then refuses it as before.
func (a *App) PreVerify(raw []byte) {
	if len(raw) > tx.MaxTxBytes || a.cfg.AdmitAll || (a.cfg.BenchNoop && bytes.HasPrefix(raw, BenchNoopPrefix)) {
		return
	}
	h := feedchain.Hash(sha256.Sum256(raw))
	if _, ok := a.sigs.get(h); ok {
		return
	}
	t, err := tx.Decode(raw)
	if err != nil {
		return
	}
	signers, err := t.Signers()
	if err != nil {
		return
	}
	a.sigs.put(h, verifiedTx{tx: t, signers: signers})
}

// preVerifyBlock recovers, on every core, the signers of a block's
// transactions that are not in the cache — those no CheckTx of this node
// admitted: a block proposed by another validator with transactions it
// never gossiped here, a block replayed at start or fetched by block sync
// — so that FinalizeBlock's sequential execution finds them there, as it
// finds those CheckTx admitted. It is PreVerify on each: only successful
// recoveries are cached, each under the SHA-256 of its exact bytes, so
// what execution takes from the cache is what decoding and recovering
// those bytes would give, whatever the order the workers ran in; a
// transaction that does not decode or recover is not cached and is refused
// by execution with the same result as ever.
func (a *App) preVerifyBlock(txs [][]byte) {
	workers := min(runtime.GOMAXPROCS(0), len(txs))
	if workers < 2 {
		return // execution recovers it: the same work
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(len(txs)); i = next.Add(1) - 1 {
				a.PreVerify(txs[i])
			}
		}()
	}
	wg.Wait()
}
