package agent

import (
	"os"
	"runtime/debug"
)

// DefaultMemoryLimit is the agent's soft memory limit. A camera has little
// RAM; the agent's live heap is a few MiB plus the segment in flight, and
// without a limit the Go runtime sets its first garbage-collection goal
// from the 32 MiB scrypt buffer of the key unseal, letting garbage grow to
// ~80 MiB before collecting.
const DefaultMemoryLimit = 12 << 20

// setMemoryLimit applies a soft limit unless GOMEMLIMIT is set.
func setMemoryLimit(limit int64) {
	if limit <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(limit)
}

// releaseUnsealMemory returns the key-unseal buffers to the OS at once.
func releaseUnsealMemory() { debug.FreeOSMemory() }
