package tailnet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"
)

// MaxAuthKeyBytes bounds an auth key read from the environment or a file
// (Tailscale's are about 60 bytes, headscale's 48 hex digits).
const MaxAuthKeyBytes = 512

// DefaultUpTimeout bounds how long the hub waits for the node to be up at
// start (control server reached, node authorised, addresses assigned).
const DefaultUpTimeout = 2 * time.Minute

// AuthKeyEnv is the environment variable the hub reads its auth key from,
// Tailscale's usual name.
const AuthKeyEnv = "TS_AUTHKEY"

// AuthKey is a tailnet auth key (pre-auth key): a secret that lets whoever
// holds it add a node to the tailnet. It never prints: String and the log
// value are redacted, so a key cannot reach a log line or an error by
// accident. Only a Joiner reads it (Reveal).
type AuthKey struct{ s string }

// ParseAuthKey checks an auth key: printable ASCII without spaces, 1 to
// MaxAuthKeyBytes bytes, surrounding white space (a file's newline) trimmed.
func ParseAuthKey(s string) (AuthKey, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return AuthKey{}, errors.New("tailnet auth key: empty")
	}
	if len(t) > MaxAuthKeyBytes {
		return AuthKey{}, fmt.Errorf("tailnet auth key: %d bytes, at most %d", len(t), MaxAuthKeyBytes)
	}
	for i := 0; i < len(t); i++ {
		if t[i] <= ' ' || t[i] > '~' {
			return AuthKey{}, fmt.Errorf("tailnet auth key: byte %d is not printable ASCII", i)
		}
	}
	return AuthKey{t}, nil
}

// ReadAuthKeyFile reads an auth key from a file (at most MaxAuthKeyBytes
// plus a newline).
func ReadAuthKeyFile(path string) (AuthKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return AuthKey{}, fmt.Errorf("tailnet auth key file: %w", err)
	}
	defer f.Close()
	b := make([]byte, MaxAuthKeyBytes+3)
	n, _ := f.Read(b)
	if n > MaxAuthKeyBytes+2 {
		return AuthKey{}, fmt.Errorf("tailnet auth key file %s: more than %d bytes", path, MaxAuthKeyBytes)
	}
	k, err := ParseAuthKey(string(b[:n]))
	if err != nil {
		return AuthKey{}, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// IsZero reports whether no key is set.
func (k AuthKey) IsZero() bool { return k.s == "" }

// Reveal returns the key itself, for the Joiner that hands it to the
// control server; nothing else calls it.
func (k AuthKey) Reveal() string { return k.s }

// String never shows the key.
func (k AuthKey) String() string {
	if k.s == "" {
		return "(none)"
	}
	return "(redacted)"
}

// GoString never shows the key either (%#v).
func (k AuthKey) GoString() string { return "tailnet.AuthKey" + k.String() }

// LogValue keeps the key out of structured logs.
func (k AuthKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// Config is the hub's node on a tailnet.
type Config struct {
	// Dir keeps the node's state (its node key, the control server's
	// answers): <hub data>/tailscale, mode 0700. Once the node is
	// authorised there, the auth key is no longer needed.
	Dir string
	// Hostname is the node's name on the tailnet (its MagicDNS name's
	// first label); default "camchain".
	Hostname string
	// AuthKey authorises a new node; zero once the node is enrolled (a
	// node with no state and no key fails to come up: there is no one to
	// open an interactive login URL).
	AuthKey AuthKey
	// ControlURL is the coordination server: "" for Tailscale's own, or a
	// headscale server's URL.
	ControlURL string
	// UpTimeout bounds the wait for the node to be up (DefaultUpTimeout).
	UpTimeout time.Duration
	Logger    *slog.Logger
}

// Validate fills defaults and checks the configuration.
func (c *Config) Validate() error {
	if c.Dir == "" {
		return errors.New("tailnet: no state directory")
	}
	if c.Hostname == "" {
		c.Hostname = "camchain"
	}
	for i := 0; i < len(c.Hostname); i++ {
		b := c.Hostname[i]
		if !(b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b >= 'A' && b <= 'Z') || len(c.Hostname) > 63 {
			return fmt.Errorf("--tailscale-hostname %q: want a DNS label (letters, digits, '-'; at most 63)", c.Hostname)
		}
	}
	if c.ControlURL != "" && !strings.HasPrefix(c.ControlURL, "https://") && !strings.HasPrefix(c.ControlURL, "http://") {
		return fmt.Errorf("--tailscale-control-url %q: want an http(s):// URL", c.ControlURL)
	}
	if c.UpTimeout == 0 {
		c.UpTimeout = DefaultUpTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Node is the hub's running node on the tailnet.
type Node interface {
	// Listen listens for TCP on the node's tailnet addresses only.
	Listen(network, addr string) (net.Listener, error)
	// IPv4 is the node's tailnet IPv4 address (100.x.y.z).
	IPv4() netip.Addr
	// DNSName is the node's MagicDNS name without the final dot ("" when
	// the tailnet has none).
	DNSName() string
	// CertDomain is the name the tailnet issues an HTTPS certificate for
	// ("" when it issues none, as headscale does).
	CertDomain() string
	// GetCertificate fetches (and renews) the tailnet's certificate for
	// CertDomain, for a tls.Config.
	GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// Close leaves the tailnet (the node keeps its state in Dir).
	Close() error
}

// Joiner starts a node and returns once it is up on the tailnet.
type Joiner func(ctx context.Context, cfg Config) (Node, error)
