package api

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrorCode is a machine-readable error class.
type ErrorCode string

// The error codes and, in one table, the HTTP status each maps to.
const (
	ErrBadRequest      ErrorCode = "bad_request"
	ErrUnauthenticated ErrorCode = "unauthenticated"  // no valid access token: log in
	ErrForbidden       ErrorCode = "forbidden"        // logged in, but the ledger does not let this address see it
	ErrPendingApproval ErrorCode = "pending_approval" // the client waits for an enrolled client's approval (SPEC §11.11)
	ErrRateLimited     ErrorCode = "rate_limited"     // over a submission budget (SPEC §4.1) or too many failed logins (§11.5); retry later
	ErrNotFound        ErrorCode = "not_found"
	ErrConflict        ErrorCode = "conflict"
	ErrRefused         ErrorCode = "refused" // the ledger refused the transaction; see TxResult
	ErrUnavailable     ErrorCode = "unavailable"
	ErrTimeout         ErrorCode = "timeout"
	ErrInternal        ErrorCode = "internal"
)

var statusOf = map[ErrorCode]int{
	ErrBadRequest:      http.StatusBadRequest,
	ErrUnauthenticated: http.StatusUnauthorized,
	ErrForbidden:       http.StatusForbidden,
	ErrPendingApproval: http.StatusForbidden,
	ErrRateLimited:     http.StatusTooManyRequests,
	ErrNotFound:        http.StatusNotFound,
	ErrConflict:        http.StatusConflict,
	ErrRefused:         http.StatusUnprocessableEntity,
	ErrUnavailable:     http.StatusServiceUnavailable,
	ErrTimeout:         http.StatusGatewayTimeout,
	ErrInternal:        http.StatusInternalServerError,
}

// HTTPStatus returns the status for code (500 for an unknown code).
func HTTPStatus(code ErrorCode) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error is the body of every non-2xx response: {"error": {...}}.
type Error struct {
	Code    ErrorCode `json:"code"`
	Message string    `json:"message"`
	// Result is set when the ledger refused a transaction.
	Result *TxResult `json:"result,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf builds an *Error.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorBody is the JSON envelope of an Error.
type ErrorBody struct {
	Error *Error `json:"error"`
}

// CodeOf returns the ErrorCode of err, or ErrInternal.
func CodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ErrInternal
}

// CodeForStatus is the error code an HTTP status stands for (ErrInternal
// for a status of no code).
func CodeForStatus(s int) ErrorCode {
	for c, st := range statusOf {
		if st == s {
			return c
		}
	}
	return ErrInternal
}
