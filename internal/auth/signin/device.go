package signin

import (
	"fmt"
	"net/url"
	"strings"
)

// DeviceCodeAlphabet has 32 symbols without 0/O and 1/I, so a code read
// aloud or typed is not mistaken: 8 symbols are 40 bits.
const DeviceCodeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// ParseDeviceCode accepts a code as a person types it (any case, with or
// without the hyphen or spaces) and returns its canonical form XXXX-XXXX.
func ParseDeviceCode(s string) (string, error) {
	if len(s) > 32 {
		return "", fmt.Errorf("%w: device code too long", ErrMalformed)
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' || c == ' ':
			continue
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		if strings.IndexByte(DeviceCodeAlphabet, c) < 0 {
			return "", fmt.Errorf("%w: device code has %q (letters A-Z without I and O, digits 2-9)", ErrMalformed, c)
		}
		b = append(b, c)
	}
	if len(b) != DeviceCodeChars {
		return "", fmt.Errorf("%w: device code has %d symbols, want %d", ErrMalformed, len(b), DeviceCodeChars)
	}
	return string(b[:4]) + "-" + string(b[4:]), nil
}

// ParseOrigin checks a public origin: http or https, a host, no path.
func ParseOrigin(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("public origin %q: want http(s)://host[:port]", s)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}
