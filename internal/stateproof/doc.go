// Package stateproof is the authenticated form of the ledger state
// (docs/SPEC.md §3.4): how each state entry becomes a leaf of a Merkle
// Patricia trie, how the trie's root becomes the application hash that
// every block header signs, and the pure function a client uses to check a
// state proof against a header's app hash without trusting the hub that
// served it.
//
// The trie is go-ethereum's (package trie, the Yellow Paper's Appendix D
// trie, in production since 2015), used as a library: cosmos/iavl, the
// usual choice beside CometBFT, is not served by this project's module
// proxy, and go-ethereum is already a dependency (EIP-712 and secp256k1).
// Keys are hashed before they enter the trie, as Ethereum's secure trie does,
// so the trie stays balanced whatever keys the transactions choose and no
// key is a prefix of another.
package stateproof
