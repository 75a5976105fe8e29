// Command camchain-testcam is a stand-in IP camera: an RTSP server that
// plays the built-in sample clip at rtsp://ADDR/sample and re-serves any
// stream published into it (see internal/testcam).
package main

import (
	"os"

	"github.com/camchain/camchain/internal/testcam"
)

func main() { os.Exit(testcam.Main(os.Args[1:], os.Stdout, os.Stderr)) }
