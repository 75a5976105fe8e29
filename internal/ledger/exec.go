package ledger

import (
	"fmt"
	"time"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// reader is what admission needs of the state: committed state in CheckTx,
// committed plus pending in FinalizeBlock.
type reader interface {
	get(k []byte) ([]byte, error)
}

// admitted is a transaction that passed the checks every type shares.
type admitted struct {
	tx      *tx.Tx
	signers []keys.Address
}

// admit runs the checks common to every transaction, in this order:
// encoding, chain id, signatures, expiry against now, and nonce freshness.
// It is used by CheckTx (now = wall clock) and FinalizeBlock (now = block
// time); both read the same rules.
//
// verified, when non-nil, is the outcome of an earlier decoding and
// recovery of the same bytes (the signature cache, sigcache.go): it stands
// for the first three checks, which depend on the bytes alone.
func admit(r reader, evmChainID uint64, raw []byte, verified *verifiedTx, now uint64) (*admitted, *Refusal, error) {
	var t *tx.Tx
	var signers []keys.Address
	if verified != nil {
		t, signers = verified.tx, verified.signers
	} else {
		var err error
		if t, err = tx.Decode(raw); err != nil {
			return nil, decodeRefusal(err), nil
		}
	}
	if t.EVMChainID != evmChainID {
		return nil, refuse(CodeWrongChain, "signed for chain id %d, this ledger is %d", t.EVMChainID, evmChainID), nil
	}
	if verified == nil {
		var err error
		if signers, err = t.Signers(); err != nil {
			return nil, refuse(CodeBadSignature, "%s: %v", t.Msg.Type(), err), nil
		}
	}
	nonce, expiry := t.Msg.Replay()
	if expiry <= now {
		return nil, refuse(CodeExpired, "expired at %s, ledger time is %s", unixUTC(expiry), unixUTC(now)), nil
	}
	if expiry > now+uint64(tx.MaxTTL.Seconds()) {
		return nil, refuse(CodeExpiryTooFar, "expiry %s is more than %s ahead", unixUTC(expiry), tx.MaxTTL), nil
	}
	used, err := r.get(nonceKey(signers[0], nonce))
	if err != nil {
		return nil, nil, err
	}
	if used != nil {
		return nil, refuse(CodeReplay, "nonce %d already used by %s", nonce, signers[0].Hex()), nil
	}
	return &admitted{tx: t, signers: signers}, nil, nil
}

func unixUTC(s uint64) string { return time.Unix(int64(s), 0).UTC().Format(time.RFC3339) }

// blockCtx is what a transaction may know about the block it is in.
type blockCtx struct {
	height uint64
	time   uint64 // Unix seconds, from the block header
	txHash feedchain.Hash
}

// txn is one transaction's writes, applied to the block only if every rule
// of the transaction holds.
type txn struct {
	s      *store
	writes map[string]change
	order  []string
	events []Event
}

func newTxn(s *store) *txn { return &txn{s: s, writes: map[string]change{}} }

func (t *txn) get(k []byte) ([]byte, error) {
	if c, ok := t.writes[string(k)]; ok {
		if c.del {
			return nil, nil
		}
		return c.val, nil
	}
	return t.s.get(k)
}

func (t *txn) put(k []byte, c change) {
	if _, ok := t.writes[string(k)]; !ok {
		t.order = append(t.order, string(k))
	}
	t.writes[string(k)] = c
}

func (t *txn) set(k, v []byte) { t.put(k, change{val: v}) }
func (t *txn) del(k []byte)    { t.put(k, change{del: true}) }

func (t *txn) apply() {
	for _, k := range t.order {
		t.s.pending[k] = t.writes[k]
	}
}

func (t *txn) device(c keys.Address) (*Device, error) {
	b, err := t.get(deviceKey(c))
	if err != nil || b == nil {
		return nil, err
	}
	return t.s.devices.decode(b)
}

func (t *txn) putDevice(d *Device) { t.set(deviceKey(d.Camera), encodeValue(d)) }

func (t *txn) isHub(h keys.Address) (bool, error) {
	b, err := t.get(hubKey(h))
	return b != nil, err
}

// event queues an audit-log entry; seq and block fields are filled in by
// record.
func (t *txn) event(e Event) { t.events = append(t.events, e) }

// record appends the queued events to the audit log.
func (t *txn) record(blk blockCtx) error {
	for _, e := range t.events {
		b, err := t.get(keyMetaAuditSeq)
		if err != nil {
			return err
		}
		var seq uint64
		if b != nil {
			seq = be64u(b)
		}
		seq++
		e.Seq, e.Height, e.Time, e.TxHash = seq, blk.height, blk.time, blk.txHash
		t.set(keyMetaAuditSeq, be64(seq))
		t.set(eventKey(seq), encodeValue(&e))
		zero := keys.Address{}
		if e.Camera != zero {
			t.set(evCameraKey(e.Camera, seq), []byte{})
		}
		seen := map[keys.Address]bool{zero: true}
		for _, p := range []keys.Address{e.Actor, e.Owner, e.Subject} {
			if !seen[p] {
				seen[p] = true
				t.set(evPrincKey(p, seq), []byte{})
			}
		}
	}
	return nil
}

// exec applies the rules of one admitted transaction. A Refusal leaves the
// state untouched (the caller has already consumed the nonce).
func exec(j *txn, a *admitted, blk blockCtx) (*Refusal, error) {
	signer := a.signers[0]
	switch m := a.tx.Msg.(type) {
	case *tx.Imprint:
		return execImprint(j, m, a.signers, blk)
	case *tx.Reset:
		return execReset(j, m, signer)
	case *tx.Checkpoint:
		return execCheckpoint(j, m, signer, blk)
	case *tx.Audit:
		return execAudit(j, m, signer, blk)
	case *tx.LoginBatch:
		return execLoginBatch(j, m, signer, blk)
	case *tx.LoginPolicy:
		return execLoginPolicy(j, m, signer, blk)
	case *tx.SetValidator:
		return execSetValidator(j, m, signer, blk)
	case *tx.ViewingKey:
		return execViewingKey(j, m, signer, blk)
	}
	// Every other type is an owner action on an owned camera.
	return execOwnerAction(j, a.tx.Msg, signer, blk)
}

func execImprint(j *txn, m *tx.Imprint, signers []keys.Address, blk blockCtx) (*Refusal, error) {
	if signers[0] != m.Owner {
		return refuse(CodeUnauthorized, "imprint must be signed first by the new owner %s, not %s", m.Owner.Hex(), signers[0].Hex()), nil
	}
	if signers[1] != m.Camera {
		return refuse(CodeUnauthorized, "imprint must be co-signed by the camera %s (proof of physical access), not %s", m.Camera.Hex(), signers[1].Hex()), nil
	}
	if m.Owner == m.Camera || m.Owner == (keys.Address{}) || m.Camera == (keys.Address{}) {
		return refuse(CodeInvalid, "owner and camera must be two distinct non-zero addresses"), nil
	}
	d, err := j.device(m.Camera)
	if err != nil {
		return nil, err
	}
	if d == nil {
		d = &Device{Camera: m.Camera}
	}
	if d.Owned() {
		return refuse(CodeConflict, "camera %s is already owned by %s; only a physical reset or a release frees it", m.Camera.Hex(), d.Owner.Hex()), nil
	}
	if m.Epoch != d.Epoch {
		return refuse(CodeWrongEpoch, "imprint names epoch %d, camera is in epoch %d", m.Epoch, d.Epoch), nil
	}
	if m.Hub != (keys.Address{}) {
		ok, err := j.isHub(m.Hub)
		if err != nil {
			return nil, err
		}
		if !ok {
			return refuse(CodeNotFound, "hub %s is not registered on this ledger", m.Hub.Hex()), nil
		}
	}
	d.Owner, d.Hub, d.ImprintedAt = m.Owner, m.Hub, blk.time
	d.Grants = nil
	j.putDevice(d)
	j.set(ownerKey(m.Owner, m.Camera), []byte{})
	j.event(Event{Kind: audit.Imprint, Camera: m.Camera, Actor: m.Owner, Owner: m.Owner, Hub: m.Hub,
		Detail: fmt.Sprintf("epoch %d", d.Epoch)})
	return nil, nil
}

// clearOwnership is the duckling's death: owner, binding and grants go,
// and the epoch moves on so nothing signed for the old one applies again.
func clearOwnership(j *txn, d *Device) {
	if d.Owned() {
		j.del(ownerKey(d.Owner, d.Camera))
	}
	d.Owner, d.Hub, d.ImprintedAt, d.Grants = keys.Address{}, keys.Address{}, 0, nil
	d.Epoch++
	d.Checkpoints, d.LastSeq, d.LastPeriodEnd, d.LastRoot = 0, 0, 0, feedchain.Hash{}
	j.putDevice(d)
}

func execReset(j *txn, m *tx.Reset, signer keys.Address) (*Refusal, error) {
	if signer != m.Camera {
		return refuse(CodeUnauthorized, "a reset must be signed by the camera %s itself, not %s", m.Camera.Hex(), signer.Hex()), nil
	}
	d, err := j.device(m.Camera)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return refuse(CodeNotFound, "camera %s has never been imprinted", m.Camera.Hex()), nil
	}
	if m.Epoch != d.Epoch {
		return refuse(CodeWrongEpoch, "reset names epoch %d, camera is in epoch %d", m.Epoch, d.Epoch), nil
	}
	prevOwner := d.Owner
	clearOwnership(j, d)
	j.event(Event{Kind: audit.Reset, Camera: m.Camera, Actor: m.Camera, Owner: prevOwner,
		Detail: fmt.Sprintf("physical reset; epoch %d -> %d", m.Epoch, d.Epoch)})
	return nil, nil
}

