// Package hub is camchaind, the home hub: it holds the hub's secp256k1
// identity, runs the ledger node in-process, and serves the versioned JSON
// API (package api) over HTTP.
//
// A data directory made by Init holds everything:
//
//	FORMAT                 data-directory format version
//	keys/hub/UTC--…        the hub key, Web3 Secret Storage v3
//	keys/hub.passphrase    its passphrase (0600; see docs/OPERATIONS.md)
//	ledger/                the CometBFT home: config, validator key, blocks, app state
package hub
