package ledger

import (
	"bytes"
	"fmt"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// ViewingKeyRecord is an account's registered public viewing key
// (docs/SPEC.md §3.1, §17.1) with the transaction that registered it, so
// a camera or a verifier can check the account's own signature on it.
type ViewingKeyRecord struct {
	_         struct{} `cbor:",toarray"`
	Account   keys.Address
	KEM       uint64
	PublicKey []byte
	Height    uint64
	Time      uint64
	TxHash    feedchain.Hash
}

var prefixViewingKey = []byte("vkey/") // vkey/<account> → ViewingKeyRecord

func viewingKeyKey(a keys.Address) []byte { return cat(prefixViewingKey, a[:]) }

// maxGrantedScan bounds the account's audit events execViewingKey reads
// to find a grant naming it.
const maxGrantedScan = 4096

func execViewingKey(j *txn, m *tx.ViewingKey, signer keys.Address, blk blockCtx) (*Refusal, error) {
	if signer != m.Account {
		return refuse(CodeUnauthorized, "the viewing key of %s must be signed by %s itself, not %s", m.Account.Hex(), m.Account.Hex(), signer.Hex()), nil
	}
	// Only an owner of a camera, or a viewer a camera's grant names, keeps
	// a viewing key: the table is bounded by the cameras and their grants,
	// not by who can make keys.
	ok, err := j.ownsAny(m.Account)
	if err == nil && !ok {
		ok, err = j.holdsGrant(m.Account, blk.time)
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		return refuse(CodeUnauthorized, "%s owns no camera and holds no grant: register a viewing key once you own a camera or are granted one", m.Account.Hex()), nil
	}
	pub, err := m.Key() // checked by tx.Decode
	if err != nil {
		return refuse(CodeInvalid, "%v", err), nil
	}
	prev, err := j.get(viewingKeyKey(m.Account))
	if err != nil {
		return nil, err
	}
	detail := fmt.Sprintf("viewing key %s (X-Wing)", pub)
	if prev != nil {
		var r ViewingKeyRecord
		if err := decodeValue(prev, &r); err != nil {
			return nil, err
		}
		if r.KEM == m.KEM && bytes.Equal(r.PublicKey, m.PublicKey) {
			return refuse(CodeConflict, "%s already registered this viewing key (%s) at height %d", m.Account.Hex(), pub, r.Height), nil
		}
		old, err := e2ee.ParsePublicKey(r.PublicKey)
		if err != nil {
			return nil, err
		}
		detail = fmt.Sprintf("viewing key %s replaces %s (X-Wing)", pub, old)
	}
	j.set(viewingKeyKey(m.Account), encodeValue(&ViewingKeyRecord{Account: m.Account, KEM: m.KEM, PublicKey: m.PublicKey,
		Height: blk.height, Time: blk.time, TxHash: blk.txHash}))
	j.event(Event{Kind: audit.ViewingKey, Actor: m.Account, Detail: detail})
	return nil, nil
}

// holdsGrant reports whether some camera's grant in force at now names
// viewer. The cameras that ever granted it are in its granted events.
func (t *txn) holdsGrant(viewer keys.Address, now uint64) (bool, error) {
	seen := map[keys.Address]bool{}
	found := false
	n := 0
	err := t.scanLive(cat(prefixEvPrinc, viewer[:]), func(k []byte) (bool, error) {
		n++
		if n > maxGrantedScan {
			return true, nil
		}
		b, err := t.get(cat(prefixEvent, k[len(prefixEvPrinc)+len(viewer):]))
		if err != nil || b == nil {
			return err != nil, err
		}
		var e Event
		if err := decodeValue(b, &e); err != nil {
			return true, err
		}
		if e.Kind != audit.Granted || e.Actor != viewer || seen[e.Camera] {
			return false, nil
		}
		seen[e.Camera] = true
		d, err := t.device(e.Camera)
		if err != nil || d == nil {
			return err != nil, err
		}
		if i := findGrant(d, viewer); i >= 0 && d.Grants[i].Active(now) {
			found = true
			return true, nil
		}
		return false, nil
	})
	return found, err
}

// scanLive calls fn with every live key under prefix in the state this
// transaction sees (its writes, the block's or check state's pending
// writes, the committed state), until fn says stop. A key may come twice.
func (t *txn) scanLive(prefix []byte, fn func(k []byte) (stop bool, err error)) error {
	live := func(k []byte) (bool, error) {
		v, err := t.get(k)
		return v != nil, err
	}
	for _, m := range []map[string]change{t.writes, t.s.pending} {
		for k := range m {
			if !bytes.HasPrefix([]byte(k), prefix) {
				continue
			}
			if ok, err := live([]byte(k)); err != nil {
				return err
			} else if ok {
				if stop, err := fn([]byte(k)); stop || err != nil {
					return err
				}
			}
		}
	}
	return t.s.scan(prefix, false, func(k, _ []byte) (bool, error) {
		ok, err := live(k)
		if err != nil || !ok {
			return err == nil, err
		}
		stop, err := fn(k)
		return !stop && err == nil, err
	})
}

// ViewingKey returns account's registered viewing key, or nil.
func (a *App) ViewingKey(account keys.Address) (*ViewingKeyRecord, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	b, err := a.st.committed(viewingKeyKey(account))
	if err != nil || b == nil {
		return nil, err
	}
	var r ViewingKeyRecord
	if err := decodeValue(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
