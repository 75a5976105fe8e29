package ledger

import (
	"bytes"
	"container/list"
	"sync"

	"github.com/ethereum/go-ethereum/common"
)

// The trie's nodes are stored by path, and after every Commit the trie is
// opened again from its root, so every block resolved each node on the
// paths it changed from the database again: a Pebble read and a Keccak-256
// check per node, the largest share of FinalizeBlock in the signed
// throughput profile. nodeCache keeps the nodes this process wrote in
// Commit or read (and checked) from the database, each with its hash, so
// the next block finds the upper levels — which every block rewrites — and
// most of the rest in memory.
//
// A cached node is served only for the very hash its parent names, and it
// is the node that hashed to it when it was written or checked: what a
// block computes from it is what it would compute from the database
// untouched. A node changed on disk behind the running node's back is
// therefore never used while its cached copy lives (the copy is the
// committed one); it is caught when a block or a proof reads it from the
// database after eviction, and at the latest at the next start, whose
// check reads every stored node (openState).

// trieNodeCache bounds the cache's memory, in bytes (blobs, paths and
// bookkeeping).
const trieNodeCache = 32 << 20

// nodeOverhead is what one entry costs beyond its path and blob: the hash,
// the list element, the map entry.
const nodeOverhead = 32 + 96

type cachedNode struct {
	path string
	hash common.Hash
	blob []byte // never modified
}

func (n *cachedNode) size() int { return len(n.path) + len(n.blob) + nodeOverhead }

// nodeCache is a least-recently-used map of trie nodes by path, bounded by
// bytes. It is safe for concurrent use (queries read the committed trie
// while a block executes).
type nodeCache struct {
	mu    sync.Mutex
	max   int
	bytes int
	lru   *list.List // of *cachedNode, most recent first
	m     map[string]*list.Element
}

func newNodeCache(max int) *nodeCache {
	return &nodeCache{max: max, lru: list.New(), m: map[string]*list.Element{}}
}

// get returns the cached node at path if it has the given hash.
func (c *nodeCache) get(path []byte, hash common.Hash) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[string(path)]
	if !ok {
		return nil, false
	}
	n := e.Value.(*cachedNode)
	if n.hash != hash {
		return nil, false
	}
	c.lru.MoveToFront(e)
	return n.blob, true
}

// put caches a copy of blob, which hashes to hash, as the node at path,
// replacing whatever was cached there. (A copy: a database may keep the
// slice it was given or return the one it holds, as MemDB does.)
func (c *nodeCache) put(path string, hash common.Hash, blob []byte) {
	if c == nil {
		return
	}
	c.add(path, hash, bytes.Clone(blob))
}

// add is put of a blob that nothing will modify, without the copy.
func (c *nodeCache) add(path string, hash common.Hash, blob []byte) {
	if c == nil {
		return
	}
	n := &cachedNode{path: path, hash: hash, blob: blob}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n.size() > c.max {
		c.dropLocked(path)
		return
	}
	if e, ok := c.m[path]; ok {
		old := e.Value.(*cachedNode)
		c.bytes += n.size() - old.size()
		e.Value = n
		c.lru.MoveToFront(e)
	} else {
		c.m[path] = c.lru.PushFront(n)
		c.bytes += n.size()
	}
	for c.bytes > c.max {
		c.dropLocked(c.lru.Back().Value.(*cachedNode).path)
	}
}

// drop forgets the node at path (it no longer exists).
func (c *nodeCache) drop(path string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked(path)
}

func (c *nodeCache) dropLocked(path string) {
	if e, ok := c.m[path]; ok {
		c.bytes -= e.Value.(*cachedNode).size()
		c.lru.Remove(e)
		delete(c.m, path)
	}
}

// purge empties the cache.
func (c *nodeCache) purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Init()
	c.m = map[string]*list.Element{}
	c.bytes = 0
}

func (c *nodeCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
