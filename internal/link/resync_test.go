package link

import (
	"sync"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// memResyncs is the hub's store of pending resyncs, in memory.
type memResyncs struct {
	mu sync.Mutex
	r  []byte
}

func (m *memResyncs) Pending(keys.Address, uint64) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.r
}
func (m *memResyncs) Done(keys.Address, uint64) { m.mu.Lock(); defer m.mu.Unlock(); m.r = nil }
func (m *memResyncs) set(b []byte)              { m.mu.Lock(); defer m.mu.Unlock(); m.r = b }

func signedResync(t *testing.T, owner *keys.PrivateKey, cam, hub keys.Address, ttl time.Duration) []byte {
	t.Helper()
	r, err := SignResync(owner, 7, tx.Resync{Camera: cam, Hub: hub, Epoch: 0, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(ttl)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A hub restored from a backup is refused as stale; a resync signed by a
// stranger, for another hub, or already spent changes nothing; the owner's
// resync re-keys it and the camera backfills what the backup lacks.
func TestRestoredHubNeedsTheOwnersResync(t *testing.T) {
	r := newRig(t)
	owner := key(t)
	real := r.serve(r.hubKey, r.hubID, r.backend)
	r.record(3)
	client := func() *Client {
		c := r.client(r.addr, r.chain, r.alarms)
		c.Owner, c.ChainID = owner.Address(), 7
		return c
	}
	stop := r.run(client())
	waitFor(t, "upload", func() bool { return ackedSeq(r.chain) == 2 })
	stop()
	backup := r.backend.copyOf()
	stop = r.run(client())
	r.record(3)
	waitFor(t, "upload after the backup", func() bool { return ackedSeq(r.chain) == 5 })
	stop()
	real.Close()

	// Restored: stale, refused.
	resyncs := &memResyncs{}
	restored := r.serve(r.hubKey, r.hubID, backup)
	restored.Resyncs = resyncs
	stop = r.run(client())
	waitFor(t, "the restored hub refused as stale", func() bool { return hasAlarm(backup, "hub/chain-divergence: ") })
	stop()
	stillStale := backup.copyOf()
	hc, _ := backup.Chain(r.camKey.Address(), 0, feedchain.StreamMain)
	for _, bad := range []struct {
		name   string
		resync []byte
	}{
		{"signed by a stranger", signedResync(t, key(t), r.camKey.Address(), r.hubKey.Address(), time.Minute)},
		{"for another hub", signedResync(t, owner, r.camKey.Address(), key(t).Address(), time.Minute)},
		{"for another camera", signedResync(t, owner, key(t).Address(), r.hubKey.Address(), time.Minute)},
		{"expiring too far ahead", signedResync(t, owner, r.camKey.Address(), r.hubKey.Address(), 2*MaxResyncTTL)},
	} {
		resyncs.set(bad.resync)
		n := len(r.alarms.kinds())
		stop = r.run(client())
		waitFor(t, bad.name+": refused by the camera", func() bool { return len(r.alarms.kinds()) > n })
		stop()
		if hc.Head().Seq != 2 {
			t.Fatalf("resync %s: the hub received records", bad.name)
		}
	}

	good := signedResync(t, owner, r.camKey.Address(), r.hubKey.Address(), time.Minute)
	resyncs.set(good)
	stop = r.run(client())
	waitFor(t, "backfill after the resync", func() bool { return hc.Head() == r.chain.Head() })
	stop()
	// The next sessions are ordinary ones; the first drops the pending
	// resync.
	r.record(2)
	stop = r.run(client())
	waitFor(t, "ordinary upload after the resync", func() bool { return ackedSeq(r.chain) == 7 && hc.Head() == r.chain.Head() })
	stop()
	if resyncs.Pending(r.camKey.Address(), 0) != nil {
		t.Fatal("the pending resync was not dropped once the camera proved the new secret")
	}
	restored.Close()

	// A replay of the spent resync to a stale copy (the backup again) is
	// refused by the camera.
	again := r.serve(r.hubKey, r.hubID, stillStale)
	again.Resyncs = &memResyncs{r: good}
	n := len(r.alarms.kinds())
	stop = r.run(client())
	waitFor(t, "the replayed resync refused", func() bool { return len(r.alarms.kinds()) > n })
	stop()
}
