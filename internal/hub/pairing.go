package hub

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/pairing"
	"github.com/camchain/camchain/internal/store"
	"github.com/camchain/camchain/internal/tx"
)

func (h *Hub) linkInfo(*http.Request) (any, error) {
	return api.LinkInfo{HubAddress: h.key.Address().Hex(), LinkAddress: h.linkAdvertise, TLSPin: h.linkID.Pin.String()}, nil
}

// decodeJSONBody reads one JSON object, strictly.
func decodeJSONBody(r *http.Request, v any) error {
	body, err := api.ReadLimited(r.Body, r.ContentLength, maxBodyBytes+1)
	if err != nil {
		return api.Errorf(api.ErrBadRequest, "read body: %v", err)
	}
	if len(body) > maxBodyBytes {
		return api.Errorf(api.ErrBadRequest, "body over %d bytes", maxBodyBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return api.Errorf(api.ErrBadRequest, "body: %v", err)
	}
	if dec.More() {
		return api.Errorf(api.ErrBadRequest, "body must be one JSON object, nothing after it")
	}
	return nil
}

func hexTx(s, name string) ([]byte, error) {
	raw, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil || len(raw) == 0 {
		return nil, api.Errorf(api.ErrBadRequest, "%q must be 0x-prefixed hex of a signed transaction", name)
	}
	return raw, nil
}

// pair submits a camera's imprint (and a pending reset first, if the
// camera carried one) and, once it is on the ledger, pins the camera's TLS
// key for the link. Every outcome is an audit event.
func (h *Hub) pair(r *http.Request) (any, error) {
	var req api.PairRequest
	if err := decodeJSONBody(r, &req); err != nil {
		return nil, err
	}
	raw, err := hexTx(req.Tx, "tx")
	if err != nil {
		return nil, err
	}
	pin, err := link.ParsePin(req.CameraTLSPin)
	if err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "camera_tls_pin: %v", err)
	}
	t, err := tx.Decode(raw)
	if err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "tx: %v", err)
	}
	imp, ok := t.Msg.(*tx.Imprint)
	if !ok {
		return nil, api.Errorf(api.ErrBadRequest, "tx must be an Imprint, not %s", t.Msg.Type())
	}
	// Signatures before anything else (SPEC §4.1): an imprint the owner and
	// the camera did not both sign changes nothing, and is recorded nowhere.
	v := verify(raw)
	if v == nil || v.signers[0] != imp.Owner || v.signers[1] != imp.Camera {
		return nil, api.Errorf(api.ErrBadRequest, "the imprint's signatures do not verify: it must be signed by its owner, then by its camera")
	}
	if imp.Hub != h.key.Address() {
		return nil, api.Errorf(api.ErrBadRequest, "the imprint binds the camera to hub %s, not to this hub %s", imp.Hub.Hex(), h.key.Address().Hex())
	}
	// The TLS key pinned for the link must be the camera's word, bound to
	// this imprint: whoever relays the request cannot substitute it.
	sigRaw, err := hex.DecodeString(strings.TrimPrefix(req.CameraPinSig, "0x"))
	var pinSig keys.Signature
	if err != nil || len(sigRaw) != len(pinSig) {
		return nil, api.Errorf(api.ErrBadRequest, "camera_tls_pin_sig must be 0x-prefixed hex of a %d-byte signature", len(pinSig))
	}
	copy(pinSig[:], sigRaw)
	d, err := t.Digest()
	if err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "tx: %v", err)
	}
	if err := pairing.VerifyPin(imp.Camera, d, pin, pinSig); err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "camera_tls_pin: %v", err)
	}
	var rraw []byte
	if req.ResetTx != "" {
		if rraw, err = hexTx(req.ResetTx, "reset_tx"); err != nil {
			return nil, err
		}
		rv := verify(rraw)
		if rv == nil || rv.tx.Msg.Type() != tx.TypeReset || rv.signers[0] != imp.Camera || tx.CameraOf(rv.tx.Msg) != imp.Camera {
			return nil, api.Errorf(api.ErrBadRequest, "reset_tx must be a Reset of camera %s signed by that camera", imp.Camera.Hex())
		}
	}
	if err := h.admit(r, v); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*submitTimeout)
	defer cancel()
	out := api.PairResult{Camera: imp.Camera.Hex(), Owner: imp.Owner.Hex(), Hub: imp.Hub.Hex(), Epoch: imp.Epoch}
	if rraw != nil {
		res, err := h.node.Submit(ctx, rraw)
		if err != nil && !errors.Is(err, ledger.ErrDuplicate) {
			return nil, submitError(err, txResult(res))
		}
		rr := txResult(res)
		out.Reset = &rr
		// A reset the ledger already has (or that no longer applies) is no
		// reason to stop: the imprint below decides.
	}
	res, err := h.node.Submit(ctx, raw)
	out.Imprint = txResult(res)
	if err := submitError(err, out.Imprint); err != nil {
		return nil, err
	}
	if res.Code != ledger.CodeOK {
		h.ledgerRefused(r, v, res)
		e := api.Errorf(api.ErrRefused, "the ledger refused the imprint: %s: %s", out.Imprint.CodeName, res.Log)
		e.Result = &out.Imprint
		return nil, e
	}
	if err := h.savePairing(pairingRecord{Version: 1, Camera: imp.Camera.Hex(), Epoch: imp.Epoch, Owner: imp.Owner.Hex(),
		TLSPin: pin.String(), PairedAt: time.Now().UTC()}); err != nil {
		return nil, err
	}
	h.recordAudit(imp.Camera, imp.Owner, audit.Pairing, "camera paired with this hub; TLS key "+pin.String()[:16]+"…", time.Now())
	return out, nil
}

