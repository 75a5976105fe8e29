// Command camchaind is the camchain hub: ledger node, camera link server,
// recording store and HTTP API.
package main

import (
	"os"

	"github.com/camchain/camchain/internal/hub"
	"github.com/camchain/camchain/internal/tailnet/tsnode"
)

func main() {
	os.Exit(hub.MainWith(os.Args[1:], os.Stdout, os.Stderr, hub.Options{TailnetJoin: tsnode.Join}))
}
