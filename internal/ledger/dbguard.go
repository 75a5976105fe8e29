package ledger

import (
	"sync"

	dbm "github.com/cometbft/cometbft-db"
)

// closedGuard wraps one of CometBFT's databases so that a read after Close
// finds nothing instead of panicking. In v1.0.1 the consensus reactor's
// per-peer goroutines (queryMaj23Routine) outlive Node.OnStop, which closes
// the block store, and a late BlockStore.LoadBlockCommit then panics with
// "pebble: closed", taking the whole process down with it (seen in the
// network tests). A missing commit is what that routine already handles.
type closedGuard struct {
	dbm.DB
	mu     sync.RWMutex
	closed bool
}

func (g *closedGuard) Get(k []byte) ([]byte, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return nil, nil
	}
	return g.DB.Get(k)
}

func (g *closedGuard) Has(k []byte) (bool, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return false, nil
	}
	return g.DB.Has(k)
}

func (g *closedGuard) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	return g.DB.Close()
}
