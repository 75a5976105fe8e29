// Package recipients is how a camera learns who may see its video under
// end-to-end encryption (docs/SPEC.md §17.3): from the owner-signed Grant
// and Revoke transactions themselves and the accounts' own ViewingKey
// transactions, forwarded by the hub and checked here against the owner
// the camera imprinted on — never from the hub's word. A hub that signs a
// grant to itself, or a viewing key for another account, is refused.
package recipients

import (
	"bytes"
	"errors"
	"fmt"
	"sort"

	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// MaxViewers caps the viewers a Set remembers statements about (live
// grants are at most 64; revoked ones are kept so that an old grant
// replayed after its revoke stays revoked).
const MaxViewers = 1024

// Refusals of Learn. Each means the transaction changes nothing.
var (
	ErrNotOwner     = errors.New("not signed by the camera's owner")
	ErrNotAccount   = errors.New("a viewing key not signed by its own account")
	ErrOtherCamera  = errors.New("a transaction for another camera or epoch")
	ErrOtherChain   = errors.New("a transaction for another ledger")
	ErrNotAccess    = errors.New("not a Grant, Revoke or ViewingKey")
	ErrUnknownParty = errors.New("a viewing key of an account that is neither the owner nor named by a grant")
	ErrFull         = errors.New("too many viewers")
)

type statement struct {
	revoke      bool
	validUntil  uint64
	historyFrom uint64
	expiry      uint64
}

type keyStatement struct {
	key    *e2ee.PublicKey
	expiry uint64
}

// Set is what the camera knows: its identity, its owner, and the latest
// owner-signed statement about each viewer and each party's latest
// self-signed viewing key. The zero value is not usable: fill the fields.
type Set struct {
	Camera     keys.Address
	Epoch      uint64
	Owner      keys.Address
	EVMChainID uint64

	viewers map[keys.Address]statement
	keys    map[keys.Address]keyStatement
}

// Learn takes one forwarded transaction (wire bytes). Of two statements
// about one viewer the one with the later expiry holds, a revoke over a
// grant of the same expiry; so a grant replayed after the revoke the
// camera saw stays revoked (camchain signs every action with the same
// 2-minute lifetime: later signed, later expiry).
func (s *Set) Learn(raw []byte) error {
	t, err := tx.Decode(raw)
	if err != nil {
		return err
	}
	if t.EVMChainID != s.EVMChainID {
		return fmt.Errorf("%w: chain %d, not %d", ErrOtherChain, t.EVMChainID, s.EVMChainID)
	}
	who, err := t.Signers()
	if err != nil {
		return err
	}
	signer := who[0]
	_, expiry := t.Msg.Replay()
	switch m := t.Msg.(type) {
	case *tx.Grant:
		if err := s.ownerAction(m.Camera, m.Epoch, signer); err != nil {
			return err
		}
		return s.state(m.Viewer, statement{validUntil: m.ValidUntil, historyFrom: m.HistoryFrom, expiry: expiry})
	case *tx.Revoke:
		if err := s.ownerAction(m.Camera, m.Epoch, signer); err != nil {
			return err
		}
		return s.state(m.Viewer, statement{revoke: true, expiry: expiry})
	case *tx.ViewingKey:
		if signer != m.Account {
			return fmt.Errorf("%w: %s's key signed by %s", ErrNotAccount, m.Account.Hex(), signer.Hex())
		}
		if _, named := s.viewers[m.Account]; !named && m.Account != s.Owner {
			return fmt.Errorf("%w (%s)", ErrUnknownParty, m.Account.Hex())
		}
		pub, err := m.Key()
		if err != nil {
			return err
		}
		if s.keys == nil {
			s.keys = map[keys.Address]keyStatement{}
		}
		if old, ok := s.keys[m.Account]; !ok || expiry > old.expiry {
			s.keys[m.Account] = keyStatement{key: pub, expiry: expiry}
		}
		return nil
	}
	return fmt.Errorf("%w: a %s", ErrNotAccess, t.Msg.Type())
}

func (s *Set) ownerAction(camera keys.Address, epoch uint64, signer keys.Address) error {
	if camera != s.Camera || epoch != s.Epoch {
		return fmt.Errorf("%w: camera %s epoch %d, this is %s epoch %d", ErrOtherCamera, camera.Hex(), epoch, s.Camera.Hex(), s.Epoch)
	}
	if signer != s.Owner || s.Owner == (keys.Address{}) {
		return fmt.Errorf("%w: signed by %s, the owner is %s", ErrNotOwner, signer.Hex(), s.Owner.Hex())
	}
	return nil
}

func (s *Set) state(viewer keys.Address, st statement) error {
	if s.viewers == nil {
		s.viewers = map[keys.Address]statement{}
	}
	old, ok := s.viewers[viewer]
	if !ok && len(s.viewers) >= MaxViewers {
		return ErrFull
	}
	if !ok || st.expiry > old.expiry || (st.expiry == old.expiry && st.revoke) {
		s.viewers[viewer] = st
	}
	return nil
}

// Recipients are the accounts a content key drawn at Unix time now is
// wrapped to: the owner, and every viewer whose latest statement is a
// grant in force, each with its viewing key; in ascending order. Those
// without a known key are in Missing.
func (s *Set) Recipients(now uint64) []e2ee.Recipient {
	var out []e2ee.Recipient
	for _, a := range s.entitled(now) {
		if k, ok := s.keys[a]; ok {
			out = append(out, e2ee.Recipient{Account: a, Key: k.key})
		}
	}
	return out
}

// Missing lists the entitled accounts whose viewing key the camera has not
// been given: the video recorded now is not readable by them.
func (s *Set) Missing(now uint64) []keys.Address {
	var out []keys.Address
	for _, a := range s.entitled(now) {
		if _, ok := s.keys[a]; !ok {
			out = append(out, a)
		}
	}
	return out
}

func (s *Set) entitled(now uint64) []keys.Address {
	var out []keys.Address
	if s.Owner != (keys.Address{}) {
		out = append(out, s.Owner)
	}
	for v, st := range s.viewers {
		// In force now, and from its history-from on: a grantee whose
		// history starts later gets no key of before (SPEC §17.3).
		if !st.revoke && (st.validUntil == 0 || now < st.validUntil) && st.historyFrom <= now && v != s.Owner {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i][:], out[j][:]) < 0 })
	return out
}
