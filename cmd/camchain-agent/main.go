// Command camchain-agent runs on a camera (or beside an RTSP camera): it
// records, chains and signs segments, keeps them locally and ships them to
// its one paired hub.
package main

import (
	"os"
	"runtime"

	"github.com/camchain/camchain/internal/agent"
)

func main() {
	// Nothing in the agent reads a heap profile; sampling one costs its
	// buckets (about 1 MB of runtime memory after a while at a camera's
	// stream, counted against the soft memory limit) and a stack walk per
	// 512 KiB allocated.
	runtime.MemProfileRate = 0
	os.Exit(agent.Main(os.Args[1:], os.Stdout, os.Stderr))
}
