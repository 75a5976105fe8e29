package signin

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/camchain/camchain/internal/keys"
)

// Message is an EIP-4361 sign-in message. Parse keeps the exact text of
// every field so that String returns the bytes that were signed.
type Message struct {
	Scheme    string // optional; "" when the message has none
	Domain    string
	Address   keys.Address
	Statement string // "" when the message has none
	URI       string
	Version   string
	ChainID   uint64
	Nonce     string
	IssuedAt  string
	// Optional fields; "" when absent.
	ExpirationTime string
	NotBefore      string
	RequestID      string
	Resources      []string

	issuedAt, expirationTime, notBefore time.Time
}

const (
	headerSuffix = " wants you to sign in with your Ethereum account:"
	tagURI       = "URI: "
	tagVersion   = "Version: "
	tagChain     = "Chain ID: "
	tagNonce     = "Nonce: "
	tagIssued    = "Issued At: "
	tagExpires   = "Expiration Time: "
	tagNotBefore = "Not Before: "
	tagRequestID = "Request ID: "
	tagResources = "Resources:"
	// SIWEVersion is the only version EIP-4361 defines.
	SIWEVersion = "1"
)

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

// ParseMessage parses s by the EIP-4361 grammar. It is strict: LF line ends
// only, fields in the grammar's order, an EIP-55 checksummed address, RFC
// 3339 times, a nonce of 8 or more ASCII letters and digits, and nothing
// after the last field. It checks sizes before it allocates.
func ParseMessage(s string) (*Message, error) {
	if len(s) > MaxMessageBytes {
		return nil, malformed("over %d bytes", MaxMessageBytes)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\n' || c == 0x7f {
			return nil, malformed("control character 0x%02x at byte %d", c, i)
		}
	}
	lines := strings.Split(s, "\n")
	if len(lines) < 9 {
		return nil, malformed("%d lines; a sign-in message has at least 9", len(lines))
	}
	m := &Message{}
	header, ok := strings.CutSuffix(lines[0], headerSuffix)
	if !ok {
		return nil, malformed("first line must end %q", headerSuffix)
	}
	if scheme, rest, ok := strings.Cut(header, "://"); ok {
		if !validScheme(scheme) {
			return nil, malformed("scheme %q", scheme)
		}
		m.Scheme, header = scheme, rest
	}
	if err := checkDomain(header); err != nil {
		return nil, err
	}
	m.Domain = header
	addr, err := parseChecksummed(lines[1])
	if err != nil {
		return nil, err
	}
	m.Address = addr
	if lines[2] != "" {
		return nil, malformed("line 3 must be empty")
	}
	i := 3
	if lines[3] != "" { // a statement, then an empty line
		if err := checkStatement(lines[3]); err != nil {
			return nil, err
		}
		m.Statement = lines[3]
		i = 4
	}
	if lines[i] != "" {
		return nil, malformed("line %d must be empty", i+1)
	}
	i++
	field := func(tag string) (string, bool) {
		if i < len(lines) {
			if v, ok := strings.CutPrefix(lines[i], tag); ok {
				i++
				return v, true
			}
		}
		return "", false
	}
	need := func(tag string) (string, error) {
		v, ok := field(tag)
		if !ok {
			return "", malformed("want %q on line %d", strings.TrimSpace(tag), i+1)
		}
		return v, nil
	}
	if m.URI, err = need(tagURI); err != nil {
		return nil, err
	}
	if err := checkURI(m.URI); err != nil {
		return nil, err
	}
	if m.Version, err = need(tagVersion); err != nil {
		return nil, err
	}
	if m.Version == "" {
		return nil, malformed("empty version")
	}
	chain, err := need(tagChain)
	if err != nil {
		return nil, err
	}
	if m.ChainID, err = parseDecimal(chain); err != nil {
		return nil, err
	}
	if m.Nonce, err = need(tagNonce); err != nil {
		return nil, err
	}
	if err := checkNonceSyntax(m.Nonce); err != nil {
		return nil, err
	}
	if m.IssuedAt, err = need(tagIssued); err != nil {
		return nil, err
	}
	if m.issuedAt, err = parseTime("issued-at", m.IssuedAt); err != nil {
		return nil, err
	}
	if v, ok := field(tagExpires); ok {
		if m.expirationTime, err = parseTime("expiration-time", v); err != nil {
			return nil, err
		}
		m.ExpirationTime = v
	}
	if v, ok := field(tagNotBefore); ok {
		if m.notBefore, err = parseTime("not-before", v); err != nil {
			return nil, err
		}
		m.NotBefore = v
	}
	if v, ok := field(tagRequestID); ok {
		if err := checkRequestID(v); err != nil {
			return nil, err
		}
		m.RequestID = v
	}
	if i < len(lines) && lines[i] == tagResources {
		i++
		for ; i < len(lines); i++ {
			r, ok := strings.CutPrefix(lines[i], "- ")
			if !ok {
				return nil, malformed("line %d: a resource line starts \"- \"", i+1)
			}
			if len(m.Resources) == MaxResources {
				return nil, malformed("over %d resources", MaxResources)
			}
			if err := checkURI(r); err != nil {
				return nil, err
			}
			m.Resources = append(m.Resources, r)
		}
		if len(m.Resources) == 0 {
			return nil, malformed("\"Resources:\" with no resource")
		}
	}
	if i != len(lines) {
		return nil, malformed("unexpected line %d", i+1)
	}
	return m, nil
}

