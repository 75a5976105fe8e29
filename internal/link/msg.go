package link

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/canon"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// ProtocolVersion is the link protocol version in Hello and Welcome:
// version 2 adds the chain secret (SPEC §7.1); version 3 the stream in the
// Hello, as each of a camera's streams is its own chain with its own
// session (SPEC §6.5, §7); version 4 the Part message (SPEC §7.3), low
// latency live; version 5 the Access and KeyEnvelope frames of end-to-end
// encryption (SPEC §7.4). The hub answers in the camera's version: a
// version 3 camera is served as before, and gets no Part frames accepted;
// a version 4 camera gets no Access frames.
const ProtocolVersion = 5

// MinProtocolVersion is the oldest version a hub of this release serves.
const MinProtocolVersion = 3

// PartsVersion is the first version that carries Part frames.
const PartsVersion = 4

// Limits.
const (
	// MaxSegmentBytes is the one segment limit (feedchain.MaxSegmentBytes).
	MaxSegmentBytes = feedchain.MaxSegmentBytes
	// MaxFrame caps one frame of an authenticated camera: a segment plus
	// its record and framing.
	MaxFrame = MaxSegmentBytes + 4096
	// MaxHandshakeFrame caps every frame a peer may send before it has
	// proven who it is (Hello, Welcome, Ack, Refuse, Alarm, and the pairing
	// Request and Response): whoever opens a TLS connection with any
	// certificate makes the other side allocate at most this much.
	MaxHandshakeFrame = 8 << 10
	// MaxText caps free text (alarm detail, refusal reason).
	MaxText = 512
)

// Message types: the first byte of every frame.
const (
	TypeHello   byte = 1 // camera → hub
	TypeWelcome byte = 2 // hub → camera
	TypeSegment byte = 3 // camera → hub
	TypeAck     byte = 4 // hub → camera
	TypeAlarm   byte = 5 // camera → hub
	TypeRefuse  byte = 6 // either side, before closing
	TypePart    byte = 7 // camera → hub, version 4: a part of the open segment
)

// Labels of the signed handshake digests.
const (
	LabelHello   = "camchain/v1/link-hello"
	LabelWelcome = "camchain/v1/link-welcome"
)

// WireHead is a feedchain.Head on the wire.
type WireHead struct {
	_     struct{} `cbor:",toarray"`
	Valid bool
	Seq   uint64
	Hash  feedchain.Hash
}

func toWire(h feedchain.Head) WireHead { return WireHead{Valid: h.Valid, Seq: h.Seq, Hash: h.Hash} }

// Head converts back.
func (w WireHead) Head() feedchain.Head {
	return feedchain.Head{Valid: w.Valid, Seq: w.Seq, Hash: w.Hash}
}

// WireSeq is a sequence number that may be absent (an empty chain).
type WireSeq struct {
	_     struct{} `cbor:",toarray"`
	Valid bool
	Seq   uint64
}

// Hello opens a session: who the camera is, the last record the hub
// acknowledged to it and its newest record — by sequence number only. It
// never reveals a hash: AckedProof proves the camera holds the acknowledged
// record without letting an impostor hub echo the hash back.
type Hello struct {
	_           struct{} `cbor:",toarray"`
	Version     uint64
	Camera      keys.Address
	Epoch       uint64
	Stream      feedchain.Stream // the chain this session carries: 0 main, 1 sub
	Acked       WireSeq
	Last        WireSeq
	Gen         uint64         // the generation of the camera's chain secret
	SecretProof feedchain.Hash // ChainProof("camera", exporter, secret, zero hash)
	// AckedProof is ChainProof("camera", exporter, secret, h) with h the
	// hash of record Acked.Seq; with none acknowledged, of record #0 (the
	// hub may hold records whose acknowledgements the camera never got);
	// zero for an empty chain.
	AckedProof feedchain.Hash
	Sig        keys.Signature
}

