package hub

import (
	"net/http"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/tx"
)

// The edge of POST /api/v1/txs and /api/v1/pairings (docs/SPEC.md §4.1):
// signatures are checked first, then the submission budget, and only then
// does anything reach the ledger. A request whose signatures do not verify
// is never recorded anywhere on the ledger: whatever it names is anyone's
// to write.

// verified is a transaction whose signatures recover, with its signers.
type verified struct {
	tx      *tx.Tx
	signers []keys.Address
}

// verify decodes raw and recovers its signers; nil if either fails.
func verify(raw []byte) *verified {
	t, err := tx.Decode(raw)
	if err != nil {
		return nil
	}
	s, err := t.Signers()
	if err != nil {
		return nil
	}
	return &verified{tx: t, signers: s}
}

// admit spends one submission from the budget the request falls under: the
// signer's own if the ledger knows it, else the client's and the shared
// one. Over budget, it records the refusal (only for a verified request)
// and returns 429.
func (h *Hub) admit(r *http.Request, v *verified) error {
	now := time.Now()
	ok := false
	if v != nil {
		known, err := h.node.App.Known(v.signers[0])
		if err != nil {
			return err
		}
		if known {
			ok = h.budgets.allowKnown(v.signers[0], now)
		} else {
			ok = h.budgets.allowUnknown(clientOf(r), now)
		}
	} else {
		ok = h.budgets.allowUnknown(clientOf(r), now)
	}
	if ok {
		return nil
	}
	if v != nil {
		h.recordRefusal(r, v, audit.RateLimited, "rate-limited")
	}
	return api.Errorf(api.ErrRateLimited, "too many submissions; retry in a few seconds")
}

// refusalKind is the aggregated record a ledger refusal of m is counted in.
func refusalKind(m tx.Msg) audit.Kind {
	switch m.(type) {
	case *tx.Imprint:
		return audit.PairingRefused
	case *tx.Reset:
		return audit.ResetRefused
	}
	return audit.TxRefused
}

// recordRefusal counts a refused, verified request in the interval's
// aggregated record of its kind — per camera when the camera is bound to
// this hub (so its owner sees it), hub-wide otherwise.
func (h *Hub) recordRefusal(r *http.Request, v *verified, kind audit.Kind, code string) {
	cam := tx.CameraOf(v.tx.Msg)
	if cam != (keys.Address{}) {
		if d, err := h.node.App.Device(cam); err != nil || d == nil || d.Hub != h.key.Address() {
			cam = keys.Address{}
		}
	}
	h.refusals.add(refusal{kind: kind, camera: cam, code: code, source: clientOf(r), signer: v.signers[0]})
}

// ledgerRefused records a ledger refusal of a verified transaction.
func (h *Hub) ledgerRefused(r *http.Request, v *verified, res ledger.Submitted) {
	if v == nil {
		return
	}
	h.recordRefusal(r, v, refusalKind(v.tx.Msg), ledger.CodeName(res.Code))
}
