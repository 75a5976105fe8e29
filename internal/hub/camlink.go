package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/tx"
)

// pairingRecord is <data>/pairings/<camera>-<epoch>.json: the TLS key a
// camera presented when it was paired with this hub, in that epoch.
type pairingRecord struct {
	Version  int       `json:"version"`
	Camera   string    `json:"camera"`
	Epoch    uint64    `json:"epoch"`
	Owner    string    `json:"owner"`
	TLSPin   string    `json:"tls_pin"`
	PairedAt time.Time `json:"paired_at"`
}

func (h *Hub) pairingPath(cam keys.Address, epoch uint64) string {
	return filepath.Join(h.cfg.DataDir, "pairings", fmt.Sprintf("%s-%d.json", strings.ToLower(cam.Hex()), epoch))
}

func (h *Hub) savePairing(r pairingRecord) error {
	cam, err := keys.ParseAddress(r.Camera)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(h.cfg.DataDir, "pairings"), 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	return atomicfile.Write(h.pairingPath(cam, r.Epoch), append(b, '\n'), 0o600)
}

func (h *Hub) loadPairing(cam keys.Address, epoch uint64) (*pairingRecord, error) {
	b, err := os.ReadFile(h.pairingPath(cam, epoch))
	if err != nil {
		return nil, err
	}
	var r pairingRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// linkBackend connects the link server to the ledger, the pairing records
// and the recording store.
type linkBackend struct{ h *Hub }

// Authorize: the camera must be imprinted and bound to this hub on the
// ledger in this epoch, and present the TLS key pinned when it was paired.
func (b linkBackend) Authorize(cam keys.Address, epoch uint64, pin link.Pin) error {
	d, err := b.h.node.App.Device(cam)
	if err != nil {
		return err
	}
	switch {
	case d == nil || !d.Owned():
		return fmt.Errorf("camera %s is not imprinted on the ledger", cam.Hex())
	case d.Hub != b.h.key.Address():
		return fmt.Errorf("camera %s is bound to hub %s, not to this hub", cam.Hex(), d.Hub.Hex())
	case d.Epoch != epoch:
		return fmt.Errorf("camera %s is in epoch %d on the ledger, not %d (was it reset or released?)", cam.Hex(), d.Epoch, epoch)
	}
	p, err := b.h.loadPairing(cam, epoch)
	if err != nil {
		return fmt.Errorf("camera %s was not paired through this hub", cam.Hex())
	}
	want, err := link.ParsePin(p.TLSPin)
	if err != nil || !link.EqualPins(want, pin) {
		return fmt.Errorf("camera %s presents a TLS key other than the one pinned at pairing", cam.Hex())
	}
	return nil
}

func (b linkBackend) Chain(cam keys.Address, epoch uint64) (link.ServerChain, error) {
	return b.h.store.Chain(cam, epoch)
}

func (b linkBackend) Alarm(cam keys.Address, kind audit.Kind, detail string, at time.Time) {
	b.h.recordAudit(cam, keys.Address{}, kind, detail, at)
}

// auditEvent is one hub-signed audit transaction waiting to be submitted.
type auditEvent struct {
	camera, subject keys.Address
	kind            audit.Kind
	detail          string
	at              time.Time
}

// recordAudit queues a hub-signed audit event for the ledger. It never blocks a
// caller: the queue is bounded and an overflow is logged.
func (h *Hub) recordAudit(cam, subject keys.Address, kind audit.Kind, detail string, at time.Time) {
	h.cfg.Logger.Warn("audit event", "camera", cam.Hex(), "kind", kind, "detail", detail)
	select {
	case h.auditQ <- auditEvent{camera: cam, subject: subject, kind: kind, detail: detail, at: at}:
	default:
		h.cfg.Logger.Error("audit queue full; event not recorded on the ledger", "kind", kind, "camera", cam.Hex())
	}
}

func (h *Hub) auditLoop(ctx context.Context) {
	defer close(h.auditDone)
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-h.auditQ:
			if err := h.submitAudit(ctx, e); err != nil {
				h.cfg.Logger.Error("audit event not recorded", "kind", e.kind, "err", err)
			}
		}
	}
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

func (h *Hub) submitAudit(ctx context.Context, e auditEvent) error {
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
	at := e.at.Unix()
	if at < 0 {
		at = 0
	}
	m := &tx.Audit{Hub: h.key.Address(), Camera: cam, Kind: kind, Actor: e.subject,
		Detail: truncateUTF8(e.detail, tx.MaxDetailBytes), At: uint64(min(at, time.Now().Unix())),
		Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(tx.DefaultTTL)}
	signed, err := tx.Sign(h.node.App.ChainID(), m, h.key)
	if err != nil {
		return err
	}
	raw, err := signed.Encode()
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
		return errors.New(ledger.CodeName(res.Code) + ": " + res.Log)
	}
	return nil
}
