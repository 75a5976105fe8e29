package auth

import (
	"errors"
	"fmt"

	"github.com/camchain/camchain/internal/auth/signin"
)

// Refusal reasons. Each is distinct so that a refusal says exactly what
// failed; callers match them with errors.Is. Messages never carry a secret.
var (
	// Message format and fields (package signin names the same values).
	ErrMalformed    = signin.ErrMalformed
	ErrWrongDomain  = signin.ErrWrongDomain
	ErrWrongURI     = signin.ErrWrongURI
	ErrWrongVersion = signin.ErrWrongVersion
	ErrWrongChain   = signin.ErrWrongChain
	ErrExpired      = signin.ErrExpired
	ErrNotYetValid  = signin.ErrNotYetValid
	ErrIssuedFuture = signin.ErrIssuedFuture
	ErrBadSignature = errors.New("signature does not verify")
	ErrOtherSigner  = signin.ErrOtherSigner

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
	ErrDeviceUnknown        = errors.New("device code is unknown")
	ErrDeviceExpired        = errors.New("device code has expired")
	ErrDeviceUsed           = errors.New("device code was already used")
	ErrDevicePending        = errors.New("device code is not approved yet")
	ErrApprovalOtherHub     = signin.ErrApprovalOtherHub
	ErrApprovalOtherCode    = signin.ErrApprovalOtherCode
	ErrApprovalOtherAddress = signin.ErrApprovalOtherAddress
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
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}
