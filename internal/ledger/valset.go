package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// Changing the validator set (docs/SPEC.md §3.6). Only the validators
// change it: each vote is a SetValidator signed by the hub key of a
// validator of the current set; votes for the same change in the same set
// epoch form one proposal; the change applies in the block whose vote
// brings the voters' power above two thirds of the set's, and FinalizeBlock
// hands it to CometBFT as a ValidatorUpdate. A hub that is no validator (a
// full node, a camera's hub, anyone) is refused, and so is any minority:
// its votes stay an open proposal until the proposal lapses or the set
// changes.

// Limits of the open proposals.
const (
	// MaxOpenVotes is how many open proposals one validator may have
	// voted for: with it the proposal table stays below 4·|set| entries
	// and 4·|set| votes, however many votes a faulty validator signs.
	MaxOpenVotes = 4
	// ProposalTTL is how long (block time, seconds) a proposal stays open
	// after its first vote.
	ProposalTTL = 24 * 3600
)

var (
	// keyValEpoch counts the changes applied since genesis (absent: 0).
	keyValEpoch = []byte("meta/valepoch")
	// keyValProposals holds the open proposals, ordered by id.
	keyValProposals = []byte("meta/valprops")
)

// labelProposal domain-separates a proposal's id.
const labelProposal = "camchain/v1/validator-proposal"

// Proposal is one open change of the validator set and who voted for it.
type Proposal struct {
	_        struct{} `cbor:",toarray"`
	ID       [32]byte
	Hub      keys.Address
	PubKey   [ed25519.PubKeySize]byte
	Power    uint64
	SetEpoch uint64
	Opened   uint64         // block time of the first vote
	Voters   []keys.Address // ordered
}

// ProposalID is SHA-256(label ‖ hub ‖ key ‖ power ‖ setEpoch), powers and
// epoch as 8 bytes big-endian.
func ProposalID(hub keys.Address, key [32]byte, power, setEpoch uint64) [32]byte {
	h := sha256.New()
	h.Write([]byte(labelProposal))
	h.Write(hub[:])
	h.Write(key[:])
	h.Write(binary.BigEndian.AppendUint64(nil, power))
	h.Write(binary.BigEndian.AppendUint64(nil, setEpoch))
	var id [32]byte
	h.Sum(id[:0])
	return id
}

// ValidatorSet is the ledger's view of the validator set: the table, the
// number of changes applied, and the open proposals.
type ValidatorSet struct {
	Validators []Validator
	Epoch      uint64
	Proposals  []Proposal
}

// ValidatorSet returns the committed validator set and open proposals.
func (a *App) ValidatorSet() (ValidatorSet, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	r := committedReader{a.st}
	var vs ValidatorSet
	var err error
	if vs.Validators, err = readValidators(r); err != nil {
		return vs, err
	}
	if vs.Epoch, err = readValEpoch(r); err != nil {
		return vs, err
	}
	vs.Proposals, err = readProposals(r)
	return vs, err
}

func readValEpoch(r reader) (uint64, error) {
	b, err := r.get(keyValEpoch)
	if err != nil || b == nil {
		return 0, err
	}
	return be64u(b), nil
}

func readProposals(r reader) ([]Proposal, error) {
	b, err := r.get(keyValProposals)
	if err != nil || b == nil {
		return nil, err
	}
	var ps []Proposal
	if err := decodeValue(b, &ps); err != nil {
		return nil, err
	}
	return ps, nil
}

func findValidator(vs []Validator, hub keys.Address) int {
	return slices.IndexFunc(vs, func(v Validator) bool { return v.Hub == hub })
}

