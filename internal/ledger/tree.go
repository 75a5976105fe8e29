package ledger

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"sort"
	"sync"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/ethereum/go-ethereum/trie/trienode"
	"github.com/ethereum/go-ethereum/triedb/database"

	"github.com/camchain/camchain/internal/stateproof"
)

// The authenticated state (docs/SPEC.md §3.4). Every state entry — every
// key the transactions write, whatever its table — is a leaf of a Merkle
// Patricia trie at path stateproof.TrieKey(key) holding
// stateproof.LeafValue(value); the app hash is stateproof.AppHash(root).
// The flat key/value entries stay the source of reads and scans; the trie
// is what the app hash, the start-up check and the proofs stand on.
//
// Trie nodes are stored by their path (prefixTrie ‖ nibbles), the latest
// version only, in the application database beside the entries they
// commit to. Every node read is checked against the hash its parent holds,
// so a node changed on disk is caught when it is read.
//
// The entries, the root and the app hash are written at every commit; the
// trie nodes only every trieFlushBlocks blocks (or once trieFlushBytes of
// them wait), in that block's batch, and when the node stops (flushTrie).
// A block rewrites the nodes on its paths, the upper levels in every
// block: written once for several blocks, the nodes' bytes halve (their
// writes and compactions were a fifth of the signed-throughput profile).
// In between they wait in memory (nodeOverlay), each with its hash, and
// are served from there only for that hash, as the node cache serves its
// own. keyMetaTrieRoot names the root whose nodes are on disk; after a
// crash it is an older root than the committed one, and the start
// rebuilds the nodes from the entries, which it checks against the
// committed root anyway (openState).

// prefixTrie holds the trie's nodes: mpt/<path nibbles> → node RLP.
var prefixTrie = []byte("mpt/")

// keyMetaStateRoot is the trie root after the last committed block, and
// keyMetaStateVersion the state format: absent for the v1 change-chain
// ledgers, stateVersion2 for the authenticated state.
var (
	keyMetaStateRoot    = []byte("meta/stateroot")
	keyMetaStateVersion = []byte("meta/statever")
	// keyMetaMigrated is the height at which a v1 ledger was converted:
	// its app hash stays the v1 one until the next block commits.
	keyMetaMigrated = []byte("meta/migrated")
)

const stateVersion2 = 2

// keyMetaTrieRoot is the root whose trie nodes the database holds: the
// committed root, or after a crash an older one. Absent in ledgers written
// before nodes were flushed every few blocks, which wrote them every block.
var keyMetaTrieRoot = []byte("meta/trieroot")

// trieFlushBlocks and trieFlushBytes bound the trie nodes waiting in
// memory to be written: blocks committed, and the nodes' bytes.
const (
	trieFlushBlocks = 16
	trieFlushBytes  = 32 << 20
)

// nodeOverlay is the trie nodes committed since the last write of them,
// the latest by path (a deleted node marks a path that no longer exists).
// Commit and flushTrie change it under the app's write lock; blocks and
// proofs read it.
type nodeOverlay struct {
	mu     sync.RWMutex
	m      map[string]*trienode.Node
	bytes  int
	blocks int
}

func newNodeOverlay() *nodeOverlay { return &nodeOverlay{m: map[string]*trienode.Node{}} }

// add takes one block's node writes.
func (o *nodeOverlay) add(nodes map[string]*trienode.Node) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for path, n := range nodes {
		if old, ok := o.m[path]; ok {
			o.bytes -= len(path) + len(old.Blob)
		}
		o.m[path] = n
		o.bytes += len(path) + len(n.Blob)
	}
	o.blocks++
}

// due returns the nodes to write with this block, nil if they can wait.
func (o *nodeOverlay) due(everyBlocks int) map[string]*trienode.Node {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.blocks < everyBlocks && o.bytes < trieFlushBytes {
		return nil
	}
	return o.m
}

// get returns the waiting node at path if it hashes to hash.
func (o *nodeOverlay) get(path []byte, hash common.Hash) ([]byte, bool) {
	if o == nil {
		return nil, false
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	n, ok := o.m[string(path)]
	if !ok || n.IsDeleted() || n.Hash != hash {
		return nil, false
	}
	return n.Blob, true
}

// reset empties the overlay once its nodes are on disk.
func (o *nodeOverlay) reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.m, o.bytes, o.blocks = map[string]*trienode.Node{}, 0, 0
}

// ErrStateTampered means the stored state does not match the root it was
// committed with: it was changed on disk, or the disk is failing. A
// validator that sees it stops rather than serve or sign wrong answers.
var ErrStateTampered = errors.New("ledger state does not match its committed root (changed on disk or corrupt): " +
	"stop this node; restore its ledger directory from a backup, or reset it and let it catch up from its peers")

