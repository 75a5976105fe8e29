//go:build !unix

package agent

import "net"

// listenPrivate listens on the unix socket p; outside Unix the socket's
// access is the data directory's (keys/ and the data directory are the
// agent user's).
func listenPrivate(p string) (net.Listener, error) { return net.Listen("unix", p) }
