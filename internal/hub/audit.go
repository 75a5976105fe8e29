package hub

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/tx"
)

// The hub's audit events take one of two paths (docs/SPEC.md §4.2):
//
//   - security alarms (audit.Kind.IsAlarm: clone suspicion, every camera
//     alarm) go to the alarm log on disk before they are acknowledged, and
//     are filed in order, retried until committed, never dropped;
//   - ordinary events (a pairing, the aggregated refusal records) go
//     through a bounded queue; they are few by construction.

// auditEvent is one hub-signed audit transaction waiting to be submitted.
type auditEvent struct {
	camera, subject keys.Address
	kind            audit.Kind
	detail          string
	at              time.Time
	nonce           uint64 // 0: draw one
}

// auditQueueLen bounds the ordinary events waiting for the ledger.
const auditQueueLen = 1024

// Retry backoff of the alarm log's filing.
const (
	alarmRetryMin = 500 * time.Millisecond
	alarmRetryMax = 30 * time.Second
)

// recordAlarm persists a security alarm; once it returns nil, the alarm
// will reach the ledger.
func (h *Hub) recordAlarm(cam keys.Address, kind audit.Kind, detail string, at time.Time) error {
	h.cfg.Logger.Warn("ALARM", "camera", cam.Hex(), "kind", kind, "detail", detail)
	if !kind.IsAlarm() {
		return fmt.Errorf("%s is not a security alarm", kind)
	}
	// The integrations' outbox first: an alarm in the alarm log has gone
	// out (or will, from the outbox) to MQTT and the webhooks.
	if err := h.integ.Alarm(cam, kind, detail, at); err != nil {
		h.cfg.Logger.Error("alarm not queued for the integrations", "kind", kind, "err", err)
	}
	return h.alarms.Append(cam, kind, detail, at)
}

// recordAlarmAbout is recordAlarm for a hub alarm about a principal (a
// client's address), which the ledger indexes under it as the subject.
func (h *Hub) recordAlarmAbout(subject keys.Address, kind audit.Kind, detail string, at time.Time) error {
	h.cfg.Logger.Warn("ALARM", "subject", subject.Hex(), "kind", kind, "detail", detail)
	if !kind.IsAlarm() {
		return fmt.Errorf("%s is not a security alarm", kind)
	}
	return h.alarms.AppendAbout(keys.Address{}, subject, kind, detail, at)
}

// recordAudit queues an ordinary hub-signed audit event for the ledger. It
// never blocks a caller: the queue is bounded and an overflow is logged.
// Security alarms never take this path.
func (h *Hub) recordAudit(cam, subject keys.Address, kind audit.Kind, detail string, at time.Time) {
	h.cfg.Logger.Info("audit event", "camera", cam.Hex(), "kind", kind, "detail", detail)
	if kind.IsAlarm() { // a client clone: an alarm that takes this path
		if err := h.integ.Alarm(cam, kind, detail, at); err != nil {
			h.cfg.Logger.Error("alarm not queued for the integrations", "kind", kind, "err", err)
		}
	}
	select {
	case h.auditQ <- auditEvent{camera: cam, subject: subject, kind: kind, detail: detail, at: at}:
	default:
		h.cfg.Logger.Error("audit queue full; event not recorded on the ledger", "kind", kind, "camera", cam.Hex())
	}
}

// auditBatch caps the queued events filed together.
const auditBatch = 256

// auditLoop files queued events, and every RefusalInterval the aggregated
// refusal records of the interval that ended. The events queued at once
// (a burst of enrollments, say) are filed together: handed to the mempool
// in order, then waited for, so they share blocks instead of taking a
// block each.
func (h *Hub) auditLoop(ctx context.Context) {
	defer h.wg.Done()
	tick := time.NewTicker(h.cfg.RefusalInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			h.fileAudits(ctx, h.refusals.drain(h.cfg.RefusalInterval, time.Now()))
		case e := <-h.auditQ:
			batch := []auditEvent{e}
		more:
			for len(batch) < auditBatch {
				select {
				case e := <-h.auditQ:
					batch = append(batch, e)
				default:
					break more
				}
			}
			h.fileAudits(ctx, batch)
		}
	}
}