// authenticated reports whether a database key is a state entry covered by
// the trie: everything but the trie's own nodes and the commit metadata.
func authenticated(k []byte) bool {
	if bytes.HasPrefix(k, prefixTrie) {
		return false
	}
	switch string(k) {
	case string(keyMetaHeight), string(keyMetaAppHash), string(keyMetaStateRoot),
		string(keyMetaStateVersion), string(keyMetaMigrated), string(keyMetaTrieRoot):
		return false
	}
	return true
}

func trieNodeKey(path []byte) []byte { return cat(prefixTrie, path) }

// nodeDB serves the trie's nodes from those waiting to be written, the
// node cache (nodecache.go) or the application database.
type nodeDB struct {
	db        dbm.DB
	cache     *nodeCache   // nil: none
	unflushed *nodeOverlay // nil: none
}

var _ database.NodeDatabase = nodeDB{}

func (n nodeDB) NodeReader(common.Hash) (database.NodeReader, error) { return n, nil }

// Node returns the node at path after checking that it hashes to the hash
// its parent (or the committed root) names: a cached node is the one that
// did, a node read from the database is hashed again.
func (n nodeDB) Node(_ common.Hash, path []byte, hash common.Hash) ([]byte, error) {
	if blob, ok := n.unflushed.get(path, hash); ok {
		return blob, nil
	}
	if blob, ok := n.cache.get(path, hash); ok {
		return blob, nil
	}
	blob, err := n.db.Get(trieNodeKey(path))
	if err != nil {
		return nil, fmt.Errorf("state trie read: %w", err)
	}
	if blob == nil {
		return nil, fmt.Errorf("%w: trie node at path %x is missing", ErrStateTampered, path)
	}
	if crypto.Keccak256Hash(blob) != hash {
		return nil, fmt.Errorf("%w: trie node at path %x does not hash to %x", ErrStateTampered, path, hash)
	}
	n.cache.put(string(path), hash, blob)
	return blob, nil
}

// openTrie opens the committed trie at root.
func (a *App) openTrie(root stateproof.Hash) (*trie.Trie, error) {
	t, err := trie.New(trie.StateTrieID(common.Hash(root)), a.nodeDB())
	if err != nil {
		if errors.Is(err, ErrStateTampered) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrStateTampered, err)
	}
	return t, nil
}

func (a *App) nodeDB() nodeDB { return nodeDB{a.cfg.DB, a.nodes, a.unflushed} }

// applyChanges writes a block's staged changes into t.
func applyChanges(t *trie.Trie, pending map[string]change) error {
	for k, c := range pending {
		path := stateproof.TrieKey([]byte(k))
		var err error
		if c.del {
			err = t.Delete(path[:])
		} else {
			err = t.Update(path[:], stateproof.LeafValue(c.val))
		}
		if err != nil {
			return fmt.Errorf("state trie: %w", err)
		}
	}
	return nil
}

// trieWrites returns the database writes that persist t's changes since
// it was opened: path → node, a deleted node for one that no longer
// exists. t is unusable afterwards.
func trieWrites(t *trie.Trie) (stateproof.Hash, map[string]*trienode.Node) {
	root, set := t.Commit(false)
	if set == nil {
		return stateproof.Hash(root), nil
	}
	return stateproof.Hash(root), set.Nodes
}

// cacheWrites makes the node cache hold what a commit writes. The blobs
// are the trie's fresh encodings, which nothing modifies (a database
// batch copies them, or with MemDB keeps them read-only): cached as they
// are.
func (c *nodeCache) cacheWrites(nodes map[string]*trienode.Node) {
	for path, n := range nodes {
		if n.IsDeleted() {
			c.drop(path)
		} else {
			c.add(path, n.Hash, n.Blob)
		}
	}
}

