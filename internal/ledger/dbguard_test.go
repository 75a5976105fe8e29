package ledger

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
)

// Writers and readers still running when a guarded database closes (as
// CometBFT's indexer and consensus routines are when Node.Close runs) get
// errDBClosed or nothing, never pebble's panic; what was written before
// Close is there when the database opens again.
func TestClosedGuardOutlivesClose(t *testing.T) {
	dir := t.TempDir()
	raw, err := dbm.NewPebbleDB("guarded", dir)
	if err != nil {
		t.Fatal(err)
	}
	g := &closedGuard{DB: raw}
	if err := g.SetSync([]byte("before"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	it, err := g.Iterator(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	it.Close()

	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				b := g.NewBatch()
				b.Set(fmt.Appendf(nil, "w%d-%d", w, i), []byte("x"))
				if err := b.Write(); err != nil && !errors.Is(err, errDBClosed) {
					t.Errorf("batch write: %v", err)
				}
				b.Close()
				if _, err := g.Get([]byte("before")); err != nil {
					t.Errorf("get: %v", err)
				}
				if it, err := g.Iterator(nil, nil); err == nil {
					for ; it.Valid(); it.Next() {
						_ = it.Key()
					}
					it.Close()
				} else if !errors.Is(err, errDBClosed) {
					t.Errorf("iterator: %v", err)
				}
			}
		}()
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()

	if v, err := g.Get([]byte("before")); v != nil || err != nil {
		t.Fatalf("get after close: %q, %v; want nothing", v, err)
	}
	if err := g.Set([]byte("after"), []byte("1")); !errors.Is(err, errDBClosed) {
		t.Fatalf("set after close: %v, want errDBClosed", err)
	}
	b := g.NewBatch()
	b.Set([]byte("after"), []byte("1"))
	if err := b.WriteSync(); !errors.Is(err, errDBClosed) {
		t.Fatalf("batch after close: %v, want errDBClosed", err)
	}
	if err := g.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}

	again, err := dbm.NewPebbleDB("guarded", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if v, err := again.Get([]byte("before")); err != nil || string(v) != "1" {
		t.Fatalf("reopened: %q, %v", v, err)
	}
	if v, _ := again.Get([]byte("after")); v != nil {
		t.Fatal("a write after close reached the database")
	}
}
