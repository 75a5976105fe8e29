package auth

import (
	"errors"
	"fmt"

	"github.com/camchain/camchain/internal/auth/signin"
)

// Refusal reasons. Each is distinct so that a refusal says exactly what
// failed; callers match them with errors.Is. Messages never carry a secret.
var (
	// The message's format and fields are package signin's (ErrMalformed,
	// ErrWrongDomain, …); its signature:
	ErrBadSignature = errors.New("signature does not verify")

	// Nonces (nonce.go).
	ErrUnknownNonce = errors.New("nonce was not issued by this hub")
	ErrNonceExpired = errors.New("nonce has expired")
	ErrNonceReused  = errors.New("nonce was already used")
	ErrReplayed     = errors.New("sign-in message was already used (replay)")

	// Tokens (token.go).
	ErrNoToken         = errors.New("no access token")
	ErrTokenForged     = errors.New("access token does not verify")
	ErrTokenExpired    = errors.New("access token has expired")
	ErrTokenKeyRetired = errors.New("access token is signed with a rotated-out key")

	// Clients and the login chain (clients.go).
	ErrClientClone    = errors.New("stale login-chain head: this client is a copy")
	ErrClientRevoked  = errors.New("client was revoked")
	ErrUnknownClient  = errors.New("client is not enrolled on this hub")
	ErrClientAddress  = errors.New("client is enrolled for another address")
	ErrRenewalInvalid = errors.New("renewal does not verify")

	// WebSocket tickets (ticket.go).
	ErrTicketUnknown = errors.New("WebSocket ticket was not issued by this hub")
	ErrTicketExpired = errors.New("WebSocket ticket has expired")
	ErrTicketReused  = errors.New("WebSocket ticket was already used")

	// The device flow (device.go, approval.go).
	ErrDeviceUnknown = errors.New("device code is unknown")
	ErrDeviceExpired = errors.New("device code has expired")
	ErrDeviceUsed    = errors.New("device code was already used")
	ErrDevicePending = errors.New("device code is not approved yet")
	// The approval policy (docs/SPEC.md §11.11).
	ErrPendingApproval = errors.New("client is pending approval: an enrolled client of this address must approve it")
	ErrSelfApproval    = errors.New("a client cannot approve itself")
	ErrNotApprover     = errors.New("only an enrolled, approved client of the address may approve")
	ErrNotPending      = errors.New("client is not pending approval")

	// Limits.
	ErrRateLimited = errors.New("too many failed logins; wait and retry")
	ErrBusy        = errors.New("hub is busy; retry")
)

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", signin.ErrMalformed, fmt.Sprintf(format, a...))
}
