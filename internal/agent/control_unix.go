//go:build unix

package agent

import (
	"net"
	"sync"
	"syscall"
)

// umaskMu serialises listenPrivate's umask changes.
var umaskMu sync.Mutex

// listenPrivate listens on the unix socket p, created with mode 0600 from
// the start: the umask is narrowed around the bind, so there is no moment
// when another user could connect (a chmod after listen leaves one). The
// umask is the process's; a file another goroutine creates in that instant
// gets at most 0600 too, which is never less safe.
func listenPrivate(p string) (net.Listener, error) {
	umaskMu.Lock()
	defer umaskMu.Unlock()
	old := syscall.Umask(0o177)
	defer syscall.Umask(old)
	return net.Listen("unix", p)
}
