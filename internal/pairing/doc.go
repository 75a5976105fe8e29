// Package pairing is the Resurrecting Duckling's imprint handshake between
// an owner's camchain command and an unowned camera.
//
// The camera shows a one-time pairing Code — on its console, in a file in
// its data directory (the stand-in for a sticker, screen or LED) and as a
// QR code — holding a 160-bit secret, the camera's address, where to reach
// it and its TLS key's pin, so only someone with physical access can read
// it. The owner's command connects to the camera over TLS pinned to that
// key, presents the secret and the owner-signed Imprint, and gets back the
// camera's co-signature. The code is then spent. docs/SPEC.md §8.
package pairing
