// Package auth is the hub's front door: passwordless login by Sign-In with
// Ethereum (EIP-4361, signed with EIP-191 personal_sign), short-lived access
// tokens (JWT, HMAC-SHA256 keys with key ids that rotate without logging
// anyone out at once), and the login chain that makes a copied client
// useless (docs/SPEC.md §11).
//
// The pieces, one per file:
//   - signin/     the client's side, which a camera links alone: the EIP-4361
//     message (a strict parser, fuzzed here) and its
//     field checks against the hub's origin, chain id and clock;
//   - nonce.go    single-use, short-lived nonces: stateless (MAC'd) until
//     used, so a flood of nonce requests costs the hub no memory;
//   - token.go    access tokens and the keyring that signs them;
//   - chain.go    the login record and its hash (the client id and head are
//     signin's);
//   - clients.go  the enrolled clients, their heads and renewal secrets;
//   - ratelimit.go failed attempts per address and per client IP;
//   - service.go  Login, Renew and Authenticate, which tie them together.
//
// Every refusal is a distinct sentinel error (errors.go), so a caller, a
// test and a log line can say exactly why a login failed. Authentication
// says who is asking; what they may see is the hub's business (authorization
// from the ledger state), not this package's: any wallet may log in.
package auth
