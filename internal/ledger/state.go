package ledger

import (
	"encoding/binary"
	"fmt"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/canon"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// MaxGrantsPerCamera bounds the viewer list kept in a device record.
const MaxGrantsPerCamera = 64

// ClockSkew is how far ahead of the block time a hub's or camera's own
// timestamps (audit At, checkpoint PeriodEnd) may be.
const ClockSkew = 300 // seconds

// Device is the ledger's record of one camera. Values are stored as
// canonical CBOR arrays; the field order is part of the app-hash format.
type Device struct {
	_                struct{} `cbor:",toarray"`
	Camera           keys.Address
	Owner            keys.Address // zero: unowned, imprintable
	Hub              keys.Address // zero: not bound
	Epoch            uint64       // bumped by every reset and release
	ImprintedAt      uint64       // block time of the current imprint
	CheckpointPeriod uint64       // seconds; 0 means tx.DefaultCheckpointPeriod
	Grants           []GrantRecord
	Checkpoints      uint64         // number of checkpoints in this epoch
	LastSeq          uint64         // LastSeq of the latest checkpoint in this epoch
	LastPeriodEnd    uint64         // PeriodEnd of the latest checkpoint in this epoch
	LastRoot         feedchain.Hash // Root of the latest checkpoint in this epoch
}

// Owned reports whether the camera has an owner.
func (d *Device) Owned() bool { return d.Owner != (keys.Address{}) }

// Period returns the effective checkpoint period in seconds.
func (d *Device) Period() uint64 {
	if d.CheckpointPeriod == 0 {
		return uint64(tx.DefaultCheckpointPeriod.Seconds())
	}
	return d.CheckpointPeriod
}

// GrantRecord is one viewer's access to a camera in the device's epoch.
type GrantRecord struct {
	_           struct{} `cbor:",toarray"`
	Viewer      keys.Address
	ValidUntil  uint64 // 0: until revoked
	HistoryFrom uint64 // 0: all history
	GrantedAt   uint64
}

// Active reports whether the grant is in force at Unix time now.
func (g GrantRecord) Active(now uint64) bool { return g.ValidUntil == 0 || now < g.ValidUntil }

// CheckpointRecord is a committed checkpoint with where it landed.
type CheckpointRecord struct {
	_           struct{} `cbor:",toarray"`
	Msg         tx.Checkpoint
	Height      uint64
	Time        uint64
	TxHash      feedchain.Hash
	Index       uint64 // 0-based position among this epoch's checkpoints
	PrevTreeLen uint64 // TreeSize of the previous checkpoint in the epoch, 0 if first
}

// Event is one audit-log entry. Its kind's namespace says who wrote it
// (audit.Kind.Source): the ledger, a hub, or a camera through its hub.
type Event struct {
	_       struct{} `cbor:",toarray"`
	Seq     uint64   // global, gap-free, from 1
	Height  uint64
	Time    uint64 // block time
	Kind    audit.Kind
	Camera  keys.Address // zero if the event concerns no camera
	Actor   keys.Address // who did it: the signer, or for a filed event its author (the hub, or the camera for its alarm)
	Owner   keys.Address // the camera's owner when it happened, if any
	Hub     keys.Address // the hub that filed it, for hub-signed events
	Subject keys.Address // for a hub event, the principal the hub says it concerns (the hub's word); else zero
	Detail  string
	TxHash  feedchain.Hash
}

// Key layout. Every key starts with a short ASCII prefix naming its table.
var (
	keyMetaHeight   = []byte("meta/height")
	keyMetaAppHash  = []byte("meta/apphash")
	keyMetaChain    = []byte("meta/chain")
	keyMetaAuditSeq = []byte("meta/auditseq")
	prefixDevice    = []byte("dev/")   // dev/<camera> → Device
	prefixOwner     = []byte("own/")   // own/<owner>/<camera> → empty
	prefixHub       = []byte("hub/")   // hub/<hub> → empty (registered hubs)
	prefixNonce     = []byte("nonce/") // nonce/<signer>/<nonce> → expiry ‖ hash of the tx that spent it
	prefixNonceExp  = []byte("nexp/")  // nexp/<expiry>/<signer>/<nonce> → empty
	prefixCkpt      = []byte("ckpt/")  // ckpt/<camera>/<epoch>/<index> → CheckpointRecord
	prefixEvent     = []byte("ev/")    // ev/<seq> → Event
	prefixEvCamera  = []byte("evc/")   // evc/<camera>/<seq> → empty
	prefixEvPrinc   = []byte("evp/")   // evp/<principal>/<seq> → empty (actor and owner)
)

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func cat(parts ...[]byte) []byte {
	var n int
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func deviceKey(c keys.Address) []byte          { return cat(prefixDevice, c[:]) }
func ownerKey(o, c keys.Address) []byte        { return cat(prefixOwner, o[:], c[:]) }
func hubKey(h keys.Address) []byte             { return cat(prefixHub, h[:]) }
func nonceKey(s keys.Address, n uint64) []byte { return cat(prefixNonce, s[:], be64(n)) }
func nonceExpKey(e uint64, s keys.Address, n uint64) []byte {
	return cat(prefixNonceExp, be64(e), s[:], be64(n))
}
func ckptKey(c keys.Address, epoch, index uint64) []byte {
	return cat(prefixCkpt, c[:], be64(epoch), be64(index))
}
func eventKey(seq uint64) []byte                    { return cat(prefixEvent, be64(seq)) }
func evCameraKey(c keys.Address, seq uint64) []byte { return cat(prefixEvCamera, c[:], be64(seq)) }
func evPrincKey(p keys.Address, seq uint64) []byte  { return cat(prefixEvPrinc, p[:], be64(seq)) }

var (
	stateEnc = canon.EncMode()
	stateDec = canon.DecMode(8, 1<<16)
)

func encodeValue(v any) []byte {
	b, err := stateEnc.Marshal(v)
	if err != nil {
		// Only reachable with a programming error (an unencodable type).
		panic(fmt.Sprintf("ledger: encode %T: %v", v, err))
	}
	return b
}

func decodeValue(b []byte, v any) error {
	if err := stateDec.Unmarshal(b, v); err != nil {
		return fmt.Errorf("ledger: corrupt %T in state: %w", v, err)
	}
	return nil
}