// Welcome answers a Hello: the hub's identity, its proof that it holds the
// camera's acknowledged record, and the hub's own head.
type Welcome struct {
	_          struct{} `cbor:",toarray"`
	Version    uint64
	Hub        keys.Address
	AckedProof feedchain.Hash // ChainProof("hub", exporter, secret, the hub's hash at Hello.Acked.Seq, or zero)
	Head       WireHead       // the hub's newest record for this camera and epoch
	Resync     []byte         // an owner-signed resync (§7.2), or empty
	Sig        keys.Signature
}

// LabelProof domain-separates chain proofs.
const LabelProof = "camchain/v1/link-proof"

// ChainProof = HMAC-SHA256(key = secret, LabelProof ‖ 0x00 ‖ role ‖ 0x00 ‖
// exporter ‖ hash): knowledge of a record hash and of the chain secret,
// bound to this TLS session and to the side that proves it, so it can be
// neither replayed nor reflected, nor computed from public records.
func ChainProof(role string, exporter []byte, secret Secret, h feedchain.Hash) feedchain.Hash {
	d := hmac.New(sha256.New, secret[:])
	d.Write([]byte(LabelProof))
	d.Write([]byte{0})
	d.Write([]byte(role))
	d.Write([]byte{0})
	d.Write(exporter)
	d.Write(h[:])
	var out feedchain.Hash
	d.Sum(out[:0])
	return out
}

// Segment carries one record and its segment bytes.
type Segment struct {
	_      struct{} `cbor:",toarray"`
	Record []byte   // feedchain Marshal
	Data   []byte
}

// Ack acknowledges one stored record with the hub's head and signature.
type Ack struct {
	_    struct{} `cbor:",toarray"`
	Seq  uint64
	Head feedchain.Hash
	Sig  keys.Signature
}

// Alarm is an event the camera wants on the ledger's audit log.
type Alarm struct {
	_      struct{}    `cbor:",toarray"`
	Kind   audit.Alarm // filed by the hub as "camera/<Kind>"
	Detail string
	At     int64 // Unix seconds
}

// Refuse says why the sender is closing the session.
type Refuse struct {
	_      struct{} `cbor:",toarray"`
	Code   RefuseCode
	Reason string
}

func handshakeDigest(label string, exporter []byte, body any) (feedchain.Hash, error) {
	b, err := encMode.Marshal(body)
	if err != nil {
		return feedchain.Hash{}, err
	}
	h := sha256.New()
	h.Write([]byte(label))
	h.Write([]byte{0})
	h.Write(exporter)
	h.Write(b)
	var out feedchain.Hash
	h.Sum(out[:0])
	return out, nil
}

// HelloDigest = SHA-256(LabelHello ‖ 0x00 ‖ exporter ‖ CBOR(hello with Sig zeroed)).
func HelloDigest(exporter []byte, h Hello) (feedchain.Hash, error) {
	h.Sig = keys.Signature{}
	return handshakeDigest(LabelHello, exporter, h)
}

// WelcomeDigest = SHA-256(LabelWelcome ‖ 0x00 ‖ exporter ‖ CBOR(welcome with Sig zeroed)).
func WelcomeDigest(exporter []byte, w Welcome) (feedchain.Hash, error) {
	w.Sig = keys.Signature{}
	return handshakeDigest(LabelWelcome, exporter, w)
}

var (
	encMode = canon.EncMode()
	decMode = canon.DecMode(4, 16)
)

// ErrProtocol is a malformed or unexpected frame.
var ErrProtocol = errors.New("link protocol error")

// Conn frames messages over a stream: u32be length ‖ type byte ‖ CBOR body.
// Writes are serialised; reads must come from one goroutine.
type Conn struct {
	rw       io.ReadWriter
	r        *bufio.Reader
	maxFrame uint32 // frames read above this are refused before allocating
	wmu      sync.Mutex
	w        *bufio.Writer
}

// NewConn wraps a stream (a *tls.Conn in production). It reads frames of at
// most MaxHandshakeFrame bytes until AllowSegments. Its buffers are small
// (4 KiB) so that an unauthenticated connection costs little; a segment
// frame is read straight into its own buffer.
func NewConn(rw io.ReadWriter) *Conn {
	return &Conn{rw: rw, r: bufio.NewReaderSize(rw, 4<<10), w: bufio.NewWriterSize(rw, 4<<10), maxFrame: MaxHandshakeFrame}
}

