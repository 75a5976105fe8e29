package agent

import (
	"os"
	"runtime"
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

// CamerasPerProc is how many cameras (each a main and a sub stream) the
// agent gives one processor. Recording a 1080p 4 Mbit/s main stream and its
// sub stream costs about 2 % of a core, nearly all of it waking up for
// packets; with a processor per core the runtime also wakes idle
// processors to look for work at each packet (the bench's ingest.agent_rtsp
// on two cores, release builds alternated in the same minutes: 2.40 and
// 2.76 % of a core with two, 2.01 and 2.47 % with one — 1.65 and 1.75 times
// ffmpeg reading the same streams, against 1.87 and 2.05). Four cameras still leave a
// processor most of the time idle for a backfill's hashing and TLS.
const CamerasPerProc = 4

// procsFor is the number of processors the agent runs on for cameras
// cameras on a machine of ncpu: one per CamerasPerProc, at least one, at
// most ncpu. requested > 0 (--procs) wins, also capped at ncpu.
func procsFor(cameras, requested, ncpu int) int {
	n := requested
	if n <= 0 {
		n = (cameras + CamerasPerProc - 1) / CamerasPerProc
	}
	return max(1, min(n, ncpu))
}

// setProcs applies procsFor unless GOMAXPROCS is set.
func setProcs(cameras, requested int) {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	runtime.GOMAXPROCS(procsFor(cameras, requested, runtime.NumCPU()))
}