// recomputeRoot rebuilds the trie root from the flat state entries alone,
// ignoring the stored nodes: what the start-up check compares with the
// committed root. If write is set it also returns every node of the
// rebuilt trie, path → blob (the migration of a v1 ledger).
func recomputeRoot(db dbm.DB, write bool) (stateproof.Hash, map[string][]byte, error) {
	type leaf struct {
		path stateproof.Hash
		val  []byte
	}
	var leaves []leaf
	it, err := db.Iterator(nil, nil)
	if err != nil {
		return stateproof.Hash{}, nil, fmt.Errorf("state scan: %w", err)
	}
	for ; it.Valid(); it.Next() {
		if !authenticated(it.Key()) {
			continue
		}
		leaves = append(leaves, leaf{stateproof.TrieKey(it.Key()), stateproof.LeafValue(it.Value())})
	}
	err = it.Error()
	it.Close()
	if err != nil {
		return stateproof.Hash{}, nil, fmt.Errorf("state scan: %w", err)
	}
	sort.Slice(leaves, func(i, j int) bool { return bytes.Compare(leaves[i].path[:], leaves[j].path[:]) < 0 })
	var nodes map[string][]byte
	var onNode trie.OnTrieNode
	if write {
		nodes = map[string][]byte{}
		onNode = func(path []byte, _ common.Hash, blob []byte) { nodes[string(path)] = common.CopyBytes(blob) }
	}
	st := trie.NewStackTrie(onNode)
	for _, l := range leaves {
		if err := st.Update(l.path[:], l.val); err != nil {
			return stateproof.Hash{}, nil, fmt.Errorf("state trie: %w", err)
		}
	}
	return stateproof.Hash(st.Hash()), nodes, nil
}

// proveKey returns the proof of key's entry in the committed trie t.
func proveKey(t *trie.Trie, height uint64, root stateproof.Hash, key, value []byte) (*stateproof.Proof, error) {
	w := &proofNodes{}
	path := stateproof.TrieKey(key)
	if err := t.Copy().Prove(path[:], w); err != nil {
		return nil, fmt.Errorf("state proof: %w", err)
	}
	return &stateproof.Proof{Height: height, Key: append([]byte(nil), key...), Value: value, Absent: value == nil,
		Root: root, Nodes: w.nodes}, nil
}

// proofNodes collects the nodes trie.Prove writes, in order, root first.
type proofNodes struct{ nodes [][]byte }

func (p *proofNodes) Put(_, v []byte) error {
	p.nodes = append(p.nodes, common.CopyBytes(v))
	return nil
}
func (p *proofNodes) Delete([]byte) error { return errors.New("proofNodes: delete") }

// openState opens the state trie at start-up and checks the stored state
// against it: the entries are re-hashed from scratch into a root, which
// must equal the committed root, and that root's app hash must be the one
// Info reports (CometBFT, in its handshake, then compares that with the app
// hash its own block store recorded). A mismatch is ErrStateTampered and
// the node does not start. A v1 ledger (change-chain app hash) is converted
// here, once (docs/SPEC.md §3.4).
func (a *App) openState() error {
	db := a.cfg.DB
	chain, err := a.st.committed(keyMetaChain)
	if err != nil {
		return err
	}
	if chain == nil {
		// A fresh database: InitChain creates the state.
		a.tree = trie.NewEmpty(a.nodeDB())
		return nil
	}
	ver, err := a.st.committed(keyMetaStateVersion)
	if err != nil {
		return err
	}
	switch {
	case ver == nil:
		if err := a.migrateV1(); err != nil {
			return err
		}
	case len(ver) != 8:
		return fmt.Errorf("%w: state version entry is %d bytes", ErrStateTampered, len(ver))
	case be64u(ver) != stateVersion2:
		return fmt.Errorf("ledger state format %d is not one this camchaind reads (%d): run the camchaind that wrote it, or a newer one", be64u(ver), stateVersion2)
	}
	stored, err := a.st.committed(keyMetaStateRoot)
	if err != nil {
		return err
	}
	if len(stored) != 32 {
		return fmt.Errorf("%w: the committed root entry is %d bytes", ErrStateTampered, len(stored))
	}
	root := stateproof.Hash(stored)
	onDisk, err := a.st.committed(keyMetaTrieRoot)
	if err != nil {
		return err
	}
	// The nodes on disk are those of an older root after a crash between
	// two flushes: rebuild them from the entries (checked just below).
	stale := onDisk != nil && !equalBytes(onDisk, root[:])
	got, nodes, err := recomputeRoot(db, stale)
	if err != nil {
		return err
	}
	if got != root {
		return fmt.Errorf("%w: at height %d the stored entries hash to root %x, the commit recorded %x", ErrStateTampered, a.height, got, root)
	}
	migrated, err := a.st.committed(keyMetaMigrated)
	if err != nil {
		return err
	}
	if (migrated == nil || be64u(migrated) != a.height) && !equalBytes(stateproof.AppHash(root), a.appHash) {
		return fmt.Errorf("%w: at height %d the app hash entry %x is not that of the committed root %x", ErrStateTampered, a.height, a.appHash, root)
	}
	if stale {
		if err := rewriteTrieNodes(db, root, nodes); err != nil {
			return err
		}
		a.log.Info("ledger trie nodes rebuilt from the state entries (the node stopped between two writes of them)", "height", a.height, "root", fmt.Sprintf("%x", root))
	}
	if a.tree, err = a.openTrie(root); err != nil {
		return err
	}
	if stateproof.Hash(a.tree.Hash()) != root {
		return fmt.Errorf("%w: the stored trie's root is not the committed root %x", ErrStateTampered, root)
	}
	// Read every stored node once: each read checks the node's hash, so a
	// node changed or lost on disk stops the start rather than a later block.
	it, err := a.tree.NodeIterator(nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrStateTampered, err)
	}
	for it.Next(true) {
	}
	if err := it.Error(); err != nil {
		if errors.Is(err, ErrStateTampered) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrStateTampered, err)
	}
	a.root = root
	return nil
}

