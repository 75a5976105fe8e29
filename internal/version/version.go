// Package version is the release a camchain binary was built as. The
// release build (tools/release, `make release`) sets Version with
//
//	-ldflags "-X github.com/camchain/camchain/internal/version.Version=v1.2.3"
//
// A plain `go build` leaves it "dev". Every program prints it with
// --version, so an installed package can be told apart from a checkout.
package version

import (
	"fmt"
	"runtime"
)

// Version is the release, or "dev" for a build outside tools/release.
var Version = "dev"

// String is what --version prints after the program's name: the release,
// the Go toolchain and the platform, e.g. "v0.5.0 (go1.26.8 linux/arm64)".
func String() string {
	return fmt.Sprintf("%s (%s %s/%s)", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
