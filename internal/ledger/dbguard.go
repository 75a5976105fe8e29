package ledger

import (
	"errors"
	"sync"

	dbm "github.com/cometbft/cometbft-db"
)

// closedGuard wraps one of CometBFT's databases so that a use after Close
// fails quietly instead of panicking. In v1.0.1 goroutines outlive
// Node.OnStop and the databases it closes: the consensus reactor's
// per-peer routines (queryMaj23Routine) read the block store, and the
// indexer service may still be writing a block's transactions to the tx
// index when Node.Close closes it; pebble then panics with "pebble:
// closed", taking the whole process down (both seen in tests). A read
// after Close finds nothing (what those routines already handle); a write,
// a batch or an iterator after Close fails with errDBClosed. Every call
// holds the guard for reading, so Close waits for calls in flight.
type closedGuard struct {
	dbm.DB
	mu     sync.RWMutex
	closed bool
}

var errDBClosed = errors.New("ledger: database closed")

func (g *closedGuard) do(f func() error) error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return errDBClosed
	}
	return f()
}

func (g *closedGuard) Get(k []byte) ([]byte, error) {
	var v []byte
	err := g.do(func() (err error) { v, err = g.DB.Get(k); return })
	if errors.Is(err, errDBClosed) {
		return nil, nil
	}
	return v, err
}

func (g *closedGuard) Has(k []byte) (bool, error) {
	var ok bool
	err := g.do(func() (err error) { ok, err = g.DB.Has(k); return })
	if errors.Is(err, errDBClosed) {
		return false, nil
	}
	return ok, err
}

func (g *closedGuard) Set(k, v []byte) error { return g.do(func() error { return g.DB.Set(k, v) }) }
func (g *closedGuard) SetSync(k, v []byte) error {
	return g.do(func() error { return g.DB.SetSync(k, v) })
}
func (g *closedGuard) Delete(k []byte) error { return g.do(func() error { return g.DB.Delete(k) }) }
func (g *closedGuard) DeleteSync(k []byte) error {
	return g.do(func() error { return g.DB.DeleteSync(k) })
}
func (g *closedGuard) Compact(start, end []byte) error {
	return g.do(func() error { return g.DB.Compact(start, end) })
}

func (g *closedGuard) Iterator(start, end []byte) (dbm.Iterator, error) {
	var it dbm.Iterator
	err := g.do(func() (err error) { it, err = g.DB.Iterator(start, end); return })
	if err != nil {
		return nil, err
	}
	return &guardedIterator{Iterator: it, g: g}, nil
}

func (g *closedGuard) ReverseIterator(start, end []byte) (dbm.Iterator, error) {
	var it dbm.Iterator
	err := g.do(func() (err error) { it, err = g.DB.ReverseIterator(start, end); return })
	if err != nil {
		return nil, err
	}
	return &guardedIterator{Iterator: it, g: g}, nil
}

func (g *closedGuard) NewBatch() dbm.Batch { return &guardedBatch{Batch: g.DB.NewBatch(), g: g} }

func (g *closedGuard) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	return g.DB.Close()
}

// guardedBatch writes only while its database is open.
type guardedBatch struct {
	dbm.Batch
	g *closedGuard
}

func (b *guardedBatch) Write() error     { return b.g.do(b.Batch.Write) }
func (b *guardedBatch) WriteSync() error { return b.g.do(b.Batch.WriteSync) }

// guardedIterator reads only while its database is open; after Close it is
// exhausted.
type guardedIterator struct {
	dbm.Iterator
	g *closedGuard
}

func (it *guardedIterator) Valid() bool {
	ok := false
	it.g.do(func() error { ok = it.Iterator.Valid(); return nil })
	return ok
}

func (it *guardedIterator) Next() { it.g.do(func() error { it.Iterator.Next(); return nil }) }

func (it *guardedIterator) Key() (k []byte) {
	it.g.do(func() error { k = it.Iterator.Key(); return nil })
	return k
}

func (it *guardedIterator) Value() (v []byte) {
	it.g.do(func() error { v = it.Iterator.Value(); return nil })
	return v
}

func (it *guardedIterator) Error() error {
	err := it.g.do(it.Iterator.Error)
	return err
}

func (it *guardedIterator) Close() error { return it.g.do(it.Iterator.Close) }