// migrateV1 converts a v1 ledger, whose app hash chained each block's
// changes, to the authenticated state: it builds the trie over the stored
// entries and writes it with the state version in one synced batch. The
// app hash Info reports stays the v1 one (CometBFT's block store holds it)
// until the next block, whose app hash is the v2 one. A v1 ledger is a
// single-validator one (v1 had no networks), so no other validator has to
// convert at the same height.
func (a *App) migrateV1() error {
	root, nodes, err := recomputeRoot(a.cfg.DB, true)
	if err != nil {
		return err
	}
	b := a.cfg.DB.NewBatch()
	defer b.Close()
	for path, blob := range nodes {
		if err := b.Set(trieNodeKey([]byte(path)), blob); err != nil {
			return fmt.Errorf("state batch: %w", err)
		}
	}
	for k, v := range map[string][]byte{string(keyMetaStateRoot): root[:], string(keyMetaTrieRoot): root[:],
		string(keyMetaStateVersion): be64(stateVersion2), string(keyMetaMigrated): be64(a.height)} {
		if err := b.Set([]byte(k), v); err != nil {
			return fmt.Errorf("state batch: %w", err)
		}
	}
	if err := b.WriteSync(); err != nil {
		return fmt.Errorf("state migration commit: %w", err)
	}
	a.log.Info("ledger state converted to the authenticated state (v2)", "height", a.height, "root", fmt.Sprintf("%x", root))
	return nil
}

// rewriteTrieNodes replaces every stored trie node with nodes (path →
// blob, the trie of root rebuilt from the entries) in one synced batch,
// and records root as the nodes' root.
func rewriteTrieNodes(db dbm.DB, root stateproof.Hash, nodes map[string][]byte) error {
	b := db.NewBatch()
	defer b.Close()
	it, err := db.Iterator(prefixTrie, prefixEnd(prefixTrie))
	if err != nil {
		return fmt.Errorf("state scan: %w", err)
	}
	for ; it.Valid(); it.Next() {
		if _, keep := nodes[string(it.Key()[len(prefixTrie):])]; keep {
			continue // overwritten below
		}
		if err := b.Delete(bytes.Clone(it.Key())); err != nil {
			it.Close()
			return fmt.Errorf("state batch: %w", err)
		}
	}
	err = it.Error()
	it.Close()
	if err != nil {
		return fmt.Errorf("state scan: %w", err)
	}
	for path, blob := range nodes {
		if err := b.Set(trieNodeKey([]byte(path)), blob); err != nil {
			return fmt.Errorf("state batch: %w", err)
		}
	}
	if err := b.Set(keyMetaTrieRoot, root[:]); err != nil {
		return fmt.Errorf("state batch: %w", err)
	}
	if err := b.WriteSync(); err != nil {
		return fmt.Errorf("state trie rebuild commit: %w", err)
	}
	return nil
}

// flushTrie writes the trie nodes waiting in memory and records the
// committed root as the nodes' root, in one synced batch: what a stopping
// node does, so its next start finds the nodes of the committed root.
func (a *App) flushTrie() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	nodes := a.unflushed.due(0)
	if len(nodes) == 0 {
		return nil
	}
	b := a.cfg.DB.NewBatch()
	defer b.Close()
	if err := setTrieNodes(b, nodes); err != nil {
		return err
	}
	if err := b.Set(keyMetaTrieRoot, bytes.Clone(a.root[:])); err != nil { // a copy: MemDB keeps the slice
		return fmt.Errorf("state batch: %w", err)
	}
	if err := b.WriteSync(); err != nil {
		return fmt.Errorf("state trie commit: %w", err)
	}
	a.nodes.cacheWrites(nodes)
	a.unflushed.reset()
	return nil
}

// Close writes the trie nodes held in memory (flushTrie). The node calls it
// once consensus has stopped; the app takes no block after it.
func (a *App) Close() error { return a.flushTrie() }

func equalBytes(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
