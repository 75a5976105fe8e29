// Package ledger is camchain's replicated state machine: a CometBFT ABCI 2.0
// application (App) holding camera ownership (the Resurrecting Duckling),
// hub bindings, viewer grants, checkpoint policies and records, and the
// audit log; and Node, which runs it in-process under a CometBFT validator.
//
// Transactions are the EIP-712 messages of package tx. The rules each one
// must satisfy are in exec.go and docs/SPEC.md §3; result codes are in
// code.go. The application hash is the root of an authenticated tree over
// the current state (tree.go, package stateproof, docs/SPEC.md §3.4): a
// validator re-derives it from its stored state at every start and stops if
// it differs, and any state entry can be proven to a client against a signed
// header. It does not move on blocks that change nothing.
package ledger
