package link

import (
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
	"os"
	"time"

	"github.com/camchain/camchain/internal/atomicfile"
)

// ExporterLabel is the TLS exporter label of the channel binding.
const ExporterLabel = "EXPORTER-camchain/v1/link"

// Pin identifies a TLS public key: SHA-256 of its DER SubjectPublicKeyInfo.
type Pin [32]byte

// String renders the pin as lowercase hex.
func (p Pin) String() string { return hex.EncodeToString(p[:]) }

// ParsePin reads String's output.
func ParsePin(s string) (Pin, error) {
	var p Pin
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(p) {
		return p, fmt.Errorf("TLS pin %q: want 64 hex digits", s)
	}
	copy(p[:], b)
	return p, nil
}

// PinOf returns the pin of a certificate.
func PinOf(cert *x509.Certificate) Pin { return sha256.Sum256(cert.RawSubjectPublicKeyInfo) }

// Identity is a side's TLS certificate, self-signed, ECDSA P-256.
type Identity struct {
	Cert tls.Certificate
	Pin  Pin
}

// LoadOrCreateIdentity reads a PEM key from path, or makes one (0600). The
// TLS key is a transport key: it is pinned by the peer, but the peer also
// requires the ledger key's signature over the session (channel binding).
func LoadOrCreateIdentity(path string) (*Identity, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, err
		}
		b = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		if err := atomicfile.Create(path, b, 0o600); err != nil {
			return nil, fmt.Errorf("save TLS key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("TLS key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("TLS key %s: not a PEM PRIVATE KEY", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("TLS key %s: %w", path, err)
	}
	ek, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("TLS key %s: want ECDSA", path)
	}
	return identityFromKey(ek)
}

// NewIdentity makes an in-memory identity (tests, benchmarks).
func NewIdentity() (*Identity, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return identityFromKey(k)
}

func identityFromKey(k *ecdsa.PrivateKey) (*Identity, error) {
	// The certificate carries no name and is not checked against any CA:
	// peers trust it by pin only. It is regenerated from the key at each
	// start, so it never expires in practice.
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "camchain link"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(100 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Identity{Cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k, Leaf: cert}, Pin: PinOf(cert)}, nil
}

// ErrPin: the peer's certificate is not the pinned one.
var ErrPin = errors.New("peer TLS key is not the pinned one")

func peerPin(rawCerts [][]byte) (Pin, error) {
	if len(rawCerts) != 1 {
		return Pin{}, fmt.Errorf("%w: want exactly one certificate, got %d", ErrPin, len(rawCerts))
	}
	c, err := x509.ParseCertificate(rawCerts[0])
	if err != nil {
		return Pin{}, fmt.Errorf("%w: %v", ErrPin, err)
	}
	return PinOf(c), nil
}

// ClientConfig is the camera's TLS configuration: TLS 1.3 only, its own
// certificate presented, the hub's accepted only if it has pin.
func ClientConfig(id *Identity, hubPin Pin) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{id.Cert},
		InsecureSkipVerify: true, // no CA: the pin below is the whole check
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			p, err := peerPin(raw)
			if err != nil {
				return err
			}
			if subtle.ConstantTimeCompare(p[:], hubPin[:]) != 1 {
				return fmt.Errorf("%w: hub presented %s", ErrPin, p)
			}
			return nil
		},
	}
}

// ServerConfig is the hub's TLS configuration: TLS 1.3 only, a client
// certificate required. Which pin a client must have depends on which
// camera it claims to be, so the pin is checked after the Hello (see
// PeerPin); here any single certificate is accepted.
func ServerConfig(id *Identity) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{id.Cert},
		ClientAuth:   tls.RequireAnyClientCert,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			_, err := peerPin(raw)
			return err
		},
	}
}

// PeerPin returns the pin of the peer's certificate on an established
// connection.
func PeerPin(cs tls.ConnectionState) (Pin, error) {
	if len(cs.PeerCertificates) != 1 {
		return Pin{}, fmt.Errorf("%w: no peer certificate", ErrPin)
	}
	return PinOf(cs.PeerCertificates[0]), nil
}

// EqualPins compares pins in constant time.
func EqualPins(a, b Pin) bool { return subtle.ConstantTimeCompare(a[:], b[:]) == 1 }

// Exporter returns the session's channel-binding value.
func Exporter(cs tls.ConnectionState) ([]byte, error) {
	if cs.Version != tls.VersionTLS13 {
		return nil, errors.New("link requires TLS 1.3")
	}
	return cs.ExportKeyingMaterial(ExporterLabel, nil, 32)
}
