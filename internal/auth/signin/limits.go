package signin

import "time"

// Caps on a sign-in message and a device approval (every decoder checks
// them before it allocates), and the lifetimes a client signs for.
const (
	MaxMessageBytes      = 4096 // a whole EIP-4361 message
	MaxDomainBytes       = 255
	MaxStatementBytes    = 512
	MaxURIBytes          = 512
	MaxNonceBytes        = 128
	MinNonceChars        = 8 // EIP-4361: at least 8 alphanumeric characters
	MaxRequestIDBytes    = 128
	MaxResources         = 16
	MaxApprovalBytes     = 2048
	MaxDeviceOriginBytes = 255
	MaxDeviceAgentBytes  = 256
	DefaultNonceTTL      = 5 * time.Minute  // a nonce is good this long after issue
	DefaultSkew          = 30 * time.Second // clock tolerance on issued-at / not-before
	DeviceCodeChars      = 8                // 40 bits, shown as XXXX-XXXX
)
