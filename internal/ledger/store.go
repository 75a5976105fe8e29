package ledger

import (
	"bytes"
	"fmt"
	"slices"
	"sync"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/ethereum/go-ethereum/trie/trienode"

	"github.com/camchain/camchain/internal/stateproof"
)

// store is the application state: committed key/values in a database, plus
// the writes of the block being finalized, which reach the database only in
// Commit, in one synced batch together with the height and app hash.
type store struct {
	db      dbm.DB
	pending map[string]change
	// nonces, if set, answers for the nonce entries it has never seen
	// (noncefilter.go): they are not in the database.
	nonces *nonceFilter
	// devices remembers camera records decoded by the rules; the App's
	// stores share one (nil: none).
	devices *deviceMemo
}

// deviceMemo maps a camera record's encoding to its decoding. Decoding is
// a pure function of the bytes, and a Device's CBOR (its addresses and
// root are arrays of 20 and 32 integers, decoded member by member by
// reflection) took 13 µs: every owner action decodes its camera's record
// in CheckTx, in the recheck and in the block, 6 % of the signed-throughput
// profile. The block and the recheck read the records CheckTx read before
// them, in the same order, so the check state's store and the block's
// share one memo. Callers change what they get (Grants too), so each gets
// its own copy. Bounded: emptied when it holds maxDeviceMemo.
type deviceMemo struct {
	mu sync.Mutex
	m  map[string]Device
}

const maxDeviceMemo = 4096

func (m *deviceMemo) decode(b []byte) (*Device, error) {
	if m == nil {
		var d Device
		if err := decodeValue(b, &d); err != nil {
			return nil, err
		}
		return &d, nil
	}
	m.mu.Lock()
	d, ok := m.m[string(b)]
	m.mu.Unlock()
	if ok {
		d.Grants = slices.Clone(d.Grants)
		return &d, nil
	}
	if err := decodeValue(b, &d); err != nil {
		return nil, err
	}
	keep := d
	keep.Grants = slices.Clone(d.Grants)
	m.mu.Lock()
	if m.m == nil || len(m.m) >= maxDeviceMemo {
		m.m = make(map[string]Device)
	}
	m.m[string(b)] = keep
	m.mu.Unlock()
	return &d, nil
}

type change struct {
	val []byte
	del bool
}

func newStore(db dbm.DB) *store { return &store{db: db, pending: map[string]change{}} }

// committed reads the database only.
func (s *store) committed(k []byte) ([]byte, error) {
	v, err := s.db.Get(k)
	if err != nil {
		return nil, fmt.Errorf("state read: %w", err)
	}
	return v, nil
}

func (s *store) get(k []byte) ([]byte, error) {
	if c, ok := s.pending[string(k)]; ok {
		if c.del {
			return nil, nil
		}
		return c.val, nil
	}
	if s.nonces != nil && isNonceKey(k) && !s.nonces.mayContain(k) {
		return nil, nil
	}
	return s.committed(k)
}

func (s *store) set(k, v []byte) { s.pending[string(k)] = change{val: v} }
func (s *store) del(k []byte)    { s.pending[string(k)] = change{del: true} }

// commit writes the pending changes, the trie nodes given (path → node, a
// deleted node to delete; those of the blocks since the last write of
// them, or none), the height, the trie root and the app hash in one synced
// batch, so a crash leaves either the whole block or none of it. extra
// holds further metadata of the same batch.
func (s *store) commit(height uint64, appHash []byte, root stateproof.Hash, nodes map[string]*trienode.Node, extra map[string][]byte) error {
	b := s.db.NewBatch()
	defer b.Close()
	if err := setTrieNodes(b, nodes); err != nil {
		return err
	}
	for k, v := range extra {
		if err := b.Set([]byte(k), v); err != nil {
			return fmt.Errorf("state batch: %w", err)
		}
	}
	if err := b.Set(keyMetaStateRoot, root[:]); err != nil {
		return fmt.Errorf("state batch: %w", err)
	}
	for k, c := range s.pending {
		var err error
		if c.del {
			err = b.Delete([]byte(k))
		} else {
			err = b.Set([]byte(k), c.val)
		}
		if err != nil {
			return fmt.Errorf("state batch: %w", err)
		}
	}
	if err := b.Set(keyMetaHeight, be64(height)); err != nil {
		return fmt.Errorf("state batch: %w", err)
	}
	if err := b.Set(keyMetaAppHash, appHash); err != nil {
		return fmt.Errorf("state batch: %w", err)
	}
	if err := b.WriteSync(); err != nil {
		return fmt.Errorf("state commit: %w", err)
	}
	s.pending = map[string]change{}
	return nil
}

// setTrieNodes adds the trie node writes (path → node, a deleted node to
// delete) to b.
func setTrieNodes(b dbm.Batch, nodes map[string]*trienode.Node) error {
	for path, n := range nodes {
		var err error
		if n.IsDeleted() {
			err = b.Delete(trieNodeKey([]byte(path)))
		} else {
			err = b.Set(trieNodeKey([]byte(path)), n.Blob)
		}
		if err != nil {
			return fmt.Errorf("state batch: %w", err)
		}
	}
	return nil
}

// scan calls fn for each committed key with the prefix, in key order (or
// reverse), until fn returns false. Pending writes are not visible.
func (s *store) scan(prefix []byte, reverse bool, fn func(k, v []byte) (bool, error)) error {
	if reverse {
		return s.scanBelow(prefix, prefixEnd(prefix), fn)
	}
	return s.scanFrom(prefix, prefix, fn)
}

// scanBelow is scan in reverse from end (exclusive) down to the prefix's
// start.
func (s *store) scanBelow(prefix, end []byte, fn func(k, v []byte) (bool, error)) error {
	it, err := s.db.ReverseIterator(prefix, end)
	return walk(it, err, fn)
}

// scanFrom is scan forward from start (inclusive) to the prefix's end.
func (s *store) scanFrom(prefix, start []byte, fn func(k, v []byte) (bool, error)) error {
	if !bytes.HasPrefix(start, prefix) {
		return fmt.Errorf("scanFrom: start outside prefix")
	}
	it, err := s.db.Iterator(start, prefixEnd(prefix))
	return walk(it, err, fn)
}

func walk(it dbm.Iterator, err error, fn func(k, v []byte) (bool, error)) error {
	if err != nil {
		return fmt.Errorf("state scan: %w", err)
	}
	defer it.Close()
	for ; it.Valid(); it.Next() {
		more, err := fn(it.Key(), it.Value())
		if err != nil {
			return err
		}
		if !more {
			break
		}
	}
	return it.Error()
}

// prefixEnd returns the smallest key greater than every key with prefix.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