func execSetValidator(j *txn, m *tx.SetValidator, signer keys.Address, blk blockCtx) (*Refusal, error) {
	vs, err := readValidators(j)
	if err != nil {
		return nil, err
	}
	me := findValidator(vs, signer)
	if me < 0 {
		return refuse(CodeUnauthorized, "only a validator's hub votes on the validator set; %s is the hub of no validator", signer.Hex()), nil
	}
	epoch, err := readValEpoch(j)
	if err != nil {
		return nil, err
	}
	if m.SetEpoch != epoch {
		return refuse(CodeWrongEpoch, "vote names validator-set epoch %d, the set is in epoch %d", m.SetEpoch, epoch), nil
	}
	if r := checkChange(vs, m); r != nil {
		return r, nil
	}
	ps, err := readProposals(j)
	if err != nil {
		return nil, err
	}
	// Lapsed proposals go (and were cast in this epoch, or the list would
	// have been emptied by the change that ended it).
	ps = slices.DeleteFunc(ps, func(p Proposal) bool { return blk.time >= p.Opened+ProposalTTL })
	id := ProposalID(m.Hub, m.ValidatorKey, m.Power, m.SetEpoch)
	i := slices.IndexFunc(ps, func(p Proposal) bool { return p.ID == id })
	if i >= 0 && slices.Contains(ps[i].Voters, signer) {
		return refuse(CodeConflict, "hub %s already voted for this change", signer.Hex()), nil
	}
	mine := 0
	for _, p := range ps {
		if slices.Contains(p.Voters, signer) {
			mine++
		}
	}
	if mine >= MaxOpenVotes {
		return refuse(CodeConflict, "hub %s already has votes in %d open proposals, the limit", signer.Hex(), MaxOpenVotes), nil
	}
	if i < 0 {
		ps = append(ps, Proposal{ID: id, Hub: m.Hub, PubKey: m.ValidatorKey, Power: m.Power, SetEpoch: m.SetEpoch, Opened: blk.time})
		slices.SortFunc(ps, func(a, b Proposal) int { return bytes.Compare(a.ID[:], b.ID[:]) })
		i = slices.IndexFunc(ps, func(p Proposal) bool { return p.ID == id })
	}
	p := &ps[i]
	p.Voters = append(p.Voters, signer)
	slices.SortFunc(p.Voters, func(a, b keys.Address) int { return bytes.Compare(a[:], b[:]) })
	var total, approved uint64
	for _, v := range vs {
		total += v.Power
		if slices.Contains(p.Voters, v.Hub) {
			approved += v.Power
		}
	}
	change := describeChange(m)
	j.event(Event{Kind: audit.ValidatorVote, Actor: signer, Subject: m.Hub, Hub: signer,
		Detail: fmt.Sprintf("%s; votes %d of %d power, epoch %d", change, approved, total, epoch)})
	if 3*approved <= 2*total {
		j.set(keyValProposals, encodeValue(ps))
		return nil, nil
	}
	// More than two thirds: the change applies. Every other open proposal
	// was counted against the old set and goes with it.
	k := findValidator(vs, m.Hub)
	switch {
	case m.Power == 0:
		vs = slices.Delete(vs, k, k+1)
	case k >= 0:
		vs[k].Power = m.Power
	default:
		vs = append(vs, Validator{Hub: m.Hub, PubKey: m.ValidatorKey, Power: m.Power})
		sortValidators(vs)
		j.set(hubKey(m.Hub), []byte{}) // a validator's hub is a registered hub
	}
	j.set(keyValidators, encodeValue(vs))
	j.set(keyValEpoch, be64(epoch+1))
	j.del(keyValProposals)
	j.event(Event{Kind: audit.ValidatorSet, Actor: signer, Subject: m.Hub, Hub: signer,
		Detail: fmt.Sprintf("%s; approved by %d of %d power; epoch %d -> %d", change, approved, total, epoch, epoch+1)})
	return nil, nil
}

// checkChange refuses a change the current set cannot take.
func checkChange(vs []Validator, m *tx.SetValidator) *Refusal {
	if m.Hub == (keys.Address{}) {
		return refuse(CodeInvalid, "a validator belongs to a hub: hub must be non-zero")
	}
	if m.ValidatorKey == ([32]byte{}) {
		return refuse(CodeInvalid, "validator key must be an ed25519 public key, not zero")
	}
	if m.Power > tx.MaxValidatorPower {
		return refuse(CodeInvalid, "power %d is over the limit %d", m.Power, tx.MaxValidatorPower)
	}
	k := findValidator(vs, m.Hub)
	if m.Power == 0 {
		if k < 0 || vs[k].PubKey != m.ValidatorKey {
			return refuse(CodeNotFound, "hub %s has no validator with key %X to remove", m.Hub.Hex(), m.ValidatorKey)
		}
		if len(vs) == 1 {
			return refuse(CodeConflict, "hub %s holds the last validator; the set cannot be empty", m.Hub.Hex())
		}
		return nil
	}
	for _, v := range vs {
		if v.PubKey == m.ValidatorKey && v.Hub != m.Hub {
			return refuse(CodeConflict, "validator key %X is hub %s's", m.ValidatorKey, v.Hub.Hex())
		}
	}
	if k >= 0 {
		if vs[k].PubKey != m.ValidatorKey {
			return refuse(CodeConflict, "hub %s's validator has another key: remove it first", m.Hub.Hex())
		}
		if vs[k].Power == m.Power {
			return refuse(CodeConflict, "hub %s's validator already has power %d", m.Hub.Hex(), m.Power)
		}
		return nil
	}
	if len(vs) >= MaxValidators {
		return refuse(CodeConflict, "the set already has %d validators, the limit", MaxValidators)
	}
	return nil
}

func describeChange(m *tx.SetValidator) string {
	if m.Power == 0 {
		return fmt.Sprintf("remove hub %s's validator %X", m.Hub.Hex(), m.ValidatorKey)
	}
	return fmt.Sprintf("hub %s's validator %X to power %d", m.Hub.Hex(), m.ValidatorKey, m.Power)
}

// validatorUpdates is what the block changed in the validator table, as
// CometBFT's updates: a removed key at power 0, a new or changed one at
// its power. The table is compared before and after the block, so the
// updates are exactly the changes the ledger applied.
func validatorUpdates(before, after []Validator) []abci.ValidatorUpdate {
	var out []abci.ValidatorUpdate
	power := func(vs []Validator, key [32]byte) (uint64, bool) {
		for _, v := range vs {
			if v.PubKey == key {
				return v.Power, true
			}
		}
		return 0, false
	}
	for _, v := range before {
		if _, ok := power(after, v.PubKey); !ok {
			out = append(out, abci.ValidatorUpdate{PubKeyType: ed25519.KeyType, PubKeyBytes: bytes.Clone(v.PubKey[:]), Power: 0})
		}
	}
	for _, v := range after {
		if p, ok := power(before, v.PubKey); !ok || p != v.Power {
			out = append(out, abci.ValidatorUpdate{PubKeyType: ed25519.KeyType, PubKeyBytes: bytes.Clone(v.PubKey[:]), Power: int64(v.Power)})
		}
	}
	return out
}
