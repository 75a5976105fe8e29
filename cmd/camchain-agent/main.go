// Command camchain-agent runs on a camera (or beside an RTSP camera): it
// records, chains and signs segments, keeps them locally and ships them to
// its one paired hub.
package main

import (
	"os"

	"github.com/camchain/camchain/internal/agent"
)

func main() {
	os.Exit(agent.Main(os.Args[1:], os.Stdout, os.Stderr))
}
