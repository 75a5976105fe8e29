package stateproof

// Bounds checked before a proof is decoded or looked at.
const (
	// MaxProofNodes bounds the nodes of one proof. A path is 64 nibbles;
	// a trie node consumes at least one, and the leaf one more node.
	MaxProofNodes = 66
	// MaxNodeSize bounds one node's RLP encoding: a branch node is 17
	// items of at most 33 bytes plus its list header (≤ 565 bytes); a leaf
	// holds a path of at most 33 bytes and a 32-byte leaf value.
	MaxNodeSize = 600
	// MaxValueSize bounds the value a proof speaks for (the ledger's own
	// values are far smaller).
	MaxValueSize = 1 << 16
	// MaxKeySize bounds the state key a proof speaks for.
	MaxKeySize = 256
)