func txResult(s ledger.Submitted) api.TxResult {
	return api.TxResult{Hash: hexHash(s.Hash[:]), Code: s.Code, CodeName: ledger.CodeName(s.Code), Log: s.Log, Height: s.Height}
}

func (h *Hub) recordings(r *http.Request) (any, error) {
	p, err := h.devicePageQuery(r, defaultLimit, maxLimit)
	if err != nil {
		return nil, err
	}
	d, epoch, from, limit := p.dev, p.epoch, p.from, p.limit
	out := api.Recordings{Camera: d.Camera.Hex(), Epoch: epoch, Stream: p.stream.String(), Items: []api.Recording{},
		Live: h.linkSrv.Live(d.Camera, p.stream)}
	c, err := h.store.LookupStream(p.ref())
	if errors.Is(err, store.ErrNotFound) {
		return out, nil // nothing recorded in that epoch
	}
	if err != nil {
		return nil, err
	}
	head := c.Head()
	if !head.Valid {
		return out, nil
	}
	hs := head.Seq
	out.Head = &hs
	ix, err := h.integrityIndex(c)
	if err != nil {
		return nil, err
	}
	hist := historyFrom(r)
	c.Range(from, head.Seq+1, func(si store.SegmentInfo) bool {
		if si.Start.Unix() < int64(hist) {
			return true // before the viewer's grant reaches back
		}
		if len(out.Items) == limit {
			out.Next = strconv.FormatUint(si.Seq, 10)
			return false
		}
		state, ck := ix.of(si.Seq)
		if si.Missing {
			state = IntegrityFailed // the file is gone though retention did not delete it
		}
		rec := api.Recording{Seq: si.Seq, Start: si.Start.UTC().Format(time.RFC3339Nano),
			Duration: si.Duration.Seconds(), Size: si.Size, Hash: hexHash(si.Hash[:]), Pruned: si.Pruned || si.Missing,
			Stream: si.Stream.String(), Clock: si.Clock.String(),
			Integrity: state}
		if ck != nil {
			rec.CheckpointHeight = ck.Height
		}
		out.Items = append(out.Items, rec)
		return true
	})
	return out, nil
}
