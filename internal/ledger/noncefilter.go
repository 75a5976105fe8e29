package ledger

import (
	"bytes"
	"hash/maphash"
	"sync"

	dbm "github.com/cometbft/cometbft-db"
)

// A transaction the mempool admits names a nonce no transaction spent, so
// CheckTx's lookup of its nonce entry (nonce/<signer>/<nonce>), the
// recheck's and the block's all find nothing — and an absent key is
// Pebble's dearest read: it searches the memtables and opens an iterator
// on every table whose range holds the key (8 % of the signed-throughput
// profile). nonceFilter is a Bloom filter over the key of every nonce
// entry in the committed state: a key it was never given is certainly not
// in the database, and the read is skipped; any other key is read as
// before. It is filled from the database at start and by every commit
// before its batch is written, and never forgets (a nonce pruned at its
// expiry stays in it, which only costs a read); once it holds more keys
// than it was sized for, it is rebuilt from the database's nonce entries.
type nonceFilter struct {
	mu   sync.RWMutex
	bits []uint64
	m    uint64 // len(bits) * 64
	n    int    // keys added
	max  int    // keys it was sized for
	seed maphash.Seed
}

const (
	nonceFilterBitsPerKey = 10 // with 7 probes: about 1 % of absent keys still read
	nonceFilterProbes     = 7
	minNonceFilterKeys    = 1 << 16
)

func newNonceFilter(n int) *nonceFilter {
	f := &nonceFilter{seed: maphash.MakeSeed()}
	f.size(n)
	return f
}

// size empties the filter and sizes it for n keys (at least
// minNonceFilterKeys).
func (f *nonceFilter) size(n int) {
	n = max(n, minNonceFilterKeys)
	words := (n*nonceFilterBitsPerKey + 63) / 64
	f.bits, f.m, f.n, f.max = make([]uint64, words), uint64(words)*64, 0, n
}

// probes calls fn with the key's bit positions (double hashing of one
// 64-bit hash).
func (f *nonceFilter) probes(k []byte, fn func(bit uint64) bool) bool {
	h := maphash.Bytes(f.seed, k)
	h1, h2 := h&0xffffffff, h>>32|1
	for i := uint64(0); i < nonceFilterProbes; i++ {
		if !fn((h1 + i*h2) % f.m) {
			return false
		}
	}
	return true
}

// mayContain is false only for a key never added since the last rebuild
// (nor present in the database then).
func (f *nonceFilter) mayContain(k []byte) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.probes(k, func(b uint64) bool { return f.bits[b/64]&(1<<(b%64)) != 0 })
}

func (f *nonceFilter) add(k []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addLocked(k)
}

func (f *nonceFilter) addLocked(k []byte) {
	f.probes(k, func(b uint64) bool { f.bits[b/64] |= 1 << (b % 64); return true })
	f.n++
}

// full reports whether the filter holds more keys than it was sized for.
func (f *nonceFilter) full() bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.n > f.max
}

// rebuild refills the filter with the database's nonce entries alone,
// sized for twice as many. Nothing may read or add meanwhile but through
// the filter's lock (Commit calls it under the app's write lock).
func (f *nonceFilter) rebuild(db dbm.DB) error {
	var keys [][]byte
	err := walkPrefix(db, prefixNonce, func(k []byte) { keys = append(keys, bytes.Clone(k)) })
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.size(2 * len(keys))
	for _, k := range keys {
		f.addLocked(k)
	}
	return nil
}

// loadNonceFilter builds the filter of the database's nonce entries.
func loadNonceFilter(db dbm.DB) (*nonceFilter, error) {
	f := newNonceFilter(0)
	return f, f.rebuild(db)
}

func walkPrefix(db dbm.DB, prefix []byte, fn func(k []byte)) error {
	it, err := db.Iterator(prefix, prefixEnd(prefix))
	return walk(it, err, func(k, _ []byte) (bool, error) { fn(k); return true, nil })
}

// isNonceKey reports whether k is a nonce entry's key.
func isNonceKey(k []byte) bool { return bytes.HasPrefix(k, prefixNonce) }
