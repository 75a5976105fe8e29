package signin

import "errors"

// Refusals of a message or approval; package auth names the same values.
var (
	ErrMalformed            = errors.New("malformed sign-in message")
	ErrWrongDomain          = errors.New("sign-in message is for another domain")
	ErrWrongURI             = errors.New("sign-in message is for another URI")
	ErrWrongVersion         = errors.New("sign-in message has an unsupported version")
	ErrWrongChain           = errors.New("sign-in message is for another chain id")
	ErrExpired              = errors.New("sign-in message has expired")
	ErrNotYetValid          = errors.New("sign-in message is not valid yet")
	ErrIssuedFuture         = errors.New("sign-in message is issued in the future")
	ErrOtherSigner          = errors.New("signature is by another key than the message's address")
	ErrApprovalOtherHub     = errors.New("device approval is for another hub")
	ErrApprovalOtherCode    = errors.New("device approval is for another code")
	ErrApprovalOtherAddress = errors.New("device approval is by another address than the device asked for")
)
