package ledger

import (
	"errors"
	"fmt"

	"github.com/camchain/camchain/internal/tx"
)

// Codespace names camchain's result codes in ExecTxResult.
const Codespace = "camchain"

// Result codes of CheckTx and FinalizeBlock. They are part of the API:
// clients branch on them, so a code's meaning never changes.
const (
	CodeOK           uint32 = 0
	CodeEncoding     uint32 = 1  // not a strict canonical encoding of a transaction
	CodeVersion      uint32 = 2  // unknown envelope version
	CodeUnknownType  uint32 = 3  // unknown message type
	CodeWrongChain   uint32 = 4  // signed for another chain id
	CodeBadSignature uint32 = 5  // a signature is malformed or does not recover
	CodeExpired      uint32 = 6  // expiry is not after the block time
	CodeExpiryTooFar uint32 = 7  // expiry is more than tx.MaxTTL ahead
	CodeReplay       uint32 = 8  // the signer already used this nonce
	CodeUnauthorized uint32 = 9  // a valid signature, but not from whom the rule requires
	CodeNotFound     uint32 = 10 // no such camera, grant or hub
	CodeConflict     uint32 = 11 // the state forbids it now (owned, bound, not owned…)
	CodeWrongEpoch   uint32 = 12 // the message names a stale or future epoch
	CodeInvalid      uint32 = 13 // a field value is out of range
	CodeFuture       uint32 = 14 // a time the signer states is over ClockSkew ahead of the block time: the signer's clock is fast
	CodeInternal     uint32 = 99 // storage failure; the node must stop
)

// CodeName returns a short stable name for a result code.
func CodeName(c uint32) string {
	switch c {
	case CodeOK:
		return "ok"
	case CodeEncoding:
		return "encoding"
	case CodeVersion:
		return "version"
	case CodeUnknownType:
		return "unknown_type"
	case CodeWrongChain:
		return "wrong_chain"
	case CodeBadSignature:
		return "bad_signature"
	case CodeExpired:
		return "expired"
	case CodeExpiryTooFar:
		return "expiry_too_far"
	case CodeReplay:
		return "replay"
	case CodeUnauthorized:
		return "unauthorized"
	case CodeNotFound:
		return "not_found"
	case CodeConflict:
		return "conflict"
	case CodeWrongEpoch:
		return "wrong_epoch"
	case CodeInvalid:
		return "invalid"
	case CodeFuture:
		return "future"
	case CodeInternal:
		return "internal"
	}
	return fmt.Sprintf("code_%d", c)
}

// Refusal is a transaction refused with a code and a reason for the user.
type Refusal struct {
	Code   uint32
	Reason string
}

func (r *Refusal) Error() string { return CodeName(r.Code) + ": " + r.Reason }

func refuse(code uint32, format string, args ...any) *Refusal {
	return &Refusal{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// decodeRefusal maps a tx.Decode error to its code.
func decodeRefusal(err error) *Refusal {
	switch {
	case errors.Is(err, tx.ErrVersion):
		return &Refusal{CodeVersion, err.Error()}
	case errors.Is(err, tx.ErrUnknownType):
		return &Refusal{CodeUnknownType, err.Error()}
	default:
		return &Refusal{CodeEncoding, err.Error()}
	}
}
