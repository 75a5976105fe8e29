package integrations

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
)

// EventType says which path an event took.
type EventType string

const (
	// TypeAlarm: a security alarm (audit.Kind.IsAlarm), sent when the hub
	// records it, before it reaches the ledger.
	TypeAlarm EventType = "alarm"
	// TypeAudit: an audit event as the ledger committed it (every kind that
	// is not an alarm: pairings, grants, resets, refusal records, …).
	TypeAudit EventType = "audit"
)

// Event is one alarm or audit event as sinks receive it: the JSON body of a
// webhook and of the MQTT alarm/audit topics (docs/SPEC.md §13.1).
type Event struct {
	// ID is stable: the same event always has the same id, so receivers
	// drop duplicates by it. "alarm-<32 hex>" (AlarmID) or "audit-<seq>".
	ID     string       `json:"id"`
	Type   EventType    `json:"type"`
	Kind   audit.Kind   `json:"kind"`
	Source audit.Source `json:"source"`
	Hub    string       `json:"hub"`
	Camera string       `json:"camera,omitempty"`
	Detail string       `json:"detail,omitempty"`
	// At is when it happened, RFC 3339: for an alarm the time its raiser
	// gave (the hub's clock, or the camera's), for an audit event the
	// block time.
	At string `json:"at"`
	// Recorded is the hub's clock when it recorded the alarm (RFC 3339
	// with nanoseconds); empty for audit events.
	Recorded string `json:"recorded,omitempty"`
	// Ledger fields of an audit event.
	Seq     uint64 `json:"seq,omitempty"`
	Height  uint64 `json:"height,omitempty"`
	TxHash  string `json:"tx_hash,omitempty"`
	Actor   string `json:"actor,omitempty"`
	Owner   string `json:"owner,omitempty"`
	Subject string `json:"subject,omitempty"`
}

// alarmIDLabel separates alarm ids from every other hash in camchain.
const alarmIDLabel = "camchain/v1/integrations/alarm-id"

// AlarmID is the id of an alarm: the first 16 bytes of SHA-256 over
//
//	label ‖ 0x00 ‖ camera (20 bytes, zero for none) ‖ kind ‖ 0x00 ‖
//	detail ‖ 0x00 ‖ at (Unix seconds, uint64 big-endian)
//
// as "alarm-" and 32 hex digits. A resend of the same alarm (same camera,
// kind, detail and time: the rule the alarm log deduplicates by) has the
// same id.
func AlarmID(cam keys.Address, kind audit.Kind, detail string, at time.Time) string {
	h := sha256.New()
	h.Write([]byte(alarmIDLabel))
	h.Write([]byte{0})
	h.Write(cam[:])
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(detail))
	h.Write([]byte{0})
	var t [8]byte
	binary.BigEndian.PutUint64(t[:], uint64(max(at.Unix(), 0)))
	h.Write(t[:])
	return "alarm-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// AuditID is the id of the ledger's audit event seq.
func AuditID(seq uint64) string { return "audit-" + strconv.FormatUint(seq, 10) }

func hexOr(a keys.Address) string {
	if a == (keys.Address{}) {
		return ""
	}
	return a.Hex()
}

// NewAlarm is the event of an alarm the hub records at recorded.
func NewAlarm(hub, cam keys.Address, kind audit.Kind, detail string, at, recorded time.Time) Event {
	return Event{
		ID: AlarmID(cam, kind, detail, at), Type: TypeAlarm, Kind: kind, Source: kind.Source(),
		Hub: hub.Hex(), Camera: hexOr(cam), Detail: detail,
		At: at.UTC().Format(time.RFC3339), Recorded: recorded.UTC().Format(time.RFC3339Nano),
	}
}

// LedgerEvent is one committed audit event, as the hub hands it over.
type LedgerEvent struct {
	Seq, Height, Time             uint64
	Kind                          audit.Kind
	Camera, Actor, Owner, Subject keys.Address
	Detail                        string
	TxHash                        [32]byte
}

// NewAudit is the event of a committed audit event.
func NewAudit(hub keys.Address, e LedgerEvent) Event {
	return Event{
		ID: AuditID(e.Seq), Type: TypeAudit, Kind: e.Kind, Source: e.Kind.Source(),
		Hub: hub.Hex(), Camera: hexOr(e.Camera), Detail: e.Detail,
		At:  time.Unix(int64(e.Time), 0).UTC().Format(time.RFC3339),
		Seq: e.Seq, Height: e.Height, TxHash: "0x" + hex.EncodeToString(e.TxHash[:]),
		Actor: hexOr(e.Actor), Owner: hexOr(e.Owner), Subject: hexOr(e.Subject),
	}
}

// encode is the event's JSON, the exact bytes every sink sends.
func (e Event) encode() ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxEventBytes {
		return nil, fmt.Errorf("integrations: event %s is %d bytes, over %d", e.ID, len(b), MaxEventBytes)
	}
	return b, nil
}

// integrityAlarm reports whether an alarm of kind k is about the integrity
// of a camera's chain or identity (the "integrity alarm" binary sensor):
// every security alarm but a full card and a refused pairing.
func integrityAlarm(k audit.Kind) bool {
	return k.IsAlarm() && k != audit.StorageFull.Kind() && k != audit.CameraPairRefused.Kind() && k != audit.ClientClone
}
