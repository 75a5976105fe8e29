package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/auth"
	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/keys"
)

// startAuth opens the login service: token keys and client registry under
// <data>/auth, the public origin the sign-in messages must name.
func (h *Hub) startAuth() error {
	dir := h.cfg.authDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("auth directory: %w", err)
	}
	origin := h.cfg.PublicOrigin
	if origin == "" {
		origin = h.BaseURL()
	}
	logins, err := auth.OpenLoginLog(filepath.Join(dir, "logins"), uint64(time.Now().Unix()))
	if err != nil {
		return err
	}
	svc, err := auth.New(auth.Config{
		Origin: origin, ChainID: h.node.App.EVMChainID(), Issuer: h.key.Address(),
		Limits:      h.cfg.AuthLimits,
		KeyringPath: filepath.Join(dir, "token-keys.json"),
		ClientsPath: filepath.Join(dir, "clients.json"),
		Events:      h.authEvent,
		Log:         logins,
		Policy: func(a keys.Address) (bool, error) {
			p, err := h.node.App.LoginPolicy(a)
			return p.RequiresApproval(), err
		},
	})
	if err != nil {
		logins.Shutdown()
		return err
	}
	svc.Start()
	h.auth, h.logins = svc, logins
	return nil
}

// authEvent puts enrollments and clone alarms on the ledger's audit log,
// where the address's owner sees them. Every login, renewal and verified
// refusal is also a record of the login log, whose batches reach the
// ledger every LoginInterval (logins.go).
func (h *Hub) authEvent(e auth.Event) {
	alarm := func(kind audit.Kind) {
		if err := h.recordAlarmAbout(e.Address, kind, e.Detail, e.At); err != nil {
			h.cfg.Logger.Error("alarm not persisted", "kind", kind, "err", err)
		}
	}
	switch e.Kind {
	case auth.EventEnrolled:
		h.recordAudit(keys.Address{}, e.Address, audit.ClientEnrolled, e.Detail, e.At)
	case auth.EventClone:
		alarm(audit.ClientClone) // a security alarm: the alarm log, never dropped (SPEC §4.2)
	case auth.EventPending:
		h.recordAudit(keys.Address{}, e.Address, audit.ClientPending, e.Detail, e.At)
	case auth.EventApproved:
		h.recordAudit(keys.Address{}, e.Address, audit.ClientApproved, e.Detail, e.At)
	case auth.EventOverride:
		alarm(audit.LoginOverride)
		// The override revoked every other client of the address: their
		// open sockets end now.
		h.sockets.closeAddressExcept(e.Address, e.Client, wsForbidden, "client revoked by a wallet override")
	case auth.EventLogin, auth.EventRenewed:
		// Routine, and already a record of the login log (its batch on
		// the ledger): at debug level only, so a hub taking thousands of
		// logins a second does not write a line for each on the login's
		// path (the handler writes under its lock); the arguments are
		// built only when the line is kept.
		if h.cfg.Logger.Enabled(context.Background(), slog.LevelDebug) {
			h.cfg.Logger.Debug("auth", "event", e.Kind, "address", e.Address.Hex(), "client", e.Client.String())
		}
	default:
		h.cfg.Logger.Info("auth", "event", e.Kind, "address", e.Address.Hex(), "client", e.Client.String())
	}
}

// authErrors maps each login refusal to the API's code. The message says
// which check failed and never carries a secret.
var authErrors = []struct {
	err  error
	code api.ErrorCode
}{
	{auth.ErrRateLimited, api.ErrRateLimited},
	{auth.ErrBusy, api.ErrUnavailable},
	{signin.ErrMalformed, api.ErrBadRequest},
	{auth.ErrClientRevoked, api.ErrForbidden},
	{auth.ErrClientClone, api.ErrForbidden},
	{auth.ErrClientAddress, api.ErrForbidden},
	{auth.ErrDeviceUnknown, api.ErrNotFound},
	{auth.ErrDeviceExpired, api.ErrNotFound},
	{auth.ErrDeviceUsed, api.ErrConflict},
	{auth.ErrPendingApproval, api.ErrPendingApproval},
	{auth.ErrSelfApproval, api.ErrForbidden},
	{auth.ErrNotApprover, api.ErrForbidden},
	{auth.ErrNotPending, api.ErrConflict},
}

func authError(err error) error {
	for _, m := range authErrors {
		if errors.Is(err, m.err) {
			return api.Errorf(m.code, "%v", err)
		}
	}
	var ae *api.Error
	if errors.As(err, &ae) {
		return err
	}
	for _, r := range []error{auth.ErrBadSignature, signin.ErrOtherSigner, signin.ErrWrongDomain, signin.ErrWrongURI,
		signin.ErrWrongVersion, signin.ErrWrongChain, signin.ErrExpired, signin.ErrNotYetValid, signin.ErrIssuedFuture,
		auth.ErrUnknownNonce, auth.ErrNonceExpired, auth.ErrNonceReused, auth.ErrReplayed,
		auth.ErrUnknownClient, auth.ErrRenewalInvalid, auth.ErrNoToken, auth.ErrTokenForged,
		auth.ErrTokenExpired, auth.ErrTokenKeyRetired, auth.ErrTicketUnknown, auth.ErrTicketExpired, auth.ErrTicketReused,
		signin.ErrApprovalOtherHub, signin.ErrApprovalOtherCode, signin.ErrApprovalOtherAddress} {
		if errors.Is(err, r) {
			return api.Errorf(api.ErrUnauthenticated, "%v", err)
		}
	}
	return err
}

func clientIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.IPv4Unspecified()
	}
	return ap.Addr()
}

