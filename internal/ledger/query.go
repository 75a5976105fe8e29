package ledger

import (
	"bytes"
	"fmt"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/stateproof"
)

// The query methods read committed state only and are safe to call
// concurrently with block execution.

// Device returns the camera's record, or nil if the ledger has never seen it.
func (a *App) Device(c keys.Address) (*Device, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	b, err := a.st.committed(deviceKey(c))
	if err != nil || b == nil {
		return nil, err
	}
	var d Device
	if err := decodeValue(b, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// DevicesOf returns the cameras owner currently owns, in address order.
func (a *App) DevicesOf(owner keys.Address) ([]Device, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var cams []keys.Address
	err := a.st.scan(cat(prefixOwner, owner[:]), false, func(k, _ []byte) (bool, error) {
		var c keys.Address
		copy(c[:], k[len(prefixOwner)+20:])
		cams = append(cams, c)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Device, 0, len(cams))
	for _, c := range cams {
		b, err := a.st.committed(deviceKey(c))
		if err != nil {
			return nil, err
		}
		var d Device
		if err := decodeValue(b, &d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// IsHub reports whether h is a registered hub.
func (a *App) IsHub(h keys.Address) (bool, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	b, err := a.st.committed(hubKey(h))
	return b != nil, err
}

// Checkpoints returns the camera's checkpoints in the given epoch, oldest
// first, starting at index from, at most limit of them.
func (a *App) Checkpoints(c keys.Address, epoch, from uint64, limit int) ([]CheckpointRecord, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var out []CheckpointRecord
	prefix := cat(prefixCkpt, c[:], be64(epoch))
	err := a.st.scanFrom(prefix, cat(prefix, be64(from)), func(_, v []byte) (bool, error) {
		var r CheckpointRecord
		if err := decodeValue(v, &r); err != nil {
			return false, err
		}
		out = append(out, r)
		return len(out) < limit, nil
	})
	return out, err
}

// EventFilter selects audit events. With Camera set, only that camera's
// events; with Principal set, events where it is the actor or was the
// owner; with neither, all events. Before, if non-zero, returns only events
// with a smaller sequence number (for paging newest-first).
type EventFilter struct {
	Camera    keys.Address
	Principal keys.Address
	Before    uint64
	Limit     int
}

// Events returns matching audit events, newest first.
func (a *App) Events(f EventFilter) ([]Event, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	zero := keys.Address{}
	var prefix []byte
	switch {
	case f.Camera != zero:
		prefix = cat(prefixEvCamera, f.Camera[:])
	case f.Principal != zero:
		prefix = cat(prefixEvPrinc, f.Principal[:])
	default:
		prefix = prefixEvent
	}
	end := prefixEnd(prefix)
	if f.Before != 0 {
		end = cat(prefix, be64(f.Before))
	}
	var out []Event
	err := a.st.scanBelow(prefix, end, func(k, v []byte) (bool, error) {
		seq := be64u(k[len(k)-8:])
		if !bytes.Equal(prefix, prefixEvent) {
			var err error
			if v, err = a.st.committed(eventKey(seq)); err != nil {
				return false, err
			}
		}
		var e Event
		if err := decodeValue(v, &e); err != nil {
			return false, err
		}
		if f.Camera != zero && f.Principal != zero && e.Actor != f.Principal && e.Owner != f.Principal {
			return true, nil
		}
		out = append(out, e)
		return len(out) < f.Limit, nil
	})
	return out, err
}

// Known reports whether addr is a principal the ledger knows: a registered
// hub, a camera it has seen, or the owner of a camera. The hub gives known
// signers a submission budget of their own (docs/SPEC.md §4.1).
func (a *App) Known(addr keys.Address) (bool, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	for _, k := range [][]byte{hubKey(addr), deviceKey(addr)} {
		if b, err := a.st.committed(k); err != nil || b != nil {
			return b != nil, err
		}
	}
	owns := false
	err := a.st.scan(cat(prefixOwner, addr[:]), false, func(_, _ []byte) (bool, error) {
		owns = true
		return false, nil
	})
	return owns, err
}

// NonceTx returns the hash of the committed transaction that spent signer's
// nonce, while the ledger remembers it (until that transaction's expiry).
// A client whose transaction came back `replay` learns from it whether its
// own action is what landed (docs/SPEC.md §2.4).
func (a *App) NonceTx(signer keys.Address, nonce uint64) (feedchain.Hash, bool, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	b, err := a.st.committed(nonceKey(signer, nonce))
	if err != nil || b == nil {
		return feedchain.Hash{}, false, err
	}
	if len(b) != 8+32 {
		return feedchain.Hash{}, false, fmt.Errorf("ledger: corrupt nonce record of %s", signer.Hex())
	}
	var h feedchain.Hash
	copy(h[:], b[8:])
	return h, true, nil
}

// StateProof returns the committed entry at key with its proof against the
// committed trie root (docs/SPEC.md §3.4). The proof's Height is the last
// committed height: the header of the block after it carries the app hash
// the proof checks against.
func (a *App) StateProof(key []byte) (*stateproof.Proof, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	v, err := a.st.committed(key)
	if err != nil {
		return nil, err
	}
	if !authenticated(key) {
		return nil, fmt.Errorf("ledger: %q is not a state entry", key)
	}
	return proveKey(a.tree, a.height, a.root, key, v)
}

// DeviceProof returns the camera's record (nil if the ledger has never seen
// it) with the proof of it, or of its absence, in the committed state.
func (a *App) DeviceProof(c keys.Address) (*Device, *stateproof.Proof, error) {
	p, err := a.StateProof(deviceKey(c))
	if err != nil {
		return nil, nil, err
	}
	d, err := VerifyDeviceProof(stateproof.AppHash(p.Root), c, p)
	return d, p, err
}

// VerifyDeviceProof checks a proof of camera c's ledger record against
// appHash, the app hash of a header the caller has verified (height
// p.Height+1), and returns the record it proves: nil when it proves that
// the ledger holds no record of c.
func VerifyDeviceProof(appHash []byte, c keys.Address, p *stateproof.Proof) (*Device, error) {
	if p == nil || !bytes.Equal(p.Key, deviceKey(c)) {
		return nil, fmt.Errorf("%w: the proof is not of camera %s's record", stateproof.ErrMalformed, c.Hex())
	}
	if err := stateproof.Verify(appHash, p); err != nil {
		return nil, err
	}
	if p.Absent {
		return nil, nil
	}
	var d Device
	if err := decodeValue(p.Value, &d); err != nil {
		return nil, err
	}
	if d.Camera != c {
		return nil, fmt.Errorf("%w: the record proven is of camera %s", stateproof.ErrValue, d.Camera.Hex())
	}
	return &d, nil
}
