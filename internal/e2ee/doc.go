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
// Then the content (docs/SPEC.md §17.2): content.go — content keys, the
// per-segment keys derived from them, and sealed segments and parts
// (AES-256-GCM, the header authenticated); envelope.go — a content key
// wrapped with HPKE to each recipient's viewing key and signed by the
// camera; rotator.go — the camera's schedule of content keys (each
// period, and whenever the recipients change). Package recipients
// (§17.3) is how a camera learns its recipients from owner-signed
// transactions.
//
// Every primitive call is in primitives.go, the sizes and labels in
// limits.go.
package e2ee