// cameraOf returns the camera and epoch an owner action names.
func cameraOf(m tx.Msg) (keys.Address, uint64) {
	switch m := m.(type) {
	case *tx.Release:
		return m.Camera, m.Epoch
	case *tx.Transfer:
		return m.Camera, m.Epoch
	case *tx.BindHub:
		return m.Camera, m.Epoch
	case *tx.Grant:
		return m.Camera, m.Epoch
	case *tx.Revoke:
		return m.Camera, m.Epoch
	case *tx.SetPolicy:
		return m.Camera, m.Epoch
	case *tx.Retention:
		return m.Camera, m.Epoch
	case *tx.LegalHold:
		return m.Camera, m.Epoch
	case *tx.Encryption:
		return m.Camera, m.Epoch
	}
	panic(fmt.Sprintf("cameraOf: %T is not an owner action", m))
}

func execOwnerAction(j *txn, msg tx.Msg, signer keys.Address, blk blockCtx) (*Refusal, error) {
	cam, epoch := cameraOf(msg)
	d, err := j.device(cam)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return refuse(CodeNotFound, "camera %s is not on the ledger", cam.Hex()), nil
	}
	if !d.Owned() {
		return refuse(CodeConflict, "camera %s has no owner", cam.Hex()), nil
	}
	if signer != d.Owner {
		return refuse(CodeUnauthorized, "%s on camera %s must be signed by its owner, not %s", msg.Type(), cam.Hex(), signer.Hex()), nil
	}
	if epoch != d.Epoch {
		return refuse(CodeWrongEpoch, "%s names epoch %d, camera is in epoch %d", msg.Type(), epoch, d.Epoch), nil
	}
	owner := d.Owner
	ev := Event{Kind: kindOf(msg.Type()), Camera: cam, Actor: signer, Owner: owner}
	switch m := msg.(type) {
	case *tx.Release:
		clearOwnership(j, d)
		ev.Detail = fmt.Sprintf("released; epoch %d -> %d", m.Epoch, d.Epoch)
	case *tx.Transfer:
		if m.NewOwner == (keys.Address{}) || m.NewOwner == d.Owner || m.NewOwner == cam {
			return refuse(CodeInvalid, "new owner must be a non-zero address other than the owner and the camera"), nil
		}
		j.del(ownerKey(d.Owner, cam))
		j.set(ownerKey(m.NewOwner, cam), []byte{})
		d.Owner, d.Grants = m.NewOwner, nil
		j.putDevice(d)
		ev.Detail = "to " + m.NewOwner.Hex()
		j.event(Event{Kind: audit.TransferIn, Camera: cam, Actor: signer, Owner: m.NewOwner, Detail: "from " + owner.Hex()})
	case *tx.BindHub:
		if r, err := bindHub(j, d, m.Hub); r != nil || err != nil {
			return r, err
		}
		ev.Hub = m.Hub
		ev.Detail = "bound to " + m.Hub.Hex()
		if m.Hub == (keys.Address{}) {
			ev.Detail = "unbound"
		}
	case *tx.Grant:
		if r := grant(d, m, blk.time); r != nil {
			return r, nil
		}
		j.putDevice(d)
		ev.Detail = fmt.Sprintf("viewer %s valid_until %d history_from %d", m.Viewer.Hex(), m.ValidUntil, m.HistoryFrom)
		j.event(Event{Kind: audit.Granted, Camera: cam, Actor: m.Viewer, Detail: "by " + owner.Hex()})
	case *tx.Revoke:
		i := findGrant(d, m.Viewer)
		if i < 0 {
			return refuse(CodeNotFound, "viewer %s has no grant on camera %s", m.Viewer.Hex(), cam.Hex()), nil
		}
		d.Grants = append(d.Grants[:i], d.Grants[i+1:]...)
		j.putDevice(d)
		ev.Detail = "viewer " + m.Viewer.Hex()
		j.event(Event{Kind: audit.Revoked, Camera: cam, Actor: m.Viewer, Detail: "by " + owner.Hex()})
	case *tx.SetPolicy:
		p := m.CheckpointPeriod
		if p < uint64(tx.MinCheckpointPeriod.Seconds()) || p > uint64(tx.MaxCheckpointPeriod.Seconds()) {
			return refuse(CodeInvalid, "checkpoint period %ds is outside %s..%s", p, tx.MinCheckpointPeriod, tx.MaxCheckpointPeriod), nil
		}
		d.CheckpointPeriod = p
		j.putDevice(d)
		ev.Detail = fmt.Sprintf("checkpoint period %ds", p)
	case *tx.Retention:
		detail, r, err := execRetention(j, d, m, blk)
		if r != nil || err != nil {
			return r, err
		}
		ev.Detail = detail
	case *tx.LegalHold:
		detail, r, err := execLegalHold(j, d, m, blk)
		if r != nil || err != nil {
			return r, err
		}
		ev.Detail = detail
	case *tx.Encryption:
		detail, r, err := execEncryption(j, d, m, blk)
		if r != nil || err != nil {
			return r, err
		}
		ev.Detail = detail
	}
	// The owner's own event comes first in the log.
	j.events = append([]Event{ev}, j.events...)
	return nil, nil
}

