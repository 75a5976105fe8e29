package dies

import (
	"fmt"
	"os"
	"testing"
)

// A test whose process dies under it, as a log.Fatal in a goroutine does:
// go test gives the test no event of its own, only the package's FAIL.
func TestDiesMidway(t *testing.T) {
	fmt.Println("the last thing the dying test said")
	os.Exit(3)
}
