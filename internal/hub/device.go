package hub

import (
	"errors"
	"net/http"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/auth"
	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/keys"
)

// The device flow's routes (docs/SPEC.md §11.8): a browser without a
// wallet asks for a code, the owner's CLI looks it up and approves it with
// the wallet, the browser collects its session. All public: the approval
// signature is the authentication, and the browser's secret collects.

func (h *Hub) deviceStart(r *http.Request) (any, error) {
	var req api.DeviceStartRequest
	if err := decodeJSONBody(r, &req); err != nil {
		return nil, err
	}
	cid, head, err := parseClientHead(req.Client, req.Head)
	if err != nil {
		return nil, err
	}
	want, err := optionalAddress("address", req.Address)
	if err != nil {
		return nil, err
	}
	dc, err := h.auth.DeviceStart(auth.DeviceStart{Client: cid, Head: head, Address: want,
		Origin: r.Header.Get("Origin"), UserAgent: r.Header.Get("User-Agent"), IP: clientIP(r)})
	if err != nil {
		return nil, authError(err)
	}
	return api.DeviceCode{Request: dc.Request.String(), Code: dc.Code, Secret: dc.Secret.String(),
		Expires: dc.Expires.UTC().Format(time.RFC3339), Interval: uint64(dc.Interval / time.Second)}, nil
}

// optionalAddress parses an address that may be absent (the zero address);
// a malformed one is a bad request naming the field.
func optionalAddress(name, v string) (keys.Address, error) {
	if v == "" {
		return keys.Address{}, nil
	}
	a, err := keys.ParseAddress(v)
	if err != nil {
		return a, api.Errorf(api.ErrBadRequest, "%s: %v", name, err)
	}
	return a, nil
}

func (h *Hub) deviceInfo(r *http.Request) (any, error) {
	info, err := h.auth.DeviceLookup(r.PathValue("code"), clientIP(r))
	if err != nil {
		return nil, authError(err)
	}
	a := info.Approval
	out := api.DeviceInfo{Code: a.Code, Request: a.Request.String(), Hub: a.Hub, HubAddress: a.HubAddress.Hex(),
		ChainID: a.ChainID, DeviceOrigin: a.DeviceOrigin, DeviceIP: a.DeviceIP.String(), DeviceUserAgent: a.DeviceAgent,
		Created: info.Created.UTC().Format(time.RFC3339), Expires: info.Expires.UTC().Format(time.RFC3339)}
	if a.Address != (keys.Address{}) {
		out.Address = a.Address.Hex()
	}
	return out, nil
}

func (h *Hub) deviceApprove(r *http.Request) (any, error) {
	var req api.DeviceApproveRequest
	if err := decodeJSONBody(r, &req); err != nil {
		return nil, err
	}
	sig, err := keys.ParseSignature(req.Signature)
	if err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "signature: %v", err)
	}
	addr, err := h.auth.DeviceApprove(r.PathValue("code"), req.Message, sig, clientIP(r))
	if err != nil {
		return nil, authError(err)
	}
	return api.DeviceApproved{Approved: true, Address: addr.Hex()}, nil
}

func (h *Hub) deviceToken(r *http.Request) (any, error) {
	var req api.DeviceTokenRequest
	if err := decodeJSONBody(r, &req); err != nil {
		return nil, err
	}
	id, err := signin.ParseDeviceRequestID(req.Request)
	if err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "%v", err)
	}
	secret, err := auth.ParseDeviceSecret(req.Secret)
	if err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "%v", err)
	}
	if err := wantsCookie(r, req.Cookie); err != nil {
		return nil, err
	}
	g, err := h.auth.DevicePoll(id, secret, clientIP(r))
	if errors.Is(err, auth.ErrDevicePending) {
		return api.DeviceToken{Status: "pending"}, nil
	}
	if err != nil {
		return nil, authError(err)
	}
	sess, c := grantAnswer(g, req.Cookie)
	return answer(api.DeviceToken{Status: "approved", Session: &sess}, c), nil
}