// kindOf is the ledger's audit kind for an owner action.
func kindOf(t tx.Type) audit.Kind {
	switch t {
	case tx.TypeRelease:
		return audit.Release
	case tx.TypeTransfer:
		return audit.Transfer
	case tx.TypeBindHub:
		return audit.BindHub
	case tx.TypeGrant:
		return audit.Grant
	case tx.TypeRevoke:
		return audit.Revoke
	case tx.TypeSetPolicy:
		return audit.Policy
	case tx.TypeRetention:
		return audit.Retention
	case tx.TypeLegalHold:
		return audit.LegalHold
	case tx.TypeEncryption:
		return audit.Encryption
	}
	panic(fmt.Sprintf("kindOf: %s is not an owner action", t))
}

func bindHub(j *txn, d *Device, hub keys.Address) (*Refusal, error) {
	zero := keys.Address{}
	if hub == zero {
		if d.Hub == zero {
			return refuse(CodeConflict, "camera %s is not bound to a hub", d.Camera.Hex()), nil
		}
		d.Hub = zero
		j.putDevice(d)
		return nil, nil
	}
	ok, err := j.isHub(hub)
	if err != nil {
		return nil, err
	}
	if !ok {
		return refuse(CodeNotFound, "hub %s is not registered on this ledger", hub.Hex()), nil
	}
	if d.Hub == hub {
		return refuse(CodeConflict, "camera %s is already bound to hub %s", d.Camera.Hex(), hub.Hex()), nil
	}
	if d.Hub != zero {
		return refuse(CodeConflict, "camera %s is bound to hub %s; a camera has one hub at a time: unbind it first", d.Camera.Hex(), d.Hub.Hex()), nil
	}
	d.Hub = hub
	j.putDevice(d)
	return nil, nil
}

