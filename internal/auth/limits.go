package auth

import "time"

// MaxTokenBytes caps an access token a request may carry; package signin
// caps the sign-in message's fields. Every decoder checks them before it
// allocates.
const MaxTokenBytes = 2048

// The device flow's lifetimes and bounds.
const (
	DeviceCodeTTL          = 5 * time.Minute // a code, and the session it leads to, must be used within this
	DevicePollInterval     = 2 * time.Second // how often a device should poll (advisory)
	MaxDeviceRequests      = 4096            // outstanding at once
	MaxDeviceRequestsPerIP = 16              // outstanding from one client IP (IPv6 /64)
)

// Default lifetimes and tolerances.
const (
	DefaultTokenTTL = 15 * time.Minute // an access token's life
	// DefaultKeyRotation is how long a token signing key stays current.
	// A key keeps verifying for one token lifetime after it stops being
	// current, so a rotation logs nobody out.
	DefaultKeyRotation = 24 * time.Hour
)

// Default rate limits on failed logins (configurable; tests and benchmarks
// set their own).
const (
	DefaultFailuresPerIP      = 30
	DefaultFailuresPerAddress = 10
	DefaultLimitWindow        = time.Minute
	// maxLimiterKeys bounds the limiter's memory: a flood from many sources
	// cannot grow it past this many counters.
	maxLimiterKeys = 1 << 16
	// maxUsedNonces bounds the memory holding used nonces (each entry lives
	// one nonce lifetime).
	maxUsedNonces = 1 << 20
	// pastHeads is how many superseded (head, renewal) pairs a client keeps,
	// so a copy taken up to this many logins ago is recognised as a clone.
	pastHeads = 16
)
