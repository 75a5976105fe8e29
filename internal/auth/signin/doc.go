// Package signin is the client's side of signing in to a hub, and the
// formats both sides share: the EIP-4361 message (a strict parser, fuzzed
// in package auth, and its field checks), the client id and login-chain
// head a client presents, and the device flow's approval text and code
// (docs/SPEC.md §11).
//
// It is apart from package auth, which holds the hub's side (nonces,
// access tokens, the client registry, the login log), so that a program
// that only signs in — the camera agent — links none of that. Package auth
// names every type, error and limit of this package under the same name.
package signin
