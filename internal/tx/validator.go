package tx

import (
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// TypeSetValidator is a validator's vote to change the ledger's validator
// set (docs/SPEC.md §2.2, §3.6).
const TypeSetValidator Type = "SetValidator"

// SetValidator is one vote, signed by the hub key of a validator of the
// current set, for one change of the set: the validator of Hub, whose
// CometBFT key is the ed25519 public key ValidatorKey, gets voting power
// Power (0 removes it). SetEpoch names the set the vote is cast in (the
// number of changes applied since genesis): a vote counts only in that set,
// so no vote outlives a change. Votes for the same (Hub, ValidatorKey,
// Power, SetEpoch) are one proposal; the change applies once the voters
// hold more than two thirds of the set's voting power.
type SetValidator struct {
	_            struct{} `cbor:",toarray"`
	Hub          keys.Address
	ValidatorKey [32]byte
	Power        uint64
	SetEpoch     uint64
	Nonce        uint64
	Expiry       uint64
}

// MaxValidatorPower bounds one validator's voting power; with at most 100
// validators the total stays far below CometBFT's MaxTotalVotingPower.
const MaxValidatorPower = 1_000_000

func (*SetValidator) Type() Type                 { return TypeSetValidator }
func (m *SetValidator) Replay() (uint64, uint64) { return m.Nonce, m.Expiry }

func (m *SetValidator) fields() []field {
	return []field{addr("hub", m.Hub), b32("validatorKey", feedchain.Hash(m.ValidatorKey)), u64("power", m.Power),
		u64("setEpoch", m.SetEpoch), u64("nonce", m.Nonce), u64("expiry", m.Expiry)}
}