// String returns the message text by the EIP-4361 grammar. For a parsed
// message it is exactly the parsed (signed) text.
func (m *Message) String() string {
	var b strings.Builder
	if m.Scheme != "" {
		b.WriteString(m.Scheme + "://")
	}
	b.WriteString(m.Domain + headerSuffix + "\n")
	b.WriteString(m.Address.Hex() + "\n\n")
	if m.Statement != "" {
		b.WriteString(m.Statement + "\n")
	}
	b.WriteString("\n")
	b.WriteString(tagURI + m.URI + "\n")
	b.WriteString(tagVersion + m.Version + "\n")
	b.WriteString(tagChain + strconv.FormatUint(m.ChainID, 10) + "\n")
	b.WriteString(tagNonce + m.Nonce + "\n")
	b.WriteString(tagIssued + m.IssuedAt)
	if m.ExpirationTime != "" {
		b.WriteString("\n" + tagExpires + m.ExpirationTime)
	}
	if m.NotBefore != "" {
		b.WriteString("\n" + tagNotBefore + m.NotBefore)
	}
	if m.RequestID != "" {
		b.WriteString("\n" + tagRequestID + m.RequestID)
	}
	if len(m.Resources) > 0 {
		b.WriteString("\n" + tagResources)
		for _, r := range m.Resources {
			b.WriteString("\n- " + r)
		}
	}
	return b.String()
}

// Expect is what a hub requires of a sign-in message.
type Expect struct {
	Origin  *url.URL // the hub's public origin: scheme://host[:port]
	ChainID uint64   // the EIP-712 chain id of the hub's ledger
	MaxAge  time.Duration
	Skew    time.Duration
}

// Check verifies the message's fields against want at time now: domain and
// URI on the hub's origin, version 1, chain id, and the time window. It does
// not look at the nonce or the signature. Each failure is its own sentinel.
func (m *Message) Check(want Expect, now time.Time) error {
	if m.Domain != want.Origin.Host || m.Scheme != "" && m.Scheme != want.Origin.Scheme {
		return fmt.Errorf("%w: message for %q, this hub is %q", ErrWrongDomain, m.Domain, want.Origin.Host)
	}
	origin := want.Origin.Scheme + "://" + want.Origin.Host
	if m.URI != origin && !strings.HasPrefix(m.URI, origin+"/") {
		return fmt.Errorf("%w: message for %q, this hub is %q", ErrWrongURI, m.URI, origin)
	}
	if m.Version != SIWEVersion {
		return fmt.Errorf("%w: %q, want %q", ErrWrongVersion, m.Version, SIWEVersion)
	}
	if m.ChainID != want.ChainID {
		return fmt.Errorf("%w: message for %d, this hub's ledger is %d", ErrWrongChain, m.ChainID, want.ChainID)
	}
	if m.issuedAt.After(now.Add(want.Skew)) {
		return fmt.Errorf("%w: issued at %s", ErrIssuedFuture, m.IssuedAt)
	}
	if m.issuedAt.Before(now.Add(-want.MaxAge - want.Skew)) {
		return fmt.Errorf("%w: issued at %s, more than %s ago", ErrExpired, m.IssuedAt, want.MaxAge)
	}
	if m.ExpirationTime != "" && !now.Before(m.expirationTime) {
		return fmt.Errorf("%w: expiration time %s", ErrExpired, m.ExpirationTime)
	}
	if m.NotBefore != "" && m.notBefore.After(now.Add(want.Skew)) {
		return fmt.Errorf("%w: not before %s", ErrNotYetValid, m.NotBefore)
	}
	return nil
}

