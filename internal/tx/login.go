package tx

import (
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// LoginBatch commits, signed by a hub, the RFC 6962 Merkle root of the
// login records that hub kept over [PeriodStart, PeriodEnd) (docs/SPEC.md
// §11.7): one transaction per interval however many logins, refusals or
// attackers there were, so the ledger grows with time only. Seq numbers the
// hub's batches from 0 without gaps; Size is how many records the tree has
// (0 when the interval had only Unverified refusals, whose signatures did
// not verify and which are counted, never recorded one by one).
type LoginBatch struct {
	_           struct{} `cbor:",toarray"`
	Hub         keys.Address
	Seq         uint64
	PeriodStart uint64
	PeriodEnd   uint64
	Size        uint64
	Root        feedchain.Hash
	Unverified  uint64
	Nonce       uint64
	Expiry      uint64
}

// LoginPolicy is the rule an owner sets for logins to its own address
// (docs/SPEC.md §11.11). With Approval = ApprovalRequired, a new client of
// Account gets access only once an enrolled client approves it (or the
// owner's wallet-signed override, which is loudly audited).
type LoginPolicy struct {
	_        struct{} `cbor:",toarray"`
	Account  keys.Address
	Approval uint64
	Nonce    uint64
	Expiry   uint64
}

// The values of LoginPolicy.Approval.
const (
	ApprovalWallet   = 0 // the wallet's signature is enough (the default)
	ApprovalRequired = 1 // a new client also needs an enrolled client's approval
)

func (*LoginBatch) Type() Type  { return TypeLoginBatch }
func (*LoginPolicy) Type() Type { return TypeLoginPolicy }

func (m *LoginBatch) Replay() (uint64, uint64)  { return m.Nonce, m.Expiry }
func (m *LoginPolicy) Replay() (uint64, uint64) { return m.Nonce, m.Expiry }

func (m *LoginBatch) fields() []field {
	return []field{addr("hub", m.Hub), u64("seq", m.Seq), u64("periodStart", m.PeriodStart), u64("periodEnd", m.PeriodEnd),
		u64("size", m.Size), b32("root", m.Root), u64("unverified", m.Unverified),
		u64("nonce", m.Nonce), u64("expiry", m.Expiry)}
}

func (m *LoginPolicy) fields() []field {
	return []field{addr("account", m.Account), u64("approval", m.Approval), u64("nonce", m.Nonce), u64("expiry", m.Expiry)}
}
