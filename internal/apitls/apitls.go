package apitls

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/atomicfile"
)

// Fingerprint is the SHA-256 of a certificate's DER encoding, the figure
// browsers show as the certificate's "SHA-256 fingerprint".
type Fingerprint [32]byte

// Of returns the fingerprint of a DER certificate.
func Of(der []byte) Fingerprint { return sha256.Sum256(der) }

// String is 64 lower-case hex digits.
func (f Fingerprint) String() string { return hex.EncodeToString(f[:]) }

// IsZero reports whether f is unset.
func (f Fingerprint) IsZero() bool { return f == Fingerprint{} }

// Equal compares in constant time.
func (f Fingerprint) Equal(g Fingerprint) bool { return subtle.ConstantTimeCompare(f[:], g[:]) == 1 }

// ParseFingerprint reads 64 hex digits in either case, optionally split by
// colons (as browsers print it) and prefixed "sha256:".
func ParseFingerprint(s string) (Fingerprint, error) {
	var f Fingerprint
	t := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "sha256:"), "SHA256:")
	t = strings.ReplaceAll(t, ":", "")
	if len(t) != 64 {
		return f, fmt.Errorf("TLS fingerprint %q: want the 64 hex digits of a SHA-256", s)
	}
	if _, err := hex.Decode(f[:], []byte(t)); err != nil || f.IsZero() {
		return Fingerprint{}, fmt.Errorf("TLS fingerprint %q: want the 64 hex digits of a SHA-256", s)
	}
	return f, nil
}

// PlainHTTPAllowed reports whether the API may listen on host without TLS:
// only on 127.0.0.1, ::1 and localhost. Every other address — another
// loopback address such as 127.0.0.2 included, the unspecified 0.0.0.0
// and ::, and every name — serves HTTPS only.
func PlainHTTPAllowed(host string) bool {
	switch strings.ToLower(strings.Trim(host, "[]")) {
	case "127.0.0.1", "::1", "localhost":
		return true
	}
	return false
}

// certValidity is a generated certificate's life: it is pinned, so it must
// not expire under its users; a new one means a new pin.
const certValidity = 20 * 365 * 24 * time.Hour

// LoadOrCreate returns the hub's generated certificate kept at path (key
// and certificate, PEM, mode 0600), making one if path does not exist:
// ECDSA P-256, self-signed, naming hosts (IP addresses or DNS names). An
// existing file is kept as it is whatever hosts are, so its fingerprint —
// which clients pin — never changes by itself. created says a new one was
// made.
func LoadOrCreate(path string, hosts []string) (cert tls.Certificate, fp Fingerprint, created bool, err error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		pemBytes, err := generate(hosts)
		if err != nil {
			return cert, fp, false, err
		}
		if err := atomicfile.Create(path, pemBytes, 0o600); err != nil {
			return cert, fp, false, fmt.Errorf("save the API's TLS certificate: %w", err)
		}
		created = true
	}
	cert, fp, err = Load(path, path)
	return cert, fp, created, err
}

func generate(hosts []string) ([]byte, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "camchain hub"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range append([]string{"localhost", "127.0.0.1", "::1"}, hosts...) {
		if ip := net.ParseIP(strings.Trim(h, "[]")); ip != nil {
			if !ip.IsUnspecified() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, err
	}
	kd, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...), nil
}

// Load reads a PEM certificate chain and its key (the user's own, or the
// generated file, which holds both) and returns the leaf's fingerprint.
func Load(certFile, keyFile string) (tls.Certificate, Fingerprint, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return cert, Fingerprint{}, fmt.Errorf("API TLS certificate %s / key %s: %w", certFile, keyFile, err)
	}
	return cert, Of(cert.Certificate[0]), nil
}

// PinError is a hub whose certificate is not the pinned one.
type PinError struct {
	Got, Want Fingerprint
}

func (e *PinError) Error() string {
	return fmt.Sprintf("the hub's TLS certificate has SHA-256 fingerprint %s, not the pinned %s: refusing to talk to it "+
		"(someone may be intercepting the connection; if the hub's certificate really changed, read the new fingerprint on the hub's console and pass it with --hub-fingerprint)", e.Got, e.Want)
}

// PinnedConfig is a client TLS configuration that accepts exactly the
// certificate whose fingerprint is pin, whatever names it holds and
// whoever issued it, and refuses any other with a *PinError.
func PinnedConfig(pin Fingerprint) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The chain and names are not checked against any authority: the
		// pin is the whole trust, checked below on every handshake
		// (resumed ones included).
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the hub sent no TLS certificate")
			}
			if got := Of(cs.PeerCertificates[0].Raw); !got.Equal(pin) {
				return &PinError{Got: got, Want: pin}
			}
			return nil
		},
	}
}

// Probe connects to addr (host:port) without trusting anything and returns
// the fingerprint of the certificate it presents, and whether that
// certificate verifies against the system's authorities for the host: what
// trust-on-first-use shows its user. It goes the way the API client goes,
// through the proxy the environment names for https:// (HTTPS_PROXY, an
// http:// or socks5:// proxy, such as a tailnet node's: docs/SPEC.md
// §11.12), and sends nothing: the handshake is ended as soon as the
// certificate is seen.
func Probe(addr string, timeout time.Duration) (Fingerprint, bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return Fingerprint{}, false, err
	}
	var (
		fp      Fingerprint
		trusted bool
	)
	seen := errors.New("certificate seen")
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: timeout}).DialContext,
		TLSHandshakeTimeout: timeout,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: host,
			VerifyConnection: func(cs tls.ConnectionState) error {
				certs := cs.PeerCertificates
				if len(certs) == 0 {
					return errors.New("no certificate")
				}
				inter := x509.NewCertPool()
				for _, c := range certs[1:] {
					inter.AddCert(c)
				}
				_, verr := certs[0].Verify(x509.VerifyOptions{DNSName: host, Intermediates: inter})
				fp, trusted = Of(certs[0].Raw), verr == nil
				return seen // no request goes out
			}},
	}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, "https://"+addr+"/", nil)
	if err != nil {
		return Fingerprint{}, false, err
	}
	resp, err := tr.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
	}
	if !fp.IsZero() {
		return fp, trusted, nil
	}
	return Fingerprint{}, false, fmt.Errorf("TLS to %s: %w", addr, err)
}
