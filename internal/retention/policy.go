package retention

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// DefaultHubRetention is how long a hub keeps recordings when the owner
// set no policy (`camchaind run --retention`'s default). A verifier assumes
// it before the owner's first Retention: a hub that runs a shorter
// --retention without the owner's signed policy deletes early.
const DefaultHubRetention = 30 * 24 * time.Hour

// ErrOtherChain: a Retention of another camera or epoch (a camera's audit
// events list every epoch's).
var ErrOtherChain = errors.New("not this chain's")

// PolicyChange is one change of the owner's retention policy for the
// hub's copy (tx.Retention): Days applies from From (its block time).
type PolicyChange struct {
	Days uint64
	From time.Time
}

func (p PolicyChange) age() time.Duration { return time.Duration(p.Days) * 24 * time.Hour }

// Allowed reports whether the policy let a segment that ended at end be
// deleted at some moment up to now: whether, for some t ≤ now, t − end
// exceeded the retention in force at t (DefaultHubRetention before the
// first change). changes must be in order. The hub deletes only what this
// allows (SPEC §14.2), so a verifier that finds a segment gone which this
// does not allow has found a deletion outside retention.
func Allowed(changes []PolicyChange, end, now time.Time) bool {
	from, age := time.Time{}, DefaultHubRetention
	for _, c := range changes {
		if allowedIn(from, c.From, age, end) {
			return true
		}
		from, age = c.From, c.age()
	}
	return allowedIn(from, now.Add(time.Nanosecond), age, end)
}

// allowedIn reports whether some t in [from, to) has t > end + age.
func allowedIn(from, to time.Time, age time.Duration, end time.Time) bool {
	t := end.Add(age).Add(time.Nanosecond) // the first moment past the age
	if t.Before(from) {
		t = from
	}
	return t.Before(to)
}

// PolicyChangeOf checks one Retention transaction as the ledger lists it
// and returns the change it made: raw must hash to txHash, decode strictly,
// be a Retention for camera and epoch, and be signed by owner (the camera's
// owner when it landed, as the hub reports it); at is its block time.
func PolicyChangeOf(raw []byte, txHash feedchain.Hash, camera keys.Address, epoch uint64, owner keys.Address, at time.Time) (PolicyChange, error) {
	if feedchain.Hash(sha256.Sum256(raw)) != txHash {
		return PolicyChange{}, fmt.Errorf("retention policy %s: the transaction's bytes do not hash to it", txHash.Short())
	}
	t, err := tx.Decode(raw)
	if err != nil {
		return PolicyChange{}, fmt.Errorf("retention policy %s: %w", txHash.Short(), err)
	}
	m, ok := t.Msg.(*tx.Retention)
	if !ok {
		return PolicyChange{}, fmt.Errorf("retention policy %s: a %s transaction, not a Retention", txHash.Short(), t.Msg.Type())
	}
	if m.Camera != camera || m.Epoch != epoch {
		return PolicyChange{}, fmt.Errorf("%w: retention policy %s: for camera %s epoch %d, not camera %s epoch %d", ErrOtherChain, txHash.Short(), m.Camera.Hex(), m.Epoch, camera.Hex(), epoch)
	}
	signers, err := t.Signers()
	if err != nil {
		return PolicyChange{}, fmt.Errorf("retention policy %s: %w", txHash.Short(), err)
	}
	if signers[0] != owner {
		return PolicyChange{}, fmt.Errorf("retention policy %s: signed by %s, not the owner %s", txHash.Short(), signers[0].Hex(), owner.Hex())
	}
	return PolicyChange{Days: m.Days, From: at}, nil
}
