// Package ledger is camchain's replicated state machine: a CometBFT ABCI 2.0
// application (App) holding camera ownership (the Resurrecting Duckling),
// hub bindings, viewer grants, checkpoint policies and records, and the
// audit log; and Node, which runs it in-process under a CometBFT validator.
//
// Transactions are the EIP-712 messages of package tx. The rules each one
// must satisfy are in exec.go and docs/SPEC.md §3; result codes are in
// code.go. The application hash is a SHA-256 chain over each block's sorted
// state changes (docs/SPEC.md §3.4): it commits to the whole state and does
// not move on blocks that change nothing.
package ledger