func (h *Hub) authNonce(*http.Request) (any, error) {
	n, exp, err := h.auth.Nonce()
	if err != nil {
		return nil, err
	}
	o := h.auth.Origin()
	return api.Nonce{Nonce: n, Expires: exp.UTC().Format(time.RFC3339), Domain: o.Host, URI: o.String(),
		ChainID: h.auth.ChainID(), Statement: api.SigninStatement}, nil
}

func (h *Hub) authLogin(r *http.Request) (any, error) {
	var req api.LoginRequest
	if err := decodeJSONBody(r, &req); err != nil {
		return nil, err
	}
	sig, err := keys.ParseSignature(req.Signature)
	if err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "signature: %v", err)
	}
	cid, head, err := parseClientHead(req.Client, req.Head)
	if err != nil {
		return nil, err
	}
	if err := wantsCookie(r, req.Cookie); err != nil {
		return nil, err
	}
	g, err := h.auth.Login(auth.LoginRequest{Message: req.Message, Signature: sig, Client: cid, Head: head}, clientIP(r))
	if err != nil {
		return nil, authError(err)
	}
	return answer(grantAnswer(g, req.Cookie)), nil
}

func (h *Hub) authRenew(r *http.Request) (any, error) {
	var req api.RenewRequest
	if err := decodeJSONBody(r, &req); err != nil {
		return nil, err
	}
	cid, head, err := parseClientHead(req.Client, req.Head)
	if err != nil {
		return nil, err
	}
	ren, err := auth.ParseRenewal(req.Renewal)
	if err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "%v", err)
	}
	if err := wantsCookie(r, req.Cookie); err != nil {
		return nil, err
	}
	g, err := h.auth.Renew(auth.RenewRequest{Client: cid, Head: head, Renewal: ren}, clientIP(r))
	if err != nil {
		return nil, authError(err)
	}
	return answer(grantAnswer(g, req.Cookie)), nil
}

// parseClientHead decodes a request's client id and login-chain head.
func parseClientHead(client, head string) (signin.ClientID, signin.Head, error) {
	cid, err := signin.ParseClientID(client)
	if err != nil {
		return cid, signin.Head{}, api.Errorf(api.ErrBadRequest, "%v", err)
	}
	hd, err := signin.ParseHead(head)
	if err != nil {
		return cid, hd, api.Errorf(api.ErrBadRequest, "%v", err)
	}
	return cid, hd, nil
}

func sessionView(g *auth.Grant) api.Session {
	s := api.Session{Address: g.Address.Hex(), Client: g.Client.String(), Head: g.Head.String(), Renewal: g.Renewal.String(),
		Enrolled: g.Enrolled, Pending: g.Pending}
	if !g.Pending {
		s.AccessToken, s.TokenType, s.Expires = g.AccessToken, "Bearer", g.Expires.UTC().Format(time.RFC3339)
	}
	return s
}

func (h *Hub) authSession(r *http.Request) (any, error) {
	s := sessionOf(r)
	return api.Whoami{Address: s.Address.Hex(), Client: s.Client.String(), Expires: s.Expires.UTC().Format(time.RFC3339)}, nil
}

func (h *Hub) authClients(r *http.Request) (any, error) {
	s := sessionOf(r)
	out := api.List[api.ClientInfo]{Items: []api.ClientInfo{}}
	for _, c := range h.auth.Clients().List(s.Address) {
		info := api.ClientInfo{Client: c.ID.String(), Enrolled: rfc3339(c.Enrolled),
			LastSeen: rfc3339(c.LastSeen), Logins: c.Logins, Revoked: rfc3339(c.Revoked), Clones: c.Clones,
			Current: c.ID == s.Client, Pending: c.Pending, Approved: rfc3339(c.Approved), Override: rfc3339(c.Override)}
		if c.Approved != 0 {
			info.By = c.ApprovedBy.String()
		}
		out.Items = append(out.Items, info)
	}
	return out, nil
}

// clientAction reads a POST /auth/clients/{client}/… request: an empty
// body and the client named in the path.
func clientAction(r *http.Request) (auth.Session, signin.ClientID, error) {
	if err := decodeJSONBody(r, &api.Empty{}); err != nil {
		return auth.Session{}, signin.ClientID{}, err
	}
	cid, err := signin.ParseClientID(r.PathValue("client"))
	if err != nil {
		return auth.Session{}, cid, api.Errorf(api.ErrBadRequest, "%v", err)
	}
	return sessionOf(r), cid, nil
}

func (h *Hub) authRevokeClient(r *http.Request) (any, error) {
	s, cid, err := clientAction(r)
	if err != nil {
		return nil, err
	}
	if err := h.auth.Clients().Revoke(s.Address, cid, time.Now()); err != nil {
		if errors.Is(err, auth.ErrUnknownClient) {
			return nil, api.Errorf(api.ErrNotFound, "%v", err)
		}
		return nil, err
	}
	h.sockets.closeClient(cid, wsForbidden, "client revoked")
	return api.RevokedClient{Client: cid.String(), Revoked: true}, nil
}

// authApproveClient lets a pending client of the caller's address in, on
// the word of the caller's own enrolled client (docs/SPEC.md §11.11); the
// hub files a hub/client-approved audit event.
func (h *Hub) authApproveClient(r *http.Request) (any, error) {
	s, cid, err := clientAction(r)
	if err != nil {
		return nil, err
	}
	if err := h.auth.ApproveClient(s, cid); err != nil {
		if errors.Is(err, auth.ErrUnknownClient) {
			return nil, api.Errorf(api.ErrNotFound, "%v", err)
		}
		return nil, authError(err)
	}
	return api.ApprovedClient{Client: cid.String(), Approved: true}, nil
}
