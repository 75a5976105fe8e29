package pairing

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/tx"
)

// Message types on the pairing connection (link framing).
const (
	TypeRequest  byte = 16
	TypeResponse byte = 17
)

// Request is the owner's side: the secret from the code, the Imprint the
// owner signed (its fields; the camera fills in itself), and where the
// camera will find its hub.
type Request struct {
	_          struct{} `cbor:",toarray"`
	Secret     [SecretSize]byte
	EVMChainID uint64
	Owner      keys.Address
	Hub        keys.Address
	Epoch      uint64
	Nonce      uint64
	Expiry     uint64
	OwnerSig   keys.Signature
	HubLink    string   // host:port of the hub's camera link
	HubPin     link.Pin // the hub's TLS key
	HubAPI     string   // the hub's HTTP API URL
	Domain     uint64   // the EIP-712 domain (tx.Domain) OwnerSig is made in: 1, or 2 for a browser wallet
	// Encryption is the wire bytes (SPEC §2.3) of the owner's signed
	// Encryption{camera, epoch, on} policy the camera starts with (SPEC
	// §8, §17.4): always present, so that no relay can strip the owner's
	// choice, with the imprint's epoch and expiry.
	Encryption []byte
	// ViewingKey is the owner's own signed ViewingKey transaction (SPEC
	// §17.1): required when Encryption is on, so that the camera has a
	// key to seal its first segment to; optional (and checked) when off.
	ViewingKey []byte
}

// Imprint returns the message the request describes for camera.
func (r *Request) Imprint(camera keys.Address) *tx.Imprint {
	return &tx.Imprint{Camera: camera, Owner: r.Owner, Hub: r.Hub, Epoch: r.Epoch, Nonce: r.Nonce, Expiry: r.Expiry}
}

// Policy checks the request's encryption policy (SPEC §8, §17.4) for
// camera and returns it: an Encryption transaction for camera, the
// imprint's epoch and ledger, signed by the imprint's owner, with the
// imprint's expiry (so that a policy signed for another pairing attempt
// cannot be passed off with this imprint); with it on, the owner's own
// ViewingKey registration. A relaying hub can neither forge one nor drop
// one: a request without a policy is refused.
func (r *Request) Policy(camera keys.Address) (*tx.EncryptionPolicy, error) {
	if len(r.Encryption) == 0 {
		return nil, ErrNoPolicy
	}
	p, err := tx.VerifyEncryption(r.Encryption, camera, r.Owner, r.Epoch, r.EVMChainID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPolicy, err)
	}
	if p.Expiry != r.Expiry {
		return nil, fmt.Errorf("%w: it expires at %d, the imprint at %d: signed for another pairing", ErrPolicy, p.Expiry, r.Expiry)
	}
	switch {
	case len(r.ViewingKey) > 0:
		if _, err := tx.VerifyViewingKey(r.ViewingKey, r.Owner, r.EVMChainID); err != nil {
			return nil, fmt.Errorf("%w: the owner's viewing key: %w", ErrPolicy, err)
		}
	case p.On:
		return nil, fmt.Errorf("%w: encryption on without the owner's viewing key", ErrPolicy)
	}
	return p, nil
}

// ImprintDigest is the EIP-712 digest of the request's imprint for camera,
// in the request's domain: what the owner signed and the camera co-signs.
func (r *Request) ImprintDigest(camera keys.Address) (feedchain.Hash, error) {
	d := tx.Domain(r.Domain)
	if !d.Valid() {
		return feedchain.Hash{}, fmt.Errorf("unknown EIP-712 domain version %d", r.Domain)
	}
	return tx.DigestIn(d, r.EVMChainID, r.Imprint(camera))
}

// Response is the camera's co-signature, its TLS key (for the hub to pin)
// and, if the camera was reset while its hub was unreachable, the signed
// Reset the ledger has not seen yet (the owner's command submits it first).
type Response struct {
	_            struct{} `cbor:",toarray"`
	CameraSig    keys.Signature
	CameraPin    link.Pin
	PinSig       keys.Signature // the camera's signature of PinDigest(imprint digest, CameraPin)
	PendingReset []byte
}

// LabelCameraPin domain-separates the camera's signature of its TLS pin.
const LabelCameraPin = "camchain/v1/camera-tls-pin"

// PinDigest = SHA-256(LabelCameraPin ‖ 0x00 ‖ imprint's EIP-712 digest ‖
// pin): what the camera signs so that the TLS key the hub pins for the
// link is the camera's word, bound to this imprint, not whoever relayed
// it (SPEC §8).
func PinDigest(imprint feedchain.Hash, pin link.Pin) feedchain.Hash {
	h := sha256.New()
	h.Write([]byte(LabelCameraPin))
	h.Write([]byte{0})
	h.Write(imprint[:])
	h.Write(pin[:])
	var out feedchain.Hash
	h.Sum(out[:0])
	return out
}

// VerifyPin checks that camera signed pin for the imprint with digest d.
func VerifyPin(camera keys.Address, d feedchain.Hash, pin link.Pin, sig keys.Signature) error {
	who, err := keys.Recover(PinDigest(d, pin), sig)
	if err != nil || who != camera {
		return ErrPinSignature
	}
	return nil
}

