package link

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// The owner's resync (SPEC §7.2): the legitimate way back for a hub that,
// restored from a backup, holds a stale chain secret and so looks exactly
// like a stale impostor.

// SignedResync is the owner-signed tx.Resync as it travels: from the
// owner's CLI to the hub's API, and in the Welcome to the camera.
type SignedResync struct {
	_   struct{} `cbor:",toarray"`
	Msg tx.Resync
	Sig keys.Signature // the owner's, over tx.Digest(chainID, Msg)
}

// Limits of a resync.
const (
	// MaxResyncBytes caps an encoded SignedResync.
	MaxResyncBytes = 256
	// MaxResyncTTL caps how far ahead a resync's expiry may lie: a resync
	// is used within minutes, and a short life bounds the set of nonces
	// the camera must remember.
	MaxResyncTTL = time.Hour
	// maxResyncMarks caps the spent resyncs the camera remembers.
	maxResyncMarks = 16
)

// LabelResyncSecret domain-separates the secret a resync sets.
const LabelResyncSecret = "camchain/v1/chain-secret-resync"

// ErrResync is a resync the camera does not accept.
var ErrResync = errors.New("link: resync refused")

// Marshal encodes the signed resync (canonical CBOR).
func (r *SignedResync) Marshal() ([]byte, error) { return encMode.Marshal(r) }

// ParseResync decodes a signed resync strictly, bounded before decoding.
func ParseResync(b []byte) (*SignedResync, error) {
	if len(b) == 0 || len(b) > MaxResyncBytes {
		return nil, fmt.Errorf("%w: %d bytes", ErrResync, len(b))
	}
	var r SignedResync
	if err := Decode(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrResync, err)
	}
	return &r, nil
}

// SignResync is the owner's side: sign m for the ledger chainID.
func SignResync(k keys.Signer, chainID uint64, m tx.Resync) (*SignedResync, error) {
	d, err := tx.Digest(chainID, &m)
	if err != nil {
		return nil, err
	}
	sig, err := k.SignDigest(d)
	if err != nil {
		return nil, err
	}
	return &SignedResync{Msg: m, Sig: sig}, nil
}

// ResyncMark is a spent resync the camera remembers until it expires.
type ResyncMark struct {
	_      struct{} `cbor:",toarray"`
	Nonce  uint64
	Expiry uint64
}

// ResyncContext is what the verifier of a resync knows for itself.
type ResyncContext struct {
	ChainID uint64       // the EIP-712 chain id of the camera's ledger
	Owner   keys.Address // the owner the camera imprinted on
	Camera  keys.Address
	Hub     keys.Address // the hub the camera pinned
	Epoch   uint64
	Now     time.Time
	Spent   []ResyncMark
}

// VerifyResync checks a resync against what the verifier knows itself —
// never the hub's word: signed by the imprinted owner, for this camera,
// this hub and this epoch, unexpired and not too far ahead, not spent.
func VerifyResync(c ResyncContext, r *SignedResync) error {
	m := &r.Msg
	now := uint64(c.Now.Unix())
	switch {
	case m.Camera != c.Camera:
		return fmt.Errorf("%w: it is for camera %s", ErrResync, m.Camera.Hex())
	case m.Hub != c.Hub:
		return fmt.Errorf("%w: it names hub %s, the camera's hub is %s", ErrResync, m.Hub.Hex(), c.Hub.Hex())
	case m.Epoch != c.Epoch:
		return fmt.Errorf("%w: it names epoch %d, the camera is in epoch %d", ErrResync, m.Epoch, c.Epoch)
	case m.Expiry <= now:
		return fmt.Errorf("%w: expired", ErrResync)
	case m.Expiry > now+uint64(MaxResyncTTL/time.Second):
		return fmt.Errorf("%w: expiry more than %s ahead", ErrResync, MaxResyncTTL)
	}
	for _, s := range c.Spent {
		if s.Nonce == m.Nonce {
			return fmt.Errorf("%w: already used (a replay)", ErrResync)
		}
	}
	d, err := tx.Digest(c.ChainID, m)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrResync, err)
	}
	if who, err := keys.Recover(d, r.Sig); err != nil || who != c.Owner {
		return fmt.Errorf("%w: not signed by the camera's owner %s", ErrResync, c.Owner.Hex())
	}
	return nil
}

// ResyncSecret is the chain secret a resync sets, from the session that
// delivers it: HMAC-SHA256(key = exporter, LabelResyncSecret ‖ 0x00 ‖
// the encoded SignedResync). Only the two ends of that session can compute
// it.
func ResyncSecret(exporter []byte, resync []byte) Secret {
	m := hmac.New(sha256.New, exporter)
	m.Write([]byte(LabelResyncSecret))
	m.Write([]byte{0})
	m.Write(resync)
	var out Secret
	m.Sum(out[:0])
	return out
}

// spend adds the resync to the spent marks, dropping expired ones.
func spend(marks []ResyncMark, m *tx.Resync, now time.Time) []ResyncMark {
	out := []ResyncMark{}
	for _, s := range marks {
		if s.Expiry > uint64(now.Unix()) {
			out = append(out, s)
		}
	}
	out = append(out, ResyncMark{Nonce: m.Nonce, Expiry: m.Expiry})
	if len(out) > maxResyncMarks {
		out = out[len(out)-maxResyncMarks:]
	}
	return out
}

// checkHubHead: the hub's head must be a record the camera made. During a
// resync the hub may be behind the camera's acknowledgement (its backup is
// older); the camera then backfills from its card.
func checkHubHead(own ChainView, hh feedchain.Head) error {
	if !hh.Valid {
		return nil
	}
	mine, ok := own.HashAt(hh.Seq)
	if !ok {
		return &DivergenceError{Reason: fmt.Sprintf("hub claims record #%d, which this camera never made", hh.Seq)}
	}
	if mine != hh.Hash {
		return &DivergenceError{Reason: fmt.Sprintf("hub's record #%d is %s, camera's is %s", hh.Seq, hh.Hash.Short(), mine.Short())}
	}
	return nil
}
