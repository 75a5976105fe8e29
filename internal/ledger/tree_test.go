package ledger

import (
	"bytes"
	"context"
	"errors"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/stateproof"
	"github.com/camchain/camchain/internal/tx"
)

// stateHarness is a ledger with a camera, a grant and a few nonces, on a
// database the test can change behind the application's back.
func stateHarness(t *testing.T) (*harness, []byte) {
	h, _, cam := stateHarnessKeys(t)
	return h, deviceKey(cam.Address())
}

func stateHarnessKeys(t *testing.T) (*harness, *keys.PrivateKey, *keys.PrivateKey) {
	t.Helper()
	h := newHarness(t)
	owner := h.key()
	cam := h.imprint(owner)
	h.want(CodeOK, h.sign(&tx.Grant{Camera: cam.Address(), Epoch: h.device(cam).Epoch, Viewer: h.key().Address(),
		Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner))
	h.flush() // the trie's nodes on disk, as a stopping node leaves them
	return h, owner, cam
}

// flush writes the trie nodes the app holds in memory (what Node.Close
// does).
func (h *harness) flush() {
	h.t.Helper()
	if err := h.app.flushTrie(); err != nil {
		h.t.Fatal(err)
	}
}

// firstKey returns the first database key with the prefix.
func firstKey(t *testing.T, db dbm.DB, prefix []byte) []byte {
	t.Helper()
	it, err := db.Iterator(prefix, prefixEnd(prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if !it.Valid() {
		t.Fatalf("no key with prefix %q", prefix)
	}
	return bytes.Clone(it.Key())
}

// innerNodeKey returns the key of a stored trie node below the root (the
// root, at the empty path, sorts first).
func innerNodeKey(t *testing.T, db dbm.DB) []byte {
	t.Helper()
	it, err := db.Iterator(cat(prefixTrie, []byte{0}), prefixEnd(prefixTrie))
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if !it.Valid() {
		t.Fatal("no trie node below the root")
	}
	return bytes.Clone(it.Key())
}

func mustSet(t *testing.T, db dbm.DB, k, v []byte) {
	t.Helper()
	if err := db.Set(k, v); err != nil {
		t.Fatal(err)
	}
}

// TestTamperedStateStopsTheStart: whatever an attacker with the disk (or a
// failing disk) changes in the stored state, a restarted validator refuses
// to start, with ErrStateTampered, instead of serving or signing from it.
func TestTamperedStateStopsTheStart(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(t *testing.T, db dbm.DB, dev []byte)
	}{
		{"device record byte flipped", func(t *testing.T, db dbm.DB, dev []byte) {
			v, _ := db.Get(dev)
			v[len(v)-1] ^= 1
			mustSet(t, db, dev, v)
		}},
		{"owner index entry deleted", func(t *testing.T, db dbm.DB, _ []byte) {
			if err := db.Delete(firstKey(t, db, prefixOwner)); err != nil {
				t.Fatal(err)
			}
		}},
		{"entry added (a registered hub)", func(t *testing.T, db dbm.DB, _ []byte) {
			mustSet(t, db, cat(prefixHub, bytes.Repeat([]byte{0xee}, 20)), []byte{})
		}},
		{"spent nonce forgotten (replay)", func(t *testing.T, db dbm.DB, _ []byte) {
			if err := db.Delete(firstKey(t, db, prefixNonce)); err != nil {
				t.Fatal(err)
			}
		}},
		{"trie node byte flipped", func(t *testing.T, db dbm.DB, _ []byte) {
			k := innerNodeKey(t, db)
			v, _ := db.Get(k)
			v[len(v)/2] ^= 1
			mustSet(t, db, k, v)
		}},
		{"trie node deleted", func(t *testing.T, db dbm.DB, _ []byte) {
			if err := db.Delete(innerNodeKey(t, db)); err != nil {
				t.Fatal(err)
			}
		}},
		{"committed root rewritten", func(t *testing.T, db dbm.DB, _ []byte) {
			mustSet(t, db, keyMetaStateRoot, bytes.Repeat([]byte{1}, 32))
		}},
		{"app hash entry rewritten", func(t *testing.T, db dbm.DB, _ []byte) {
			mustSet(t, db, keyMetaAppHash, bytes.Repeat([]byte{1}, 32))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, dev := stateHarness(t)
			c.tamper(t, h.db, dev)
			_, err := NewApp(Config{LedgerChainID: testChain, DB: h.db})
			if !errors.Is(err, ErrStateTampered) {
				t.Fatalf("NewApp on a tampered state: %v, want ErrStateTampered", err)
			}
		})
	}
	// The untouched state opens.
	h, _ := stateHarness(t)
	if _, err := NewApp(Config{LedgerChainID: testChain, DB: h.db}); err != nil {
		t.Fatalf("untampered state: %v", err)
	}
}

// TestTamperedTrieNodeHaltsTheBlock: a trie node changed on disk while the
// node runs is caught when the next block reads it from the database, and
// the block fails (which halts CometBFT) rather than commit on top of it.
// While the node's committed copy is in the node cache the changed bytes
// are never read: the block computes from the committed node, its commit
// rewrites the path, and the state on disk then passes the start check.
func TestTamperedTrieNodeHaltsTheBlock(t *testing.T) {
	for _, cached := range []bool{false, true} {
		h, owner, cam := stateHarnessKeys(t)
		dev := deviceKey(cam.Address())
		path := stateproof.TrieKey(dev)
		nibble := []byte{path[0] >> 4}
		k := firstKey(t, h.db, cat(prefixTrie, nibble))
		orig, _ := h.db.Get(k)
		v := bytes.Clone(orig)
		v[len(v)-1] ^= 1
		mustSet(t, h.db, k, v)
		d, err := h.app.Device(cam.Address())
		if err != nil || d == nil {
			t.Fatal(d, err)
		}
		if !cached {
			h.app.nodes.purge() // as if evicted
		} else if _, ok := h.app.nodes.get(k[len(prefixTrie):], crypto.Keccak256Hash(orig)); !ok {
			t.Fatal("the committed node is not in the cache")
		}
		raw := h.sign(&tx.SetPolicy{Camera: d.Camera, Epoch: d.Epoch, CheckpointPeriod: 7200, Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner)
		h.height++
		_, err = h.app.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{Txs: [][]byte{raw}, Height: h.height, Time: h.now})
		if !cached {
			if !errors.Is(err, ErrStateTampered) {
				t.Fatalf("block over a tampered trie node read from disk: %v, want ErrStateTampered", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("block over a tampered node whose committed copy is cached: %v", err)
		}
		if _, err := h.app.Commit(context.Background(), &abci.CommitRequest{}); err != nil {
			t.Fatal(err)
		}
		h.flush()
		if w, _ := h.db.Get(k); bytes.Equal(w, v) {
			t.Fatal("the commit left the tampered node on disk")
		}
		again, err := NewApp(Config{LedgerChainID: testChain, DB: h.db})
		if err != nil {
			t.Fatalf("start after the commit: %v", err)
		}
		if !bytes.Equal(again.AppHash(), h.app.AppHash()) {
			t.Fatal("restart: another app hash")
		}
		if d, _ := again.Device(cam.Address()); d == nil || d.CheckpointPeriod != 7200 {
			t.Fatalf("device after the block: %+v", d)
		}
	}
}

// TestDeviceProof: the ledger proves a camera's record, and its absence,
// against the app hash; a proof stops verifying once the record changes.
func TestDeviceProof(t *testing.T) {
	h := newHarness(t)
	owner := h.key()
	cam := h.imprint(owner)
	app := h.app.AppHash()
	d, p, err := h.app.DeviceProof(cam.Address())
	if err != nil || d == nil || d.Owner != owner.Address() {
		t.Fatalf("DeviceProof: %+v, %v", d, err)
	}
	if p.Height != uint64(h.height) {
		t.Fatalf("proof height %d, want %d", p.Height, h.height)
	}
	got, err := VerifyDeviceProof(app, cam.Address(), p)
	if err != nil || got.Owner != owner.Address() || got.Hub != h.hubs[0].Address() {
		t.Fatalf("VerifyDeviceProof: %+v, %v", got, err)
	}
	// The proof is of this camera only.
	if _, err := VerifyDeviceProof(app, h.key().Address(), p); !errors.Is(err, stateproof.ErrMalformed) {
		t.Fatalf("proof used for another camera: %v", err)
	}
	// A forged owner fails.
	forged := *p
	var fd Device
	if err := decodeValue(p.Value, &fd); err != nil {
		t.Fatal(err)
	}
	fd.Owner = h.key().Address()
	forged.Value = encodeValue(&fd)
	if _, err := VerifyDeviceProof(app, cam.Address(), &forged); !errors.Is(err, stateproof.ErrValue) {
		t.Fatalf("forged owner: %v", err)
	}
	// Absence of an unknown camera is proven too.
	other := h.key()
	d, pa, err := h.app.DeviceProof(other.Address())
	if err != nil || d != nil || !pa.Absent {
		t.Fatalf("absent camera: %+v %+v %v", d, pa, err)
	}
	// After a reset the old proof no longer matches the new app hash.
	h.want(CodeOK, h.sign(&tx.Reset{Camera: cam.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, cam))
	if _, err := VerifyDeviceProof(h.app.AppHash(), cam.Address(), p); !errors.Is(err, stateproof.ErrAppHash) {
		t.Fatalf("stale proof against the new app hash: %v", err)
	}
	if _, err := h.app.StateProof(keyMetaHeight); err == nil {
		t.Fatal("proved commit metadata, which is not state")
	}
}

// TestMigrateV1: a v1 ledger (change-chain app hash, no trie) converts at
// start: Info still reports the v1 app hash CometBFT recorded, the next
// block's app hash commits to the state, and the converted state reopens.
func TestMigrateV1(t *testing.T) {
	h, _ := stateHarness(t)
	// Make it v1: no trie, no state version, a change-chain app hash.
	legacy := bytes.Repeat([]byte{0xab}, 32)
	for _, k := range [][]byte{keyMetaStateVersion, keyMetaStateRoot} {
		if err := h.db.Delete(k); err != nil {
			t.Fatal(err)
		}
	}
	it, _ := h.db.Iterator(prefixTrie, prefixEnd(prefixTrie))
	var nodes [][]byte
	for ; it.Valid(); it.Next() {
		nodes = append(nodes, bytes.Clone(it.Key()))
	}
	it.Close()
	for _, k := range nodes {
		if err := h.db.Delete(k); err != nil {
			t.Fatal(err)
		}
	}
	mustSet(t, h.db, keyMetaAppHash, legacy)
	h.open()
	info, err := h.app.Info(context.Background(), &abci.InfoRequest{})
	if err != nil || !bytes.Equal(info.LastBlockAppHash, legacy) || info.LastBlockHeight != h.height {
		t.Fatalf("Info after conversion: %+v %v", info, err)
	}
	h.open() // converted once; a second start checks it like any v2 state
	h.block()
	if !bytes.Equal(h.app.AppHash(), stateproof.AppHash(h.app.root)) {
		t.Fatal("the block after the conversion does not carry the v2 app hash")
	}
	h.open()
	if !bytes.Equal(h.app.AppHash(), stateproof.AppHash(h.app.root)) {
		t.Fatal("reopened converted state")
	}
}

// TestUnknownStateVersionRefused: a state written by a newer format is
// refused with what to do.
func TestUnknownStateVersionRefused(t *testing.T) {
	h, _ := stateHarness(t)
	mustSet(t, h.db, keyMetaStateVersion, be64(3))
	_, err := NewApp(Config{LedgerChainID: testChain, DB: h.db})
	if err == nil || errors.Is(err, ErrStateTampered) || !bytes.Contains([]byte(err.Error()), []byte("newer")) {
		t.Fatalf("state version 3: %v", err)
	}
}

// TestRestartBetweenTrieFlushes: a node that stops without writing the
// trie nodes it holds in memory (a crash between two flushes) starts again
// from its entries alone: the start checks them against the committed
// root, rebuilds the nodes (the stale ones, even a tampered one, replaced,
// none left behind), reports the same app hash, proves from them and takes
// blocks on them; a tampered entry is still refused. (TestNodeCacheSameAppHashes
// has ledgers that write their nodes every block and every third agree.)
func TestRestartBetweenTrieFlushes(t *testing.T) {
	h, owner, cam := stateHarnessKeys(t) // nodes flushed here
	flushedRoot, _ := h.db.Get(keyMetaTrieRoot)
	staleNode := innerNodeKey(t, h.db)
	d := h.device(cam)
	for i := range 3 {
		h.want(CodeOK, h.sign(&tx.SetPolicy{Camera: d.Camera, Epoch: d.Epoch, CheckpointPeriod: uint64(3600 + i), Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner))
	}
	if got, _ := h.db.Get(keyMetaTrieRoot); !bytes.Equal(got, flushedRoot) {
		t.Fatal("the nodes were written before trieFlushBlocks blocks")
	}
	if root, _ := h.db.Get(keyMetaStateRoot); bytes.Equal(root, flushedRoot) {
		t.Fatal("the committed root did not move")
	}
	v, _ := h.db.Get(staleNode)
	v = bytes.Clone(v)
	v[len(v)/2] ^= 1
	mustSet(t, h.db, staleNode, v)                                                // a stale node, tampered
	mustSet(t, h.db, cat(prefixTrie, []byte{0xf, 0xf, 0xf, 0xf, 0xf}), []byte{1}) // and one no trie has

	// A tampered entry is refused, nodes stale or not.
	dev := deviceKey(cam.Address())
	orig, _ := h.db.Get(dev)
	bad := bytes.Clone(orig)
	bad[len(bad)-1] ^= 1
	mustSet(t, h.db, dev, bad)
	if _, err := NewApp(Config{LedgerChainID: testChain, DB: h.db}); !errors.Is(err, ErrStateTampered) {
		t.Fatalf("start over a tampered entry with stale nodes: %v, want ErrStateTampered", err)
	}
	mustSet(t, h.db, dev, orig)

	again, err := NewApp(Config{LedgerChainID: testChain, DB: h.db})
	if err != nil {
		t.Fatalf("start between two flushes: %v", err)
	}
	if !bytes.Equal(again.AppHash(), h.app.AppHash()) {
		t.Fatalf("restart: app hash %x, before it %x", again.AppHash(), h.app.AppHash())
	}
	root, _ := h.db.Get(keyMetaStateRoot)
	if got, _ := h.db.Get(keyMetaTrieRoot); !bytes.Equal(got, root) {
		t.Fatal("the rebuilt nodes are not recorded as the committed root's")
	}
	if w, _ := h.db.Get(cat(prefixTrie, []byte{0xf, 0xf, 0xf, 0xf, 0xf})); w != nil {
		t.Fatal("a node of no trie was left behind")
	}
	p, err := again.StateProof(dev)
	if err != nil {
		t.Fatal(err)
	}
	if err := stateproof.Verify(again.AppHash(), p); err != nil {
		t.Fatalf("proof from the rebuilt nodes: %v", err)
	}
	h.app = again
	h.want(CodeOK, h.sign(&tx.SetPolicy{Camera: d.Camera, Epoch: d.Epoch, CheckpointPeriod: 9000, Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner))
	h.flush()
	if _, err := NewApp(Config{LedgerChainID: testChain, DB: h.db}); err != nil {
		t.Fatalf("start after a block on the rebuilt nodes: %v", err)
	}
}