func validScheme(s string) bool {
	if s == "" || len(s) > 32 || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// checkDomain accepts an RFC 3986 authority: userinfo, host (reg-name,
// IPv4 or a bracketed IP literal) and port characters.
func checkDomain(d string) error {
	if d == "" || len(d) > MaxDomainBytes {
		return malformed("domain must be 1..%d bytes", MaxDomainBytes)
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !isUnreserved(c) && !isSubDelim(c) && c != '%' && c != ':' && c != '@' && c != '[' && c != ']' {
			return malformed("domain has %q", c)
		}
	}
	return nil
}

func parseChecksummed(s string) (keys.Address, error) {
	if len(s) != 42 || !common.IsHexAddress(s) || !strings.HasPrefix(s, "0x") {
		return keys.Address{}, malformed("address must be 0x and 40 hex digits")
	}
	a := common.HexToAddress(s)
	if a.Hex() != s {
		return keys.Address{}, malformed("address %s is not EIP-55 checksummed (want %s)", s, a.Hex())
	}
	return a, nil
}

func checkStatement(s string) error {
	if len(s) > MaxStatementBytes {
		return malformed("statement over %d bytes", MaxStatementBytes)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isUnreserved(c) && !isReserved(c) && c != ' ' {
			return malformed("statement has %q", c)
		}
	}
	return nil
}

func checkURI(s string) error {
	if s == "" || len(s) > MaxURIBytes {
		return malformed("URI must be 1..%d bytes", MaxURIBytes)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isUnreserved(c) && !isReserved(c) && c != '%' {
			return malformed("URI has %q", c)
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || !validScheme(u.Scheme) {
		return malformed("URI %q is not an absolute RFC 3986 URI", s)
	}
	return nil
}

func checkNonceSyntax(s string) error {
	if len(s) < MinNonceChars || len(s) > MaxNonceBytes {
		return malformed("nonce must be %d..%d letters and digits", MinNonceChars, MaxNonceBytes)
	}
	for i := 0; i < len(s); i++ {
		if !isAlpha(s[i]) && !isDigit(s[i]) {
			return malformed("nonce must be letters and digits only")
		}
	}
	return nil
}

func checkRequestID(s string) error {
	if len(s) > MaxRequestIDBytes {
		return malformed("request id over %d bytes", MaxRequestIDBytes)
	}
	for i := 0; i < len(s); i++ { // pchar
		c := s[i]
		if !isUnreserved(c) && !isSubDelim(c) && c != '%' && c != ':' && c != '@' {
			return malformed("request id has %q", c)
		}
	}
	return nil
}

// parseDecimal parses a chain id in canonical decimal (no sign, no leading
// zero), so that String gives back the signed text.
func parseDecimal(s string) (uint64, error) {
	if s == "" || len(s) > 20 || (len(s) > 1 && s[0] == '0') {
		return 0, malformed("chain id %q: want a decimal integer", s)
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, malformed("chain id %q: want a decimal integer", s)
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, malformed("chain id %q: out of range", s)
	}
	return n, nil
}

// parseTime parses an RFC 3339 date-time ("T" and "Z" in upper case, as
// JavaScript's toISOString writes them).
func parseTime(name, s string) (time.Time, error) {
	if len(s) < 20 || len(s) > 40 || s[10] != 'T' {
		return time.Time{}, malformed("%s %q: want an RFC 3339 date-time", name, s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, malformed("%s %q: want an RFC 3339 date-time", name, s)
	}
	return t, nil
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isUnreserved(c byte) bool {
	return isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~'
}
func isSubDelim(c byte) bool { return strings.IndexByte("!$&'()*+,;=", c) >= 0 }
func isReserved(c byte) bool { return isSubDelim(c) || strings.IndexByte(":/?#[]@", c) >= 0 }
