package agent

import (
	"os"
	"runtime/debug"
)

// DefaultMemoryLimit is the agent's soft memory limit. A camera has little
// RAM; without a limit the Go runtime lets garbage grow with the heap goal
// it first sets (36 MB of RSS at a 4 Mbit/s RTSP main + sub stream).
//
// The limit counts the runtime's own memory too (about 5.5 MiB at that
// load: GC metadata, stacks, fragmentation) beside a live heap of about
// 3 MiB. At 12 MiB the goal was pressed down to the live heap and the
// collector ran ten times a second (the bench's ingest.agent_rtsp: 5.8 %
// of a core, 22.4 MB RSS); at 14 MiB it runs about twice a second (2.5 %,
// 24.4 MB), at 16 MiB 2.4 % but 25.6 MB.
const DefaultMemoryLimit = 14 << 20

// setMemoryLimit applies a soft limit unless GOMEMLIMIT is set.
func setMemoryLimit(limit int64) {
	if limit <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(limit)
}

// releaseUnsealMemory returns the key-unseal buffers to the OS at once.
func releaseUnsealMemory() { debug.FreeOSMemory() }
