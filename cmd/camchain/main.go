// Command camchain is the owner's tool: wallet, login, pairing, sharing,
// verification of clips and evidence export.
package main

import (
	"os"

	"github.com/camchain/camchain/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
