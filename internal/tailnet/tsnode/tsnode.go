// Package tsnode is internal/tailnet's Node on embedded Tailscale (tsnet,
// tailscale.com v1.102.5): the hub's own userspace WireGuard node, with no
// tailscaled, no TUN device and no root.
package tsnode

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"tailscale.com/client/local"
	"tailscale.com/envknob"
	"tailscale.com/tsnet"

	"github.com/camchain/camchain/internal/tailnet"
)

var _ tailnet.Joiner = Join

// Join starts the node in cfg.Dir and waits until it is up: authorised by
// the control server (with cfg.AuthKey when it is new) and given its
// tailnet addresses. The node uploads no logs to Tailscale's log service
// (a camera system's hub tells no third party what it does).
func Join(ctx context.Context, cfg tailnet.Config) (tailnet.Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("tailnet state directory: %w", err)
	}
	envknob.SetNoLogsNoSupport()
	log := cfg.Logger.With("component", "tailscale")
	s := &tsnet.Server{
		Dir:        cfg.Dir,
		Hostname:   cfg.Hostname,
		AuthKey:    cfg.AuthKey.Reveal(),
		ControlURL: cfg.ControlURL,
		// tsnet's own log lines (backend state, netmaps, DERP) at debug
		// level; what a user must act on (a login URL) at warn level.
		Logf:     func(format string, args ...any) { log.Debug(redact(fmt.Sprintf(format, args...), cfg.AuthKey)) },
		UserLogf: func(format string, args ...any) { log.Warn(redact(fmt.Sprintf(format, args...), cfg.AuthKey)) },
	}
	upCtx, cancel := context.WithTimeout(ctx, cfg.UpTimeout)
	defer cancel()
	st, err := s.Up(upCtx)
	if err != nil {
		s.Close()
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("tailnet: not up after %s (control server %s reachable? auth key valid, or the node already enrolled in %s?): %w",
				cfg.UpTimeout, controlName(cfg.ControlURL), cfg.Dir, err)
		}
		return nil, fmt.Errorf("tailnet: %w", err)
	}
	lc, err := s.LocalClient()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("tailnet: %w", err)
	}
	n := &node{s: s, lc: lc}
	for _, ip := range st.TailscaleIPs {
		if ip.Is4() {
			n.ip4 = ip
			break
		}
	}
	if !n.ip4.IsValid() {
		s.Close()
		return nil, errors.New("tailnet: the control server gave the node no IPv4 address")
	}
	if st.Self != nil {
		n.dns = strings.TrimSuffix(st.Self.DNSName, ".")
	}
	if len(st.CertDomains) > 0 && st.CurrentTailnet != nil && st.CurrentTailnet.MagicDNSEnabled {
		n.cert = st.CertDomains[0]
	}
	return n, nil
}

func controlName(u string) string {
	if u == "" {
		return "Tailscale's"
	}
	return u
}

// redact keeps the auth key out of a log line, whatever logs it.
func redact(line string, k tailnet.AuthKey) string {
	if k.IsZero() {
		return line
	}
	return strings.ReplaceAll(line, k.Reveal(), k.String())
}

type node struct {
	s    *tsnet.Server
	lc   *local.Client
	ip4  netip.Addr
	dns  string
	cert string
}

func (n *node) Listen(network, addr string) (net.Listener, error) { return n.s.Listen(network, addr) }
func (n *node) IPv4() netip.Addr                                  { return n.ip4 }
func (n *node) DNSName() string                                   { return n.dns }
func (n *node) CertDomain() string                                { return n.cert }
func (n *node) GetCertificate(hi *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return n.lc.GetCertificate(hi)
}
func (n *node) Close() error { return n.s.Close() }
