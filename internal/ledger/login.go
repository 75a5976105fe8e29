package ledger

import (
	"bytes"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// The login transactions (docs/SPEC.md §11.7, §11.11): a hub's batches of
// login records, and an owner's login policy.

// MaxLoginBatchSize caps the records one LoginBatch may commit: the hub
// stops recording (and only counts) past it within an interval.
const MaxLoginBatchSize = 1 << 20

// LoginBatchHead is a hub's progress: how many batches it committed, and
// where the last one ended.
type LoginBatchHead struct {
	_             struct{} `cbor:",toarray"`
	Batches       uint64   // the next batch's Seq
	LastPeriodEnd uint64
}

// LoginBatchRecord is a committed LoginBatch with where it landed.
type LoginBatchRecord struct {
	_      struct{} `cbor:",toarray"`
	Msg    tx.LoginBatch
	Height uint64
	Time   uint64
	TxHash feedchain.Hash
}

// LoginPolicyRecord is an address's login policy as the ledger keeps it.
type LoginPolicyRecord struct {
	_        struct{} `cbor:",toarray"`
	Account  keys.Address
	Approval uint64 // tx.ApprovalWallet or tx.ApprovalRequired
	Height   uint64
	Time     uint64
	TxHash   feedchain.Hash
}

// RequiresApproval reports whether a new client needs an enrolled client's
// approval.
func (p *LoginPolicyRecord) RequiresApproval() bool {
	return p != nil && p.Approval == tx.ApprovalRequired
}

var (
	prefixLoginHead   = []byte("lbh/")  // lbh/<hub> → LoginBatchHead
	prefixLoginBatch  = []byte("lbat/") // lbat/<hub>/<seq> → LoginBatchRecord
	prefixLoginPolicy = []byte("lpol/") // lpol/<account> → LoginPolicyRecord
)

func loginHeadKey(h keys.Address) []byte              { return cat(prefixLoginHead, h[:]) }
func loginBatchKey(h keys.Address, seq uint64) []byte { return cat(prefixLoginBatch, h[:], be64(seq)) }
func loginPolicyKey(a keys.Address) []byte            { return cat(prefixLoginPolicy, a[:]) }

func execLoginBatch(j *txn, m *tx.LoginBatch, signer keys.Address, blk blockCtx) (*Refusal, error) {
	if signer != m.Hub {
		return refuse(CodeUnauthorized, "a login batch must be signed by the hub it names (%s), not %s", m.Hub.Hex(), signer.Hex()), nil
	}
	ok, err := j.isHub(m.Hub)
	if err != nil {
		return nil, err
	}
	if !ok {
		return refuse(CodeUnauthorized, "%s is not a registered hub", m.Hub.Hex()), nil
	}
	var head LoginBatchHead
	if b, err := j.get(loginHeadKey(m.Hub)); err != nil {
		return nil, err
	} else if b != nil {
		if err := decodeValue(b, &head); err != nil {
			return nil, err
		}
	}
	switch {
	case m.Seq < head.Batches:
		return refuse(CodeConflict, "login batch %d of hub %s is already committed (next is %d)", m.Seq, m.Hub.Hex(), head.Batches), nil
	case m.Seq > head.Batches:
		return refuse(CodeInvalid, "login batch %d skips ahead: hub %s's next batch is %d", m.Seq, m.Hub.Hex(), head.Batches), nil
	case m.PeriodStart >= m.PeriodEnd:
		return refuse(CodeInvalid, "period start %d is not before period end %d", m.PeriodStart, m.PeriodEnd), nil
	case m.PeriodEnd > blk.time+ClockSkew:
		return refuse(CodeFuture, "period end %s is more than %ds after the block time %s", unixUTC(m.PeriodEnd), ClockSkew, unixUTC(blk.time)), nil
	case head.Batches > 0 && m.PeriodStart < head.LastPeriodEnd:
		return refuse(CodeInvalid, "period starts at %s, before the previous batch's end %s", unixUTC(m.PeriodStart), unixUTC(head.LastPeriodEnd)), nil
	case m.Size > MaxLoginBatchSize:
		return refuse(CodeInvalid, "batch of %d records is over the limit of %d", m.Size, MaxLoginBatchSize), nil
	case m.Size == 0 && m.Unverified == 0:
		return refuse(CodeInvalid, "an interval without records has no batch"), nil
	case m.Size == 0 && m.Root != checkpoint.Root(nil):
		return refuse(CodeInvalid, "a batch of no records has the empty tree's root"), nil
	case m.Size > 0 && m.Root == (feedchain.Hash{}):
		return refuse(CodeInvalid, "root must be set"), nil
	}
	j.set(loginBatchKey(m.Hub, m.Seq), encodeValue(&LoginBatchRecord{Msg: *m, Height: blk.height, Time: blk.time, TxHash: blk.txHash}))
	head.Batches, head.LastPeriodEnd = m.Seq+1, m.PeriodEnd
	j.set(loginHeadKey(m.Hub), encodeValue(&head))
	return nil, nil
}

func execLoginPolicy(j *txn, m *tx.LoginPolicy, signer keys.Address, blk blockCtx) (*Refusal, error) {
	if signer != m.Account {
		return refuse(CodeUnauthorized, "the login policy of %s must be signed by %s itself, not %s", m.Account.Hex(), m.Account.Hex(), signer.Hex()), nil
	}
	if m.Approval != tx.ApprovalWallet && m.Approval != tx.ApprovalRequired {
		return refuse(CodeInvalid, "approval %d: want %d (wallet) or %d (an enrolled client approves)", m.Approval, tx.ApprovalWallet, tx.ApprovalRequired), nil
	}
	// Only an owner of a camera keeps a policy on the ledger, so the state
	// this table takes is bounded by the cameras, not by who can make keys.
	owns, err := j.ownsAny(m.Account)
	if err != nil {
		return nil, err
	}
	if !owns {
		return refuse(CodeUnauthorized, "%s owns no camera: only an owner sets a login policy", m.Account.Hex()), nil
	}
	j.set(loginPolicyKey(m.Account), encodeValue(&LoginPolicyRecord{Account: m.Account, Approval: m.Approval,
		Height: blk.height, Time: blk.time, TxHash: blk.txHash}))
	detail := "new clients need the wallet only"
	if m.Approval == tx.ApprovalRequired {
		detail = "new clients need the wallet and an enrolled client's approval"
	}
	j.event(Event{Kind: audit.LoginPolicy, Actor: m.Account, Owner: m.Account, Detail: detail})
	return nil, nil
}

// ownsAny reports whether owner owns a camera in the state this
// transaction sees (committed, the block's or check state's pending
// writes, and its own).
func (t *txn) ownsAny(owner keys.Address) (bool, error) {
	prefix := cat(prefixOwner, owner[:])
	live := func(k string) (bool, error) {
		v, err := t.get([]byte(k))
		return v != nil, err
	}
	for _, m := range []map[string]change{t.writes, t.s.pending} {
		for k := range m {
			if !bytes.HasPrefix([]byte(k), prefix) {
				continue
			}
			if ok, err := live(k); err != nil || ok {
				return ok, err
			}
		}
	}
	found := false
	err := t.s.scan(prefix, false, func(k, _ []byte) (bool, error) {
		ok, err := live(string(k))
		found = ok
		return !ok && err == nil, err
	})
	return found, err
}

// LoginBatchHead returns hub's batch progress (zero before its first).
func (a *App) LoginBatchHead(hub keys.Address) (LoginBatchHead, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var h LoginBatchHead
	b, err := a.st.committed(loginHeadKey(hub))
	if err != nil || b == nil {
		return h, err
	}
	return h, decodeValue(b, &h)
}

// LoginBatch returns hub's committed batch seq, or nil.
func (a *App) LoginBatch(hub keys.Address, seq uint64) (*LoginBatchRecord, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	b, err := a.st.committed(loginBatchKey(hub, seq))
	if err != nil || b == nil {
		return nil, err
	}
	var r LoginBatchRecord
	if err := decodeValue(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// LoginPolicy returns account's login policy, or nil if it never set one.
func (a *App) LoginPolicy(account keys.Address) (*LoginPolicyRecord, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	b, err := a.st.committed(loginPolicyKey(account))
	if err != nil || b == nil {
		return nil, err
	}
	var r LoginPolicyRecord
	if err := decodeValue(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
