package recipients

import (
	"bytes"
	"errors"
	"fmt"
	"sort"

	"github.com/camchain/camchain/internal/canon"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/keys"
)

// The Set's state as the camera keeps it across restarts (docs/SPEC.md
// §17.3): canonical CBOR
//
//	[version = 1, camera, epoch, owner, evmChainID, viewers, keys]
//	viewers = [[account, revoke (0/1), validUntil, historyFrom, expiry], …]   accounts ascending
//	keys    = [[account, expiry, publicKey], …]                              accounts ascending
//
// A revoke carries validUntil = historyFrom = 0; a key's account is the
// owner or a viewer of the list.

// StateVersion is the state's version.
const StateVersion = 1

// MaxStateBytes bounds an encoded state: MaxViewers statements and keys.
const MaxStateBytes = (MaxViewers + 1) * (e2ee.PublicKeySize + 128)

// ErrState is a state that is not one Encode writes.
var ErrState = errors.New("malformed recipients state")

type viewerState struct {
	_           struct{} `cbor:",toarray"`
	Account     keys.Address
	Revoke      uint64
	ValidUntil  uint64
	HistoryFrom uint64
	Expiry      uint64
}

type keyState struct {
	_         struct{} `cbor:",toarray"`
	Account   keys.Address
	Expiry    uint64
	PublicKey []byte
}

type setState struct {
	_          struct{} `cbor:",toarray"`
	Version    uint64
	Camera     keys.Address
	Epoch      uint64
	Owner      keys.Address
	EVMChainID uint64
	Viewers    []viewerState
	Keys       []keyState
}

var (
	stateEnc = canon.EncMode()
	stateDec = canon.DecMode(4, MaxViewers+1)
)

func less(a, b keys.Address) bool { return bytes.Compare(a[:], b[:]) < 0 }

// Encode returns the Set's state.
func (s *Set) Encode() ([]byte, error) {
	st := setState{Version: StateVersion, Camera: s.Camera, Epoch: s.Epoch, Owner: s.Owner, EVMChainID: s.EVMChainID,
		Viewers: []viewerState{}, Keys: []keyState{}}
	for a, v := range s.viewers {
		vs := viewerState{Account: a, ValidUntil: v.validUntil, HistoryFrom: v.historyFrom, Expiry: v.expiry}
		if v.revoke {
			vs.Revoke = 1
		}
		st.Viewers = append(st.Viewers, vs)
	}
	for a, k := range s.keys {
		st.Keys = append(st.Keys, keyState{Account: a, Expiry: k.expiry, PublicKey: k.key.Bytes()})
	}
	sort.Slice(st.Viewers, func(i, j int) bool { return less(st.Viewers[i].Account, st.Viewers[j].Account) })
	sort.Slice(st.Keys, func(i, j int) bool { return less(st.Keys[i].Account, st.Keys[j].Account) })
	return stateEnc.Marshal(st)
}

// DecodeSet reads a state Encode wrote, strictly: canonical bytes only, the
// known version, at most MaxViewers viewers, accounts ascending and once,
// revokes without terms, keys that are X-Wing keys of the owner or of a
// listed viewer.
func DecodeSet(b []byte) (*Set, error) {
	if len(b) > MaxStateBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrState, len(b), MaxStateBytes)
	}
	var st setState
	if err := stateDec.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrState, err)
	}
	if st.Version != StateVersion {
		return nil, fmt.Errorf("%w: version %d", ErrState, st.Version)
	}
	if len(st.Viewers) > MaxViewers || len(st.Keys) > MaxViewers+1 {
		return nil, fmt.Errorf("%w: %d viewers, %d keys", ErrState, len(st.Viewers), len(st.Keys))
	}
	s := &Set{Camera: st.Camera, Epoch: st.Epoch, Owner: st.Owner, EVMChainID: st.EVMChainID,
		viewers: map[keys.Address]statement{}, keys: map[keys.Address]keyStatement{}}
	for i, v := range st.Viewers {
		if i > 0 && !less(st.Viewers[i-1].Account, v.Account) {
			return nil, fmt.Errorf("%w: viewers not in ascending order", ErrState)
		}
		if v.Revoke > 1 || (v.Revoke == 1 && (v.ValidUntil != 0 || v.HistoryFrom != 0)) {
			return nil, fmt.Errorf("%w: viewer %s's statement", ErrState, v.Account.Hex())
		}
		s.viewers[v.Account] = statement{revoke: v.Revoke == 1, validUntil: v.ValidUntil, historyFrom: v.HistoryFrom, expiry: v.Expiry}
	}
	for i, k := range st.Keys {
		if i > 0 && !less(st.Keys[i-1].Account, k.Account) {
			return nil, fmt.Errorf("%w: keys not in ascending order", ErrState)
		}
		if _, named := s.viewers[k.Account]; !named && k.Account != s.Owner {
			return nil, fmt.Errorf("%w: a key of %s, neither the owner nor a viewer", ErrState, k.Account.Hex())
		}
		pub, err := e2ee.ParsePublicKey(k.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrState, err)
		}
		s.keys[k.Account] = keyStatement{key: pub, expiry: k.Expiry}
	}
	if again, err := s.Encode(); err != nil || !bytes.Equal(again, b) {
		return nil, fmt.Errorf("%w: not in canonical form", ErrState)
	}
	return s, nil
}
