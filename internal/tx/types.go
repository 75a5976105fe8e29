package tx

import (
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// Type names a message type. It is also the EIP-712 primary type name.
type Type string

// The message types. The set is closed: a transaction of any other type is
// refused with ErrUnknownType.
const (
	TypeImprint    Type = "Imprint"
	TypeReset      Type = "Reset"
	TypeRelease    Type = "Release"
	TypeTransfer   Type = "Transfer"
	TypeBindHub    Type = "BindHub"
	TypeGrant      Type = "Grant"
	TypeRevoke     Type = "Revoke"
	TypeSetPolicy  Type = "SetPolicy"
	TypeCheckpoint Type = "Checkpoint"
	// TypeSubCheckpoint is a Checkpoint of the camera's sub stream's chain
	// (Checkpoint.Stream = feedchain.StreamSub): the same fields, its own
	// EIP-712 type, so no main-stream checkpoint's signature is one.
	TypeSubCheckpoint Type = "SubCheckpoint"
	TypeAudit         Type = "Audit"
	// TypeLoginBatch and TypeLoginPolicy are the login transactions
	// (login.go, docs/SPEC.md §11.7, §11.11).
	TypeLoginBatch  Type = "LoginBatch"
	TypeLoginPolicy Type = "LoginPolicy"
)

// Msg is one ledger action. Every message carries a nonce, unique per signer
// while the message is unexpired, and an expiry in Unix seconds.
type Msg interface {
	Type() Type
	// Replay returns the message's nonce and expiry.
	Replay() (nonce, expiry uint64)
	// fields lists the message's EIP-712 fields in struct order.
	fields() []field
}

// field is one EIP-712 struct member with its value.
type field struct {
	name, typ string
	value     any
}

func addr(name string, a keys.Address) field  { return field{name, "address", a} }
func u64(name string, v uint64) field         { return field{name, "uint64", uint256(v)} }
func b32(name string, h feedchain.Hash) field { return field{name, "bytes32", h[:]} }
func str(name, s string) field                { return field{name, "string", s} }
func bts(name string, b []byte) field         { return field{name, "bytes", append([]byte{}, b...)} }

// Imprint binds an unowned camera to its first owner and to a hub. It is
// co-signed: signature 0 by Owner, signature 1 by Camera. The camera's
// signature is the proof of physical access.
type Imprint struct {
	_      struct{} `cbor:",toarray"`
	Camera keys.Address
	Owner  keys.Address
	Hub    keys.Address // zero: no hub yet
	Epoch  uint64       // must equal the camera's current epoch
	Nonce  uint64
	Expiry uint64
}

// Reset is the duckling's death, signed by the camera itself (the physical
// reset button): owner, hub binding and grants are cleared and the epoch
// increases.
type Reset struct {
	_      struct{} `cbor:",toarray"`
	Camera keys.Address
	Epoch  uint64
	Nonce  uint64
	Expiry uint64
}

// Release is the owner giving a camera up: like Reset, but signed by the
// owner.
type Release struct {
	_      struct{} `cbor:",toarray"`
	Camera keys.Address
	Epoch  uint64
	Nonce  uint64
	Expiry uint64
}

// Transfer hands a camera to a new owner. Grants are cleared; the hub
// binding stays.
type Transfer struct {
	_        struct{} `cbor:",toarray"`
	Camera   keys.Address
	Epoch    uint64
	NewOwner keys.Address
	Nonce    uint64
	Expiry   uint64
}

// BindHub binds the camera to Hub, or unbinds it when Hub is zero. A camera
// is bound to one hub at a time: binding a bound camera to another hub is
// refused until it is unbound.
type BindHub struct {
	_      struct{} `cbor:",toarray"`
	Camera keys.Address
	Epoch  uint64
	Hub    keys.Address
	Nonce  uint64
	Expiry uint64
}

// Grant gives Viewer the viewer role on Camera. ValidUntil (Unix seconds, 0
// for no end) ends the grant; HistoryFrom (Unix seconds, 0 for all) is the
// earliest recording the viewer may see. A grant lives in the epoch it was
// made in and dies with it.
type Grant struct {
	_           struct{} `cbor:",toarray"`
	Camera      keys.Address
	Epoch       uint64
	Viewer      keys.Address
	ValidUntil  uint64
	HistoryFrom uint64
	Nonce       uint64
	Expiry      uint64
}

// Revoke ends Viewer's grant on Camera.
type Revoke struct {
	_      struct{} `cbor:",toarray"`
	Camera keys.Address
	Epoch  uint64
	Viewer keys.Address
	Nonce  uint64
	Expiry uint64
}

// SetPolicy sets the camera's checkpoint period in seconds.
type SetPolicy struct {
	_                struct{} `cbor:",toarray"`
	Camera           keys.Address
	Epoch            uint64
	CheckpointPeriod uint64
	Nonce            uint64
	Expiry           uint64
}

// Checkpoint commits, signed by the camera, the RFC 6962 Merkle root of the
// camera's feed-chain records 0…LastSeq of this epoch (TreeSize = LastSeq+1)
// at the end of the period [PeriodStart, PeriodEnd). FirstSeq is the first
// record of this period; ChainHead is the hash of record LastSeq.
// Consistency is the RFC 6962 consistency proof from the epoch's previous
// checkpoint's tree to this one (concatenated 32-byte hashes; empty for the
// first checkpoint of an epoch): the ledger refuses a checkpoint whose tree
// does not extend the previous one, so history cannot be rewritten.
type Checkpoint struct {
	_ struct{} `cbor:",toarray"`
	// Stream is the chain checkpointed: each stream of a camera is its own
	// chain with its own checkpoints (SPEC §6.3, §6.5). It is not a field
	// of the encoding: the message type says it (Checkpoint for the main
	// stream, SubCheckpoint for the sub stream), so a main checkpoint is
	// encoded and signed exactly as before streams had chains of their own.
	Stream      feedchain.Stream `cbor:"-"`
	Camera      keys.Address
	Epoch       uint64
	PeriodStart uint64
	PeriodEnd   uint64
	FirstSeq    uint64
	LastSeq     uint64
	TreeSize    uint64
	Root        feedchain.Hash
	ChainHead   feedchain.Hash
	Consistency []byte
	Nonce       uint64
	Expiry      uint64
}

// Audit records an event a hub witnessed (a pairing, its aggregated
// refusals, an alarm), signed by that hub. Kind is a "hub/" kind (the hub's
// own word) or a "camera/" kind (an alarm the camera raised); the ledger's
// own kinds cannot be filed. Camera may be zero for a hub-wide event; Actor
// is the principal a hub event is about (zero for none), and zero or the
// camera for a camera alarm.
type Audit struct {
	_      struct{} `cbor:",toarray"`
	Hub    keys.Address
	Camera keys.Address
	Kind   audit.Kind
	Actor  keys.Address
	Detail string
	At     uint64 // Unix seconds, when the hub saw it
	Nonce  uint64
	Expiry uint64
}

func (*Imprint) Type() Type   { return TypeImprint }
func (*Reset) Type() Type     { return TypeReset }
func (*Release) Type() Type   { return TypeRelease }
func (*Transfer) Type() Type  { return TypeTransfer }
func (*BindHub) Type() Type   { return TypeBindHub }
func (*Grant) Type() Type     { return TypeGrant }
func (*Revoke) Type() Type    { return TypeRevoke }
func (*SetPolicy) Type() Type { return TypeSetPolicy }
func (m *Checkpoint) Type() Type {
	if m.Stream == feedchain.StreamSub {
		return TypeSubCheckpoint
	}
	return TypeCheckpoint
}
func (*Audit) Type() Type { return TypeAudit }

func (m *Imprint) Replay() (uint64, uint64)    { return m.Nonce, m.Expiry }
func (m *Reset) Replay() (uint64, uint64)      { return m.Nonce, m.Expiry }
func (m *Release) Replay() (uint64, uint64)    { return m.Nonce, m.Expiry }
func (m *Transfer) Replay() (uint64, uint64)   { return m.Nonce, m.Expiry }
func (m *BindHub) Replay() (uint64, uint64)    { return m.Nonce, m.Expiry }
func (m *Grant) Replay() (uint64, uint64)      { return m.Nonce, m.Expiry }
func (m *Revoke) Replay() (uint64, uint64)     { return m.Nonce, m.Expiry }
func (m *SetPolicy) Replay() (uint64, uint64)  { return m.Nonce, m.Expiry }
func (m *Checkpoint) Replay() (uint64, uint64) { return m.Nonce, m.Expiry }
func (m *Audit) Replay() (uint64, uint64)      { return m.Nonce, m.Expiry }

func (m *Imprint) fields() []field {
	return []field{addr("camera", m.Camera), addr("owner", m.Owner), addr("hub", m.Hub),
		u64("epoch", m.Epoch), u64("nonce", m.Nonce), u64("expiry", m.Expiry)}
}

func (m *Reset) fields() []field {
	return []field{addr("camera", m.Camera), u64("epoch", m.Epoch), u64("nonce", m.Nonce), u64("expiry", m.Expiry)}
}

func (m *Release) fields() []field {
	return []field{addr("camera", m.Camera), u64("epoch", m.Epoch), u64("nonce", m.Nonce), u64("expiry", m.Expiry)}
}

func (m *Transfer) fields() []field {
	return []field{addr("camera", m.Camera), u64("epoch", m.Epoch), addr("newOwner", m.NewOwner),
		u64("nonce", m.Nonce), u64("expiry", m.Expiry)}
}

func (m *BindHub) fields() []field {
	return []field{addr("camera", m.Camera), u64("epoch", m.Epoch), addr("hub", m.Hub),
		u64("nonce", m.Nonce), u64("expiry", m.Expiry)}
}

func (m *Grant) fields() []field {
	return []field{addr("camera", m.Camera), u64("epoch", m.Epoch), addr("viewer", m.Viewer),
		u64("validUntil", m.ValidUntil), u64("historyFrom", m.HistoryFrom),
		u64("nonce", m.Nonce), u64("expiry", m.Expiry)}
}

func (m *Revoke) fields() []field {
	return []field{addr("camera", m.Camera), u64("epoch", m.Epoch), addr("viewer", m.Viewer),
		u64("nonce", m.Nonce), u64("expiry", m.Expiry)}
}

func (m *SetPolicy) fields() []field {
	return []field{addr("camera", m.Camera), u64("epoch", m.Epoch), u64("checkpointPeriod", m.CheckpointPeriod),
		u64("nonce", m.Nonce), u64("expiry", m.Expiry)}
}

func (m *Checkpoint) fields() []field {
	return []field{addr("camera", m.Camera), u64("epoch", m.Epoch),
		u64("periodStart", m.PeriodStart), u64("periodEnd", m.PeriodEnd),
		u64("firstSeq", m.FirstSeq), u64("lastSeq", m.LastSeq), u64("treeSize", m.TreeSize),
		b32("root", m.Root), b32("chainHead", m.ChainHead), bts("consistency", m.Consistency),
		u64("nonce", m.Nonce), u64("expiry", m.Expiry)}
}

func (m *Audit) fields() []field {
	return []field{addr("hub", m.Hub), addr("camera", m.Camera), str("kind", string(m.Kind)),
		addr("actor", m.Actor), str("detail", m.Detail), u64("at", m.At),
		u64("nonce", m.Nonce), u64("expiry", m.Expiry)}
}

// newMsg returns an empty message of type t, or nil for an unknown type.
func newMsg(t Type) Msg {
	switch t {
	case TypeImprint:
		return new(Imprint)
	case TypeReset:
		return new(Reset)
	case TypeRelease:
		return new(Release)
	case TypeTransfer:
		return new(Transfer)
	case TypeBindHub:
		return new(BindHub)
	case TypeGrant:
		return new(Grant)
	case TypeRevoke:
		return new(Revoke)
	case TypeSetPolicy:
		return new(SetPolicy)
	case TypeCheckpoint:
		return new(Checkpoint)
	case TypeSubCheckpoint:
		return &Checkpoint{Stream: feedchain.StreamSub}
	case TypeAudit:
		return new(Audit)
	case TypeLoginBatch:
		return new(LoginBatch)
	case TypeLoginPolicy:
		return new(LoginPolicy)
	case TypeRetention:
		return new(Retention)
	case TypeLegalHold:
		return new(LegalHold)
	case TypeSetValidator:
		return new(SetValidator)
	case TypeViewingKey:
		return new(ViewingKey)
	case TypeEncryption:
		return new(Encryption)
	}
	return nil
}

// AllTypes lists every message type, in the order of docs/SPEC.md.
func AllTypes() []Type {
	return []Type{TypeImprint, TypeReset, TypeRelease, TypeTransfer, TypeBindHub,
		TypeGrant, TypeRevoke, TypeSetPolicy, TypeCheckpoint, TypeAudit, TypeLoginBatch, TypeLoginPolicy, TypeRetention, TypeSubCheckpoint, TypeLegalHold, TypeSetValidator, TypeViewingKey, TypeEncryption}
}

// SignerCount is how many signatures a message of type t carries.
func SignerCount(t Type) int {
	if t == TypeImprint {
		return 2
	}
	return 1
}

// CameraOf returns the camera a message concerns (zero for an Audit about
// no camera, and for the login and viewing-key transactions, which concern
// none).
func CameraOf(m Msg) keys.Address {
	switch m := m.(type) {
	case *Imprint:
		return m.Camera
	case *Reset:
		return m.Camera
	case *Release:
		return m.Camera
	case *Transfer:
		return m.Camera
	case *BindHub:
		return m.Camera
	case *Grant:
		return m.Camera
	case *Revoke:
		return m.Camera
	case *SetPolicy:
		return m.Camera
	case *Checkpoint:
		return m.Camera
	case *Audit:
		return m.Camera
	case *Retention:
		return m.Camera
	case *LegalHold:
		return m.Camera
	case *Encryption:
		return m.Camera
	}
	return keys.Address{}
}
