// Package link is the camera↔hub protocol: TLS 1.3 with both sides'
// certificates pinned at pairing, channel-bound to the ledger identities,
// carrying length-prefixed canonical-CBOR messages.
//
// Channel binding: each side signs, with its secp256k1 ledger key, a value
// exported from the TLS session (RFC 8446 §7.5, label
// "EXPORTER-camchain/v1/link"). A copied TLS key alone is therefore
// worthless: whoever answers must also hold the ledger key. Chain binding:
// the camera's Hello states its last acknowledged record; the hub's Welcome
// must state the same hash at that sequence, proving it holds the chain.
//
// The message flow and every signed layout are in docs/SPEC.md §7.
package link
