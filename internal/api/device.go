package api

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/keys"
)

// StartDevice asks for a device code, as a browser without a wallet does
// (docs/SPEC.md §11.8).
func (c *Client) StartDevice(ctx context.Context, client signin.ClientID, head signin.Head) (*DeviceCode, error) {
	req := DeviceStartRequest{Client: client.String()}
	if !head.IsZero() {
		req.Head = head.String()
	}
	var out DeviceCode
	return &out, c.do(ctx, http.MethodPost, "/auth/device", nil, req, &out)
}

// PollDevice asks whether a device code was approved; the session comes
// once, with status "approved".
func (c *Client) PollDevice(ctx context.Context, dc *DeviceCode) (*DeviceToken, error) {
	var out DeviceToken
	return &out, c.do(ctx, http.MethodPost, "/auth/device/token", nil, DeviceTokenRequest{Request: dc.Request, Secret: dc.Secret}, &out)
}

// DeviceInfo returns what the hub recorded of the device that shows code.
func (c *Client) DeviceInfo(ctx context.Context, code string) (*DeviceInfo, error) {
	var out DeviceInfo
	return &out, c.do(ctx, http.MethodGet, "/auth/device/"+url.PathEscape(code), nil, nil, &out)
}

// Approval is the approval of the request i describes, by addr, at now:
// the text to sign.
func (i *DeviceInfo) Approval(addr keys.Address, now time.Time) (*signin.Approval, error) {
	hubAddr, err := keys.ParseAddress(i.HubAddress)
	if err != nil {
		return nil, fmt.Errorf("hub address: %w", err)
	}
	req, err := signin.ParseDeviceRequestID(i.Request)
	if err != nil {
		return nil, err
	}
	ip, err := netip.ParseAddr(i.DeviceIP)
	if err != nil {
		return nil, fmt.Errorf("device IP: %w", err)
	}
	a := &signin.Approval{Hub: i.Hub, HubAddress: hubAddr, ChainID: i.ChainID, Code: i.Code, Request: req,
		DeviceOrigin: i.DeviceOrigin, DeviceIP: ip, DeviceAgent: i.DeviceUserAgent,
		Address: addr, IssuedAt: now.UTC().Format(time.RFC3339)}
	// What the wallet signs must parse as the hub will parse it.
	if _, err := signin.ParseApproval(a.String()); err != nil {
		return nil, fmt.Errorf("the hub's device answer does not make a valid approval: %w", err)
	}
	return a, nil
}

// ApproveDevice signs the approval a (personal_sign) and posts it.
func (c *Client) ApproveDevice(ctx context.Context, a *signin.Approval, sign func(msg []byte) (keys.Signature, error)) (*DeviceApproved, error) {
	text := a.String()
	sig, err := sign([]byte(text))
	if err != nil {
		return nil, err
	}
	var out DeviceApproved
	return &out, c.do(ctx, http.MethodPost, "/auth/device/"+url.PathEscape(a.Code)+"/approve", nil,
		DeviceApproveRequest{Message: text, Signature: sig.Hex()}, &out)
}