func findGrant(d *Device, viewer keys.Address) int {
	for i, g := range d.Grants {
		if g.Viewer == viewer {
			return i
		}
	}
	return -1
}

func grant(d *Device, m *tx.Grant, now uint64) *Refusal {
	if m.Viewer == (keys.Address{}) || m.Viewer == d.Owner || m.Viewer == d.Camera {
		return refuse(CodeInvalid, "viewer must be a non-zero address other than the owner and the camera")
	}
	if m.ValidUntil != 0 && m.ValidUntil <= now {
		return refuse(CodeInvalid, "grant would already have ended at %s", unixUTC(m.ValidUntil))
	}
	g := GrantRecord{Viewer: m.Viewer, ValidUntil: m.ValidUntil, HistoryFrom: m.HistoryFrom, GrantedAt: now}
	if i := findGrant(d, m.Viewer); i >= 0 {
		d.Grants[i] = g // a new grant replaces the viewer's old terms
		return nil
	}
	if len(d.Grants) >= MaxGrantsPerCamera {
		return refuse(CodeInvalid, "camera already has %d grants, the limit", MaxGrantsPerCamera)
	}
	d.Grants = append(d.Grants, g)
	return nil
}

func execCheckpoint(j *txn, m *tx.Checkpoint, signer keys.Address, blk blockCtx) (*Refusal, error) {
	if signer != m.Camera {
		return refuse(CodeUnauthorized, "a checkpoint must be signed by the camera %s, not %s", m.Camera.Hex(), signer.Hex()), nil
	}
	d, err := j.device(m.Camera)
	if err != nil {
		return nil, err
	}
	if d == nil || !d.Owned() {
		return refuse(CodeConflict, "camera %s is not imprinted; checkpoints need an owner", m.Camera.Hex()), nil
	}
	if m.Epoch != d.Epoch {
		return refuse(CodeWrongEpoch, "checkpoint names epoch %d, camera is in epoch %d", m.Epoch, d.Epoch), nil
	}
	// A period end ahead of the block time is the camera's clock, not a
	// malformed checkpoint (future, before the rule's own checks).
	if m.PeriodStart < m.PeriodEnd && m.PeriodEnd > blk.time+ClockSkew {
		return refuse(CodeFuture, "period end %s is more than %ds after the block time %s", unixUTC(m.PeriodEnd), ClockSkew, unixUTC(blk.time)), nil
	}
	if m.Stream != feedchain.StreamMain {
		return execStreamCheckpoint(j, m, blk) // another stream's chain (streams.go)
	}
	// The succession rule, written once (checkpoint.VerifySuccession): the
	// ledger knows the epoch's previous checkpoint, so it applies all of it.
	before, prevTree := checkpoint.First(), uint64(0)
	if d.Checkpoints > 0 {
		before, prevTree = checkpoint.After(checkpoint.Prev{LastSeq: d.LastSeq, PeriodEnd: d.LastPeriodEnd, Root: d.LastRoot}), d.LastSeq+1
	}
	if _, err := checkpoint.VerifySuccession(before, m); err != nil {
		return refuse(CodeInvalid, "%v", err), nil
	}
	rec := CheckpointRecord{Msg: *m, Height: blk.height, Time: blk.time, TxHash: blk.txHash, Index: d.Checkpoints, PrevTreeLen: prevTree}
	j.set(ckptKey(m.Camera, m.Epoch, d.Checkpoints), encodeValue(&rec))
	d.Checkpoints++
	d.LastSeq, d.LastPeriodEnd, d.LastRoot = m.LastSeq, m.PeriodEnd, m.Root
	j.putDevice(d)
	return nil, nil
}

