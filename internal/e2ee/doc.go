// Package e2ee is camchain's end-to-end encryption (docs/SPEC.md §17):
// the hub, its disk, any copy of it and a pulled card hold only ciphertext.
//
// This file set starts with the viewing key (viewingkey.go): every user's
// HPKE (RFC 9180) key pair for the hybrid post-quantum KEM X-Wing
// (ML-KEM-768 + X25519, crypto/hpke's MLKEM768X25519), derived from the
// wallet — a signature of a fixed, domain-separated message, through HKDF,
// into the 32-byte seed that is the KEM's private key — so the same 24
// words and passphrase give the same viewing key in the CLI and in a
// browser wallet, and there is nothing new to back up. Losing the wallet
// loses the viewing key, and with it every recording encrypted to it.
//
// Every primitive call is in primitives.go, the sizes and labels in
// limits.go.
package e2ee