// Dial's errors that callers branch on (the message says more).
var (
	// ErrUnreachable: no TCP connection to the code's address.
	ErrUnreachable = errors.New("cannot reach the camera")
	// ErrCameraRefused: the camera answered with a refusal (wrong or
	// spent code, a bad request); its reason follows in the message.
	ErrCameraRefused = errors.New("the camera refused to pair")
)

// The request's encryption policy (Request.Policy).
var (
	// ErrNoPolicy: a request without the owner's encryption policy (a
	// client older than the policy at the imprint, or a relay that
	// dropped it).
	ErrNoPolicy = errors.New("the pairing request carries no encryption policy signed by the owner (upgrade camchain, or the web page)")
	// ErrPolicy: a policy that is not the owner's, for this imprint.
	ErrPolicy = errors.New("the encryption policy is not the owner's for this imprint")
)

// ErrPinSignature: the camera TLS pin is not signed by the camera.
var ErrPinSignature = errors.New("the camera TLS pin is not signed by the camera for this imprint")

// Camera is what the pairing server needs from the camera.
type Camera interface {
	// Pair checks the request (secret, code unused and unexpired, fields)
	// and co-signs; it spends the code whatever the outcome after a valid
	// secret. The error is shown to the owner.
	Pair(req *Request, remote string) (*Response, error)
}

// Pairing endpoint limits: a camera pairs once, with one owner at a time.
const (
	MaxPairingConns          = 16
	MaxPairingConnsPerSource = 4
	// PairingTimeout bounds one pairing connection, TLS handshake included.
	PairingTimeout = 30 * time.Second
)

// Server answers pairing connections with the camera's TLS identity while
// the camera is unowned. Frames are bounded by link.MaxHandshakeFrame, and
// connections by Limits (default MaxPairingConns, MaxPairingConnsPerSource).
type Server struct {
	Identity *link.Identity
	Camera   Camera
	Limits   link.ConnLimits

	acceptor link.Acceptor
}

// Serve accepts on ln until Stop or Close; it returns nil after them.
func (s *Server) Serve(ln net.Listener) error {
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{s.Identity.Cert}}
	lim := s.Limits
	if lim.Total == 0 {
		lim.Total = MaxPairingConns
	}
	if lim.PerSource == 0 {
		lim.PerSource = MaxPairingConnsPerSource
	}
	return s.acceptor.Serve(ln, lim, func(c net.Conn) { s.serveConn(tls.Server(c, cfg), c.RemoteAddr().String()) })
}

// Stop stops accepting; connections being served finish (within
// PairingTimeout). It does not wait, so a connection may call it.
func (s *Server) Stop() { s.acceptor.Stop() }

// Close stops accepting, ends every connection and waits for them.
func (s *Server) Close() error { return s.acceptor.Close() }

func (s *Server) serveConn(tc *tls.Conn, remote string) {
	tc.SetDeadline(time.Now().Add(PairingTimeout))
	if tc.Handshake() != nil {
		return
	}
	conn := link.NewConn(tc) // frames ≤ link.MaxHandshakeFrame
	var req Request
	if err := conn.Expect(TypeRequest, &req); err != nil {
		return
	}
	resp, err := s.Camera.Pair(&req, remote)
	if err != nil {
		conn.Write(link.TypeRefuse, &link.Refuse{Code: link.RefusePairing, Reason: truncate(err.Error())})
		return
	}
	conn.Write(TypeResponse, resp)
}

func truncate(s string) string {
	if len(s) > link.MaxText {
		return s[:link.MaxText]
	}
	return s
}

// CheckSecret compares a presented secret with the code's, in constant time.
func CheckSecret(code *Code, got [SecretSize]byte) bool {
	return subtle.ConstantTimeCompare(code.Secret[:], got[:]) == 1
}

// Dial sends req to the camera the code names, over TLS pinned to the
// code's key, and returns the camera's response.
func Dial(ctx context.Context, code *Code, req *Request) (*Response, error) {
	id, err := link.NewIdentity() // the owner needs no lasting TLS identity
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	raw, err := d.DialContext(ctx, "tcp", code.Addr)
	if err != nil {
		return nil, fmt.Errorf("%w at %s (same network? is camchain-agent running?): %w", ErrUnreachable, code.Addr, err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(30 * time.Second))
	tc := tls.Client(raw, link.ClientConfig(id, code.Pin))
	if err := tc.HandshakeContext(ctx); err != nil {
		if errors.Is(err, link.ErrPin) {
			return nil, fmt.Errorf("the device at %s is not the camera of this code (TLS key mismatch): %w", code.Addr, err)
		}
		return nil, fmt.Errorf("TLS with the camera at %s: %w", code.Addr, err)
	}
	conn := link.NewConn(tc)
	if err := conn.Write(TypeRequest, req); err != nil {
		return nil, err
	}
	var resp Response
	if err := conn.Expect(TypeResponse, &resp); err != nil {
		var ref *link.RefusedError
		if errors.As(err, &ref) {
			return nil, fmt.Errorf("%w: %s", ErrCameraRefused, ref.Reason)
		}
		return nil, fmt.Errorf("pairing with the camera: %w", err)
	}
	return &resp, nil
}