// fileAudits signs and submits ordinary events, in order, and waits for
// their blocks; each failure is logged.
func (h *Hub) fileAudits(ctx context.Context, es []auditEvent) {
	if len(es) == 0 {
		return
	}
	var raws [][]byte
	var filed []auditEvent
	for _, e := range es {
		raw, err := h.signOwn(h.auditTx(e))
		if err != nil {
			h.cfg.Logger.Error("audit event not recorded", "kind", e.kind, "err", err)
			continue
		}
		raws, filed = append(raws, raw), append(filed, e)
	}
	ctx, cancel := context.WithTimeout(ctx, submitTimeout)
	defer cancel()
	res, errs := h.node.SubmitAll(ctx, raws)
	for i, e := range filed {
		err := errs[i]
		if err == nil && res[i].Code != ledger.CodeOK {
			err = &ledger.Refusal{Code: res[i].Code, Reason: res[i].Log}
		}
		if err != nil {
			h.cfg.Logger.Error("audit event not recorded", "kind", e.kind, "err", err)
		}
	}
}

// alarmLoop files the alarm log's entries in order, each until it is on
// the ledger.
func (h *Hub) alarmLoop(ctx context.Context) {
	defer h.wg.Done()
	backoff := alarmRetryMin
	for {
		e, n, ok := h.alarms.next()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-h.alarms.wake:
				continue
			}
		}
		replayed, err := h.fileAlarm(ctx, e)
		if replayed {
			// Filed before a crash, as a record that may have stood for
			// fewer entries than now: count only its first as filed; the
			// rest are filed again (at least once, never lost).
			n = 1
		}
		if err == nil {
			err = h.alarms.done(n)
		}
		if err == nil {
			backoff = alarmRetryMin
			continue
		}
		h.cfg.Logger.Error("alarm not yet on the ledger; retrying", "kind", e.Kind, "camera", e.Camera, "in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, alarmRetryMax)
	}
}

// fileAlarm submits one logged alarm. Its nonce was drawn when it was
// logged, so a copy that already landed (before a crash) is `replay`:
// filed, and reported as replayed.
func (h *Hub) fileAlarm(ctx context.Context, e alarmEntry) (replayed bool, err error) {
	var cam, subject keys.Address
	if e.Camera != "" {
		if cam, err = keys.ParseAddress(e.Camera); err != nil {
			return false, fmt.Errorf("alarm log entry: %w", err)
		}
	}
	if e.Subject != "" {
		if subject, err = keys.ParseAddress(e.Subject); err != nil {
			return false, fmt.Errorf("alarm log entry: %w", err)
		}
	}
	err = h.submitAudit(ctx, auditEvent{camera: cam, subject: subject, kind: e.Kind, detail: e.Detail, at: time.Unix(e.At, 0), nonce: e.Nonce})
	var ref *ledger.Refusal
	if errors.As(err, &ref) && ref.Code == ledger.CodeReplay {
		return true, nil
	}
	return false, err
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// submitAudit signs and submits one audit event and waits for its block.
// A ledger refusal is returned as a *ledger.Refusal.
func (h *Hub) submitAudit(ctx context.Context, e auditEvent) error {
	return h.submitOwn(ctx, h.auditTx(e))
}

// auditTx is the hub-signed audit transaction of e.
func (h *Hub) auditTx(e auditEvent) *tx.Audit {
	cam, kind := e.camera, e.kind
	// The ledger accepts camera-scoped events only from the camera's hub;
	// an alarm of a camera no longer bound here is filed as the hub's.
	if cam != (keys.Address{}) {
		if d, err := h.node.App.Device(cam); err != nil || d == nil || d.Hub != h.key.Address() {
			e.detail = "camera " + cam.Hex() + ": " + string(kind) + ": " + e.detail
			cam = keys.Address{}
			if kind.Source() == audit.SourceCamera {
				kind = audit.UnboundAlarm
			}
		}
	}
	at := max(e.at.Unix(), 0)
	nonce := e.nonce
	if nonce == 0 {
		nonce = tx.NewNonce()
	}
	return &tx.Audit{Hub: h.key.Address(), Camera: cam, Kind: kind, Actor: e.subject,
		Detail: truncateUTF8(e.detail, tx.MaxDetailBytes), At: uint64(min(at, time.Now().Unix())),
		Nonce: nonce, Expiry: tx.ExpiryIn(tx.DefaultTTL)}
}

// signOwn signs m with the hub's key and encodes it.
func (h *Hub) signOwn(m tx.Msg) ([]byte, error) {
	signed, err := tx.Sign(h.node.App.EVMChainID(), m, h.key)
	if err != nil {
		return nil, err
	}
	return signed.Encode()
}

// submitOwn signs m with the hub's key, submits it and waits for its
// block. A ledger refusal is returned as a *ledger.Refusal.
func (h *Hub) submitOwn(ctx context.Context, m tx.Msg) error {
	raw, err := h.signOwn(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, submitTimeout)
	defer cancel()
	res, err := h.node.Submit(ctx, raw)
	if err != nil {
		return err
	}
	if res.Code != ledger.CodeOK {
		return &ledger.Refusal{Code: res.Code, Reason: res.Log}
	}
	return nil
}
