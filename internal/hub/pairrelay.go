package hub

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/pairing"
	"github.com/camchain/camchain/internal/tx"
)

// maxRelays bounds the pairing relays in flight: each holds a TLS
// connection to a camera for up to pairing.PairingTimeout.
const maxRelays = 4

// pairRelay is POST /pairings/relay (SPEC §12.3): the hub carries a
// browser's pairing request to the camera the code names — a page cannot
// open the camera's pinned-TLS pairing port — and hands back the camera's
// answer as it came. The hub dials only for the logged-in caller's own,
// validly signed imprint binding the camera to this hub, over TLS pinned
// to the code's key; the page checks the camera's signatures itself before
// it submits the imprint with POST /pairings.
func (h *Hub) pairRelay(r *http.Request) (any, error) {
	var req api.PairRelayRequest
	if err := decodeJSONBody(r, &req); err != nil {
		return nil, err
	}
	code, err := pairing.ParseCode(req.Code)
	if err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "code: %v", err)
	}
	if code.Expired(time.Now()) {
		return nil, api.Errorf(api.ErrBadRequest, "this pairing code has expired; the camera shows a new one")
	}
	owner, err := keys.ParseAddress(req.Owner)
	if err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "owner: %v", err)
	}
	if owner != sessionOf(r).Address {
		return nil, api.Errorf(api.ErrForbidden, "%s may relay only its own imprint (owner %s)", sessionOf(r).Address.Hex(), owner.Hex())
	}
	dom := tx.Domain(req.Domain)
	if !dom.Valid() {
		return nil, api.Errorf(api.ErrBadRequest, "domain must be %d or %d", tx.DomainV1, tx.DomainV2)
	}
	nonce, err := strconv.ParseUint(req.Nonce, 10, 64)
	if err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "nonce %q: want a decimal uint64", req.Nonce)
	}
	if req.Expiry <= now() || req.Expiry > uint64(time.Now().Add(tx.MaxTTL).Unix()) {
		return nil, api.Errorf(api.ErrBadRequest, "expiry must be in the future and within %s", tx.MaxTTL)
	}
	sig, err := keys.ParseSignature(req.OwnerSig)
	if err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "owner_sig: %v", err)
	}
	policy, err := decodeHexField("encryption_tx", req.EncryptionTx)
	if err != nil {
		return nil, err
	}
	vkTx, err := decodeHexField("viewing_key_tx", req.ViewingKeyTx)
	if err != nil {
		return nil, err
	}
	preq := &pairing.Request{Secret: code.Secret, EVMChainID: h.node.App.EVMChainID(), Owner: owner, Hub: h.key.Address(),
		Epoch: req.Epoch, Nonce: nonce, Expiry: req.Expiry, OwnerSig: sig,
		HubLink: h.linkAdvertise, HubPin: h.linkID.Pin, HubAPI: h.cameraAPI(), Domain: req.Domain,
		Encryption: policy, ViewingKey: vkTx}
	d, err := preq.ImprintDigest(code.Camera)
	if err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "%v", err)
	}
	// The owner's signature first: the hub opens no connection for an
	// imprint its caller did not sign.
	if who, err := keys.Recover(d, sig); err != nil || who != owner {
		return nil, api.Errorf(api.ErrBadRequest, "owner_sig is not %s's signature of the imprint of camera %s to this hub", owner.Hex(), code.Camera.Hex())
	}
	// The camera checks the policy itself (a hub cannot strip or forge
	// it); checking it here only spares the code of a request it refuses.
	if _, err := preq.Policy(code.Camera); err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "%v", err)
	}
	select {
	case h.relaySlots <- struct{}{}:
		defer func() { <-h.relaySlots }()
	default:
		return nil, api.Errorf(api.ErrRateLimited, "%d pairings are being relayed; try again in a moment", maxRelays)
	}
	ctx, cancel := context.WithTimeout(r.Context(), pairing.PairingTimeout)
	defer cancel()
	resp, err := pairing.Dial(ctx, code, preq)
	switch {
	case errors.Is(err, pairing.ErrCameraRefused):
		return nil, api.Errorf(api.ErrRefused, "%v", err)
	case err != nil:
		// Unreachable, a TLS key that is not the code's, a broken answer:
		// the message names which, never a secret.
		return nil, api.Errorf(api.ErrUnavailable, "%s", strings.TrimSpace(err.Error()))
	}
	out := api.PairRelayResult{CameraSig: resp.CameraSig.Hex(), CameraTLSPin: resp.CameraPin.String(),
		CameraPinSig: "0x" + hex.EncodeToString(resp.PinSig[:])}
	if len(resp.PendingReset) > 0 {
		out.PendingReset = "0x" + hex.EncodeToString(resp.PendingReset)
	}
	return out, nil
}

// decodeHexField decodes a 0x hex field of a request body ("" is none).
func decodeHexField(name, v string) ([]byte, error) {
	if v == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(strings.TrimPrefix(v, "0x"))
	if err != nil || !strings.HasPrefix(v, "0x") {
		return nil, api.Errorf(api.ErrBadRequest, "%s: want 0x hex", name)
	}
	return b, nil
}