func execAudit(j *txn, m *tx.Audit, signer keys.Address, blk blockCtx) (*Refusal, error) {
	if signer != m.Hub {
		return refuse(CodeUnauthorized, "an audit event must be signed by the hub it names (%s), not %s", m.Hub.Hex(), signer.Hex()), nil
	}
	ok, err := j.isHub(m.Hub)
	if err != nil {
		return nil, err
	}
	if !ok {
		return refuse(CodeUnauthorized, "%s is not a registered hub", m.Hub.Hex()), nil
	}
	if m.At > blk.time+ClockSkew {
		return refuse(CodeFuture, "event time %s is more than %ds after the block time %s", unixUTC(m.At), ClockSkew, unixUTC(blk.time)), nil
	}
	// The author is never the hub's to choose: a hub event is the hub's,
	// a camera alarm the camera's (SPEC §3.1). The kind's namespace was
	// checked at decoding, so no filed event bears a ledger kind.
	ev := Event{Kind: m.Kind, Camera: m.Camera, Actor: m.Hub, Hub: m.Hub,
		Detail: fmt.Sprintf("%s (at %s)", m.Detail, unixUTC(m.At))}
	switch m.Kind.Source() {
	case audit.SourceHub:
		ev.Subject = m.Actor
	case audit.SourceCamera:
		if m.Camera == (keys.Address{}) {
			return refuse(CodeInvalid, "camera alarm %s names no camera", m.Kind), nil
		}
		if m.Actor != (keys.Address{}) && m.Actor != m.Camera {
			return refuse(CodeInvalid, "camera alarm %s is the camera's: its actor must be the camera %s or zero, not %s", m.Kind, m.Camera.Hex(), m.Actor.Hex()), nil
		}
		ev.Actor = m.Camera
	default:
		return refuse(CodeInvalid, "kind %s is the ledger's own", m.Kind), nil
	}
	if m.Camera != (keys.Address{}) {
		d, err := j.device(m.Camera)
		if err != nil {
			return nil, err
		}
		if d == nil || d.Hub != m.Hub {
			return refuse(CodeUnauthorized, "hub %s is not the hub camera %s is bound to", m.Hub.Hex(), m.Camera.Hex()), nil
		}
		ev.Owner = d.Owner
	}
	j.event(ev)
	return nil, nil
}

func be64u(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}
