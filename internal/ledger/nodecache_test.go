package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/ethereum/go-ethereum/common"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

func TestNodeCacheBounded(t *testing.T) {
	blob := bytes.Repeat([]byte{1}, 100)
	one := (&cachedNode{path: "p00", blob: blob}).size()
	c := newNodeCache(3 * one)
	for i := range 3 {
		c.put(fmt.Sprintf("p%02d", i), common.Hash{byte(i)}, blob)
	}
	if _, ok := c.get([]byte("p00"), common.Hash{0}); !ok { // p00 is now the most recent
		t.Fatal("p00 missing")
	}
	if _, ok := c.get([]byte("p01"), common.Hash{9}); ok {
		t.Fatal("a node was served for another hash than its own")
	}
	c.put("p03", common.Hash{3}, blob) // evicts the least recently used: p01
	if c.len() != 3 || c.bytes > c.max {
		t.Fatalf("%d entries, %d bytes of %d", c.len(), c.bytes, c.max)
	}
	if _, ok := c.get([]byte("p01"), common.Hash{1}); ok {
		t.Fatal("the least recently used node survived")
	}
	for _, p := range []string{"p00", "p02", "p03"} {
		if _, ok := c.get([]byte(p), common.Hash{p[2] - '0'}); !ok {
			t.Fatalf("%s evicted", p)
		}
	}
	// A replaced node is served only for its new hash; a copy is kept.
	b2 := bytes.Repeat([]byte{2}, 50)
	c.put("p00", common.Hash{7}, b2)
	b2[0] = 9
	if got, ok := c.get([]byte("p00"), common.Hash{7}); !ok || got[0] != 2 {
		t.Fatalf("replaced node: %v %x", ok, got)
	}
	if _, ok := c.get([]byte("p00"), common.Hash{0}); ok {
		t.Fatal("the replaced node served for its old hash")
	}
	c.drop("p00")
	c.put("big", common.Hash{}, make([]byte, 4*one)) // larger than the cache: not kept
	if _, ok := c.get([]byte("p00"), common.Hash{7}); ok || c.len() != 2 || c.bytes > c.max {
		t.Fatalf("after drop: %d entries, %d bytes", c.len(), c.bytes)
	}
}

// TestNodeCacheSameAppHashes: ledgers fed the same blocks agree on every
// app hash whether their trie nodes come from the cache, from the
// database alone, or from a cache so small that nearly every node is
// evicted, and whether they write their nodes every trieFlushBlocks
// blocks, every block or every third; what the cached one wrote passes the
// start check, flushed or not.
func TestNodeCacheSameAppHashes(t *testing.T) {
	base := newHarness(t)
	g, _ := json.Marshal(Genesis{Hubs: []string{base.hubs[0].Address().Hex(), base.hubs[1].Address().Hex()}})
	apps := []*harness{base}
	for i, cache := range []*nodeCache{nil, newNodeCache(4 << 10), newNodeCache(4 << 10), newNodeCache(trieNodeCache)} {
		h := &harness{t: t, db: dbm.NewMemDB(), now: base.now, hubs: base.hubs}
		h.open()
		h.app.nodes = cache
		h.app.flushBlocks = []int{trieFlushBlocks, 1, 3, 1}[i]
		if _, err := h.app.InitChain(context.Background(), &abci.InitChainRequest{ChainId: testChain, AppStateBytes: g}); err != nil {
			t.Fatal(err)
		}
		apps = append(apps, h)
	}
	all := func(txs ...[]byte) {
		t.Helper()
		var first []byte
		var codes []uint32
		for i, h := range apps {
			for j, r := range h.block(txs...) {
				if i == 0 {
					codes = append(codes, r.Code)
				} else if r.Code != codes[j] {
					t.Fatalf("ledger %d tx %d: code %d, ledger 0 had %d", i, j, r.Code, codes[j])
				}
			}
			if i == 0 {
				first = h.app.AppHash()
			} else if !bytes.Equal(h.app.AppHash(), first) {
				t.Fatalf("height %d: ledger %d has app hash %x, ledger 0 %x", h.height, i, h.app.AppHash(), first)
			}
		}
		for j, c := range codes {
			if c != CodeOK {
				t.Fatalf("tx %d: code %s", j, CodeName(c))
			}
		}
	}
	owner := base.key()
	var cams []*keys.PrivateKey
	for range 4 {
		var txs [][]byte
		for range 8 {
			cam := base.key()
			cams = append(cams, cam)
			txs = append(txs, base.sign(&tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Hub: base.hubs[0].Address(),
				Nonce: tx.NewNonce(), Expiry: base.expiry()}, owner, cam))
		}
		all(txs...)
	}
	for round := range 3 {
		var txs [][]byte
		for i, cam := range cams {
			if (i+round)%2 == 0 {
				txs = append(txs, base.sign(&tx.SetPolicy{Camera: cam.Address(), Epoch: base.device(cam).Epoch,
					CheckpointPeriod: uint64(3600 + 60*round), Nonce: tx.NewNonce(), Expiry: base.expiry()}, owner))
			} else {
				txs = append(txs, base.sign(&tx.Grant{Camera: cam.Address(), Epoch: base.device(cam).Epoch,
					Viewer: base.key().Address(), Nonce: tx.NewNonce(), Expiry: base.expiry()}, owner))
			}
		}
		all(txs...)
	}
	// Resets delete ownership entries (trie nodes collapse); imprints again.
	var resets, imprints [][]byte
	for _, cam := range cams[:len(cams)/2] {
		resets = append(resets, base.sign(&tx.Reset{Camera: cam.Address(), Nonce: tx.NewNonce(), Expiry: base.expiry()}, cam))
	}
	all(resets...)
	for _, cam := range cams[:len(cams)/2] {
		imprints = append(imprints, base.sign(&tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Hub: base.hubs[0].Address(),
			Epoch: base.device(cam).Epoch, Nonce: tx.NewNonce(), Expiry: base.expiry()}, owner, cam))
	}
	all(imprints...)
	if n := base.app.nodes.len(); n == 0 {
		t.Fatal("the default cache holds nothing")
	}
	for _, flushed := range []bool{false, true} {
		if flushed {
			if err := base.app.flushTrie(); err != nil {
				t.Fatal(err)
			}
		}
		again, err := NewApp(Config{LedgerChainID: testChain, DB: base.db})
		if err != nil {
			t.Fatalf("start over what the cached ledger wrote (flushed %v): %v", flushed, err)
		}
		if !bytes.Equal(again.AppHash(), base.app.AppHash()) {
			t.Fatal("restart: another app hash")
		}
	}
}
