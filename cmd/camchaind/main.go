// Command camchaind is the camchain hub: ledger node, camera link server,
// recording store and HTTP API.
package main

import (
	"os"

	"github.com/camchain/camchain/internal/hub"
)

func main() {
	os.Exit(hub.Main(os.Args[1:], os.Stdout, os.Stderr))
}
