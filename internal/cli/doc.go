// Package cli implements the camchain command: the owner's wallet and the
// commands that sign ledger transactions and talk to a hub's HTTP API.
//
// Main is the whole program; cmd/camchain only calls it, and the testscript
// scenarios under testdata/ call it in-process.
package cli
