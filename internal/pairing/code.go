package pairing

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/canon"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
)

// SecretSize is the pairing secret's length: 160 bits.
const SecretSize = 20

// CodeTTL is how long a pairing code is valid.
const CodeTTL = 15 * time.Minute

// codePrefix starts every code. Codes use upper-case base32 so a QR code
// can use its compact alphanumeric mode.
const codePrefix = "CCPAIR1:"

// Code is what the camera shows to whoever holds it.
type Code struct {
	_      struct{} `cbor:",toarray"`
	Secret [SecretSize]byte
	Camera keys.Address
	Addr   string   // host:port of the camera's pairing endpoint
	Pin    link.Pin // the camera's TLS key
	Epoch  uint64   // the camera's binding epoch
	Expiry int64    // Unix seconds
}

// NewCode draws a fresh secret.
func NewCode(camera keys.Address, addr string, pin link.Pin, epoch uint64, now time.Time) (*Code, error) {
	c := &Code{Camera: camera, Addr: addr, Pin: pin, Epoch: epoch, Expiry: now.Add(CodeTTL).Unix()}
	if _, err := rand.Read(c.Secret[:]); err != nil {
		return nil, err
	}
	return c, nil
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

var (
	codeEnc = canon.EncMode()
	codeDec = canon.DecMode(4, 16)
)

// String encodes the code for display, files and QR codes.
func (c *Code) String() string {
	b, err := codeEnc.Marshal(c)
	if err != nil {
		panic(err) // fixed types: cannot fail
	}
	return codePrefix + b32.EncodeToString(b)
}

// ErrBadCode: the text is not a pairing code.
var ErrBadCode = errors.New("not a camchain pairing code")

// ParseCode decodes String's output (surrounding spaces ignored, case
// insensitive).
func ParseCode(s string) (*Code, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	body, ok := strings.CutPrefix(s, codePrefix)
	if !ok {
		return nil, fmt.Errorf("%w: it must start with %s", ErrBadCode, codePrefix)
	}
	b, err := b32.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v (mistyped?)", ErrBadCode, err)
	}
	if b32.EncodeToString(b) != body {
		// Non-zero unused bits in the last character: one code, one spelling.
		return nil, fmt.Errorf("%w: not canonical base32 (mistyped last character?)", ErrBadCode)
	}
	var c Code
	if err := canon.Unmarshal(codeDec, codeEnc, b, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCode, err)
	}
	if c.Addr == "" || len(c.Addr) > 255 {
		return nil, fmt.Errorf("%w: no camera address", ErrBadCode)
	}
	return &c, nil
}

// Expired reports whether the code is past its expiry at now.
func (c *Code) Expired(now time.Time) bool { return now.Unix() >= c.Expiry }
