// Package signin is the client's side of signing in to a hub, and the
// formats both sides share: the EIP-4361 message (a strict parser, fuzzed
// in package auth, and its field checks), the client id and login-chain
// head a client presents, and the device flow's approval text and code
// (docs/SPEC.md §11).
//
// It is apart from package auth, which holds the hub's side (nonces,
// access tokens, the client registry, the login log), so that a program
// that only signs in — the camera agent — links none of that. The hub's
// side uses this package's types, errors and limits as they are: package
// auth does not rename them.
package signin
