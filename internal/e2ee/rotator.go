package e2ee

import (
	"bytes"
	"fmt"
	"time"

	"github.com/camchain/camchain/internal/keys"
)

// Rotator is the camera's content-key schedule (docs/SPEC.md §17.2): it
// hands out the current content key for each segment, and draws a new one
// — wrapped to the recipients of that moment in a new signed Envelope —
// when there is none yet, when the period it began in has ended, or when
// the recipients differ from those the current key was wrapped to (a
// revoke, a grant, a viewing key replaced). Content keys are not kept
// past their use: a restarted camera starts a new one.
type Rotator struct {
	Signer keys.Signer // the camera's key
	Epoch  uint64
	Period time.Duration // the checkpoint period; a key never outlives the period it began in

	cur       *ContentKey
	curStart  time.Time
	curTo     string // the recipients the current key is wrapped to
	curPeriod int64
	serial    uint64
}

// Key returns the content key for a segment starting at t, and the
// Envelope of a key drawn now (nil when the current key goes on). The
// caller stores and sends the envelope before the first segment sealed
// under its key.
func (r *Rotator) Key(t time.Time, recipients []Recipient) (*ContentKey, *Envelope, error) {
	if r.Period <= 0 {
		return nil, nil, fmt.Errorf("rotator: no period")
	}
	to := recipientsKey(recipients)
	period := t.UnixNano() / int64(r.Period)
	if r.cur != nil && to == r.curTo && period == r.curPeriod && !t.Before(r.curStart) {
		return r.cur, nil, nil
	}
	r.serial++
	ck, err := NewContentKey(r.Signer.Address(), r.Epoch, r.serial)
	if err != nil {
		return nil, nil, err
	}
	env, err := ck.Wrap(recipients, r.Signer)
	if err != nil {
		return nil, nil, err
	}
	r.cur, r.curStart, r.curTo, r.curPeriod = ck, t, to, period
	return ck, env, nil
}

// Serial is the serial of the last key drawn (0 before the first).
func (r *Rotator) Serial() uint64 { return r.serial }

// SetSerial makes the next key drawn serial n+1 (a camera restarting
// within an epoch continues its numbering).
func (r *Rotator) SetSerial(n uint64) { r.serial = n }

// recipientsKey is a recipient set as a comparable string: accounts and
// key ids, ascending.
func recipientsKey(rs []Recipient) string {
	var parts [][]byte
	for _, r := range rs {
		id := r.Key.ID()
		parts = append(parts, append(append([]byte(nil), r.Account[:]...), id[:]...))
	}
	for i := 1; i < len(parts); i++ {
		for j := i; j > 0 && bytes.Compare(parts[j-1], parts[j]) > 0; j-- {
			parts[j-1], parts[j] = parts[j], parts[j-1]
		}
	}
	return string(bytes.Join(parts, nil))
}
