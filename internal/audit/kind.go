// Package audit names the events of the ledger's audit log and says who may
// write each one (docs/SPEC.md §3.1).
//
// A kind lives in one of three namespaces, and the namespace is its author:
//
//   - no prefix ("imprint", "transfer", …): written by the ledger itself as
//     the effect of a signed transaction. No transaction can file one.
//   - "hub/…": filed by a registered hub in an Audit transaction, shown as
//     the hub's word (the event's actor is the hub).
//   - "camera/…": an alarm a camera raised, relayed by the hub it is bound
//     to, shown as the camera's (the event's actor is the camera).
//
// Kinds travel between packages as Kind, never as bare strings.
package audit

import (
	"errors"
	"fmt"
	"strings"
)

// Kind is an audit event kind: an optional namespace ("hub/", "camera/")
// and a name of [a-z-], at most MaxKindBytes in all.
type Kind string

// MaxKindBytes caps a kind, namespace included.
const MaxKindBytes = 32

// Namespace prefixes of filed kinds.
const (
	hubPrefix    = "hub/"
	cameraPrefix = "camera/"
)

// Kinds the ledger emits. Only the ledger writes them.
const (
	Imprint    Kind = "imprint"
	Reset      Kind = "reset"
	Release    Kind = "release"
	Transfer   Kind = "transfer"
	TransferIn Kind = "transfer-in"
	BindHub    Kind = "bind-hub"
	Grant      Kind = "grant"
	Granted    Kind = "granted"
	Revoke     Kind = "revoke"
	Revoked    Kind = "revoked"
	Policy     Kind = "policy"
	// LoginPolicy: an owner set the login policy of its address
	// (docs/SPEC.md §11.11).
	LoginPolicy Kind = "login-policy"
	// Retention: an owner set the retention policy of the hub's copy of a
	// camera's recordings (docs/SPEC.md §14.2).
	Retention Kind = "retention"
	// LegalHold: an owner placed or released a legal hold on a time range
	// of a camera's recordings (docs/SPEC.md §14.4).
	LegalHold Kind = "legal-hold"
	// ValidatorVote: a validator's hub voted for a change of the validator
	// set; ValidatorSet: a change reached more than two thirds of the
	// voting power and applied (docs/SPEC.md §3.6). The event's actor is
	// the voting hub, its subject the hub whose validator changes.
	ValidatorVote Kind = "validator-vote"
	ValidatorSet  Kind = "validator-set"
	// ViewingKey: an account registered (or replaced) its public viewing
	// key (docs/SPEC.md §17.1).
	ViewingKey Kind = "viewing-key"
	// Encryption: an owner turned end-to-end encryption of a camera's
	// video on or off (docs/SPEC.md §17.4).
	Encryption Kind = "encryption"
)

// Kinds a hub files.
const (
	// Pairing: a camera was paired with the hub (its imprint committed).
	Pairing Kind = "hub/pairing"
	// PairingRefused, ResetRefused, TxRefused, RateLimited are the hub's
	// aggregated refusal records (docs/SPEC.md §4.1): counts per interval.
	PairingRefused Kind = "hub/pairing-refused"
	ResetRefused   Kind = "hub/reset-refused"
	TxRefused      Kind = "hub/tx-refused"
	RateLimited    Kind = "hub/rate-limited"
	// CloneSuspected: the link saw a second live session, or a fork (two
	// records with one sequence number), for one camera. A security alarm.
	CloneSuspected Kind = "hub/clone-suspected"
	// ChainDiverged: a camera proved a chain secret newer than the hub's:
	// the hub's data is stale (restored from a backup) or a copy of it
	// talked to the camera. A security alarm; the owner's resync ends it.
	ChainDiverged Kind = "hub/chain-divergence"
	// Resync: the owner signed a resync of a camera's chain secret with
	// the hub (SPEC §7.2), stored until the camera re-keys.
	Resync Kind = "hub/resync"
	// HistoryKeys: the owner uploaded a history envelope re-wrapping past
	// keys to a grantee (SPEC §17.6); the subject is the grantee.
	HistoryKeys Kind = "hub/history-keys"
	// UnboundAlarm: a camera alarm the hub could not file as the camera's
	// because the camera is no longer bound to it; the detail names the
	// camera and its alarm. A security alarm.
	UnboundAlarm Kind = "hub/camera-alarm"
	// ClientEnrolled: a new client (CLI install, browser) logged in for the
	// first time with the wallet (docs/SPEC.md §11.4). Loud by design.
	ClientEnrolled Kind = "hub/client-enrolled"
	// ClientClone: a client presented a stale login-chain head: a copy of
	// it is in use. A security alarm.
	ClientClone Kind = "hub/client-clone"
	// ClientPending: a new client logged in with the wallet under the
	// approval policy and waits for an enrolled client's approval.
	ClientPending Kind = "hub/client-pending"
	// ClientApproved: an enrolled client approved a pending one.
	ClientApproved Kind = "hub/client-approved"
	// LoginOverride: the owner's wallet alone let a new client in under
	// the approval policy, revoking every other client of the address
	// (docs/SPEC.md §11.11). A security alarm: it is also what a thief
	// holding the words would do.
	LoginOverride Kind = "hub/login-override"
	// EmergencyPrune: the hub's disk was nearly full and it deleted a
	// camera's oldest recordings outside the owner's retention policy
	// (docs/SPEC.md §14.3). An alarm: persisted before the files go, never
	// dropped, and `camchain verify` names what it deleted by it.
	EmergencyPrune Kind = "hub/emergency-prune"
	// WitnessFork: a witness refused the consistency proof of a camera's
	// checkpoint: it saw another tree of the camera's log (docs/SPEC.md
	// §16.2). Two histories of the chain exist. A security alarm.
	WitnessFork Kind = "hub/witness-fork"
	// EvidenceExport: the hub served an evidence bundle in full (chain of
	// custody, docs/SPEC.md §10.4): the event's subject is who exported
	// it, its detail the bundle's SHA-256, size and records.
	EvidenceExport Kind = "hub/evidence-export"
)

