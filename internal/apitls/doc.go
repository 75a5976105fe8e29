// Package apitls is the TLS of the hub's HTTP API (docs/SPEC.md §11.10):
// the certificate the hub serves (one the user gives, or one it generates
// once and keeps in its data directory), the SHA-256 fingerprint that
// names it, and the client side that pins a fingerprint instead of asking
// a certificate authority. It also holds the one rule of which listen
// addresses may serve plain HTTP: 127.0.0.1, ::1 and localhost, nothing
// else.
package apitls