// AllowSegments raises the read limit to MaxFrame: call it only once the
// peer is authenticated (the hub, after the camera's Hello checked out).
func (c *Conn) AllowSegments() { c.maxFrame = MaxFrame }

// Write sends one message.
func (c *Conn) Write(typ byte, msg any) error {
	body, err := encMode.Marshal(msg)
	if err != nil {
		return err
	}
	if len(body)+1 > MaxFrame {
		return fmt.Errorf("%w: frame of %d bytes over the %d limit", ErrProtocol, len(body)+1, MaxFrame)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	var hdr [5]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(body)+1))
	hdr[4] = typ
	if _, err := c.w.Write(hdr[:]); err != nil {
		return err
	}
	if _, err := c.w.Write(body); err != nil {
		return err
	}
	return c.w.Flush()
}

// Read receives one frame: its type and raw body.
func (c *Conn) Read() (byte, []byte, error) { return c.ReadInto(nil) }

// ReadInto is Read, reusing buf for the body when it is large enough.
func (c *Conn) ReadInto(buf []byte) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n == 0 || n > c.maxFrame {
		return 0, nil, fmt.Errorf("%w: frame length %d over the %d-byte limit", ErrProtocol, n, c.maxFrame)
	}
	var body []byte
	if cap(buf) >= int(n-1) {
		body = buf[:n-1]
	} else {
		body = make([]byte, n-1)
	}
	if _, err := io.ReadFull(c.r, body); err != nil {
		return 0, nil, err
	}
	return hdr[4], body, nil
}

// Decode parses a frame body strictly into msg (canonical encoding only).
func Decode(body []byte, msg any) error {
	if err := canon.Unmarshal(decMode, encMode, body, msg); err != nil {
		return fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	return checkText(msg)
}

func checkText(msg any) error {
	switch m := msg.(type) {
	case *Alarm:
		if err := m.Kind.Valid(); err != nil {
			return fmt.Errorf("%w: %w", ErrProtocol, err)
		}
		if len(m.Detail) > MaxText {
			return fmt.Errorf("%w: alarm detail over %d bytes", ErrProtocol, MaxText)
		}
	case *Refuse:
		if len(m.Code) > 32 || len(m.Reason) > MaxText {
			return fmt.Errorf("%w: refusal text too long", ErrProtocol)
		}
	case *Access:
		return checkAccess(m)
	case *KeyEnvelope:
		if len(m.Data) > e2ee.MaxEnvelopeBytes {
			return fmt.Errorf("%w: key envelope of %d bytes over the %d limit", ErrProtocol, len(m.Data), e2ee.MaxEnvelopeBytes)
		}
	case *Segment:
		if len(m.Data) > MaxSegmentBytes {
			return fmt.Errorf("%w: segment of %d bytes over the %d limit", ErrProtocol, len(m.Data), MaxSegmentBytes)
		}
	}
	return nil
}

// Expect reads one frame and decodes it as type typ into msg. A Refuse
// frame is returned as a *RefusedError.
func (c *Conn) Expect(typ byte, msg any) error {
	t, body, err := c.Read()
	if err != nil {
		return err
	}
	return expectBody(t, body, typ, msg)
}

// expectBody decodes a frame read as type typ into msg (Expect).
func expectBody(t byte, body []byte, typ byte, msg any) error {
	if t == TypeRefuse && typ != TypeRefuse {
		var r Refuse
		if err := Decode(body, &r); err != nil {
			return err
		}
		return &RefusedError{Code: r.Code, Reason: r.Reason}
	}
	if t != typ {
		return fmt.Errorf("%w: got message type %d, want %d", ErrProtocol, t, typ)
	}
	return Decode(body, msg)
}

// RefusedError is the peer's Refuse.
type RefusedError struct {
	Code   RefuseCode
	Reason string
}

func (e *RefusedError) Error() string { return "peer refused: " + string(e.Code) + ": " + e.Reason }
