package signin

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// ClientID names one client install (a CLI config directory, a browser
// profile). The client draws it at random when it first enrolls.
type ClientID [16]byte

// NewClientID draws a client id from crypto/rand.
func NewClientID() (ClientID, error) {
	var c ClientID
	if _, err := rand.Read(c[:]); err != nil {
		return c, fmt.Errorf("client id: %w", err)
	}
	return c, nil
}

func (c ClientID) String() string { return hex.EncodeToString(c[:]) }

// IsZero reports whether c is the zero id.
func (c ClientID) IsZero() bool { return c == ClientID{} }

// ParseClientID decodes 32 lower-case hex digits.
func ParseClientID(s string) (ClientID, error) {
	var c ClientID
	if err := decodeFixed(s, c[:]); err != nil {
		return c, fmt.Errorf("%w: client id: %v", ErrMalformed, err)
	}
	return c, nil
}

// Head is the hash of a client's latest login record: what the client must
// present at its next login or renewal. The zero head is a new client's.
type Head [32]byte

func (h Head) String() string { return hex.EncodeToString(h[:]) }

// Hex is the head as 0x and 64 hex digits (the API's form of a record hash).
func (h Head) Hex() string { return "0x" + h.String() }

// IsZero reports whether h is the zero head (a client not yet enrolled).
func (h Head) IsZero() bool { return h == Head{} }

// ParseHead decodes 64 lower-case hex digits; "" is the zero head.
func ParseHead(s string) (Head, error) {
	var h Head
	if s == "" {
		return h, nil
	}
	if err := decodeFixed(s, h[:]); err != nil {
		return h, fmt.Errorf("%w: login-chain head: %v", ErrMalformed, err)
	}
	return h, nil
}

// DeviceRequestID names one device request (16 random bytes).
type DeviceRequestID [16]byte

func (d DeviceRequestID) String() string { return hex.EncodeToString(d[:]) }

// ParseDeviceRequestID decodes 32 lower-case hex digits.
func ParseDeviceRequestID(s string) (DeviceRequestID, error) {
	var d DeviceRequestID
	if err := decodeFixed(s, d[:]); err != nil {
		return d, fmt.Errorf("%w: device request id: %v", ErrMalformed, err)
	}
	return d, nil
}

// MarshalText writes the id as hex (JSON, config files).
func (c ClientID) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText parses ParseClientID's form.
func (c *ClientID) UnmarshalText(b []byte) error {
	v, err := ParseClientID(string(b))
	*c = v
	return err
}

// MarshalText writes the head as hex.
func (h Head) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText parses ParseHead's form.
func (h *Head) UnmarshalText(b []byte) error {
	v, err := ParseHead(string(b))
	*h = v
	return err
}

func decodeFixed(s string, dst []byte) error {
	if len(s) != 2*len(dst) {
		return fmt.Errorf("want %d hex digits", 2*len(dst))
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil || hex.EncodeToString(dst) != s {
		return fmt.Errorf("want %d lower-case hex digits", 2*len(dst))
	}
	return nil
}