// Alarm is the name of an alarm a camera raises, as it travels on the
// camera link (docs/SPEC.md §7, the Alarm message): 1..25 bytes of [a-z-].
// The hub files it as the Kind "camera/<alarm>".
type Alarm string

// Alarms the camera agent raises.
const (
	ChainDivergence   Alarm = "chain-divergence"
	ImpostorHub       Alarm = "impostor-hub"
	StorageFull       Alarm = "storage-full"
	CameraPairRefused Alarm = "pairing-refused"
	CheckpointRefused Alarm = "checkpoint-refused"
	// CheckpointMissing: the hub accepted a checkpoint that never reached
	// the ledger (or answered for it with another transaction).
	CheckpointMissing Alarm = "checkpoint-missing"
)

// MaxAlarmBytes caps an alarm name, so "camera/" + name fits a Kind.
const MaxAlarmBytes = MaxKindBytes - len(cameraPrefix)

// ErrKind is returned for a kind or alarm name outside the rules above.
var ErrKind = errors.New("audit: invalid kind")

// Kind is the audit kind the hub files the alarm under.
func (a Alarm) Kind() Kind { return Kind(cameraPrefix + string(a)) }

// Valid checks an alarm name's syntax.
func (a Alarm) Valid() error {
	if len(a) == 0 || len(a) > MaxAlarmBytes || !isName(string(a)) {
		return fmt.Errorf("%w: alarm %q: want 1..%d bytes of a-z and '-'", ErrKind, clip(string(a)), MaxAlarmBytes)
	}
	return nil
}

// Source is who wrote an event: the namespace of its kind.
type Source string

// The three sources.
const (
	SourceLedger Source = "ledger"
	SourceHub    Source = "hub"
	SourceCamera Source = "camera"
)

// Source returns who writes events of kind k.
func (k Kind) Source() Source {
	switch {
	case strings.HasPrefix(string(k), hubPrefix):
		return SourceHub
	case strings.HasPrefix(string(k), cameraPrefix):
		return SourceCamera
	}
	return SourceLedger
}

// ValidFiled checks that k is a kind an Audit transaction may carry: a
// "hub/" or "camera/" kind whose name is [a-z-]. The ledger's own kinds
// are never valid here, so no hub can write one.
func (k Kind) ValidFiled() error {
	s := string(k)
	if len(s) > MaxKindBytes {
		return fmt.Errorf("%w: %q is over %d bytes", ErrKind, clip(s), MaxKindBytes)
	}
	name, ok := strings.CutPrefix(s, hubPrefix)
	if !ok {
		name, ok = strings.CutPrefix(s, cameraPrefix)
	}
	if !ok {
		return fmt.Errorf("%w: %q: a filed kind starts with %q or %q (the other kinds are the ledger's own)", ErrKind, clip(s), hubPrefix, cameraPrefix)
	}
	if name == "" || !isName(name) {
		return fmt.Errorf("%w: %q: the name after the namespace must be a-z and '-'", ErrKind, clip(s))
	}
	return nil
}

// IsAlarm reports whether events of kind k are security alarms: persisted
// by the hub before they are acknowledged and retried until committed,
// never aggregated or dropped (docs/SPEC.md §4.1). Every camera alarm is
// one, and so are the hub's own clone suspicions (of a camera, of a client).
func (k Kind) IsAlarm() bool {
	return k.Source() == SourceCamera || k == CloneSuspected || k == ChainDiverged || k == UnboundAlarm || k == ClientClone || k == LoginOverride || k == WitnessFork || k == EmergencyPrune
}

func isName(s string) bool {
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c == '-') {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
