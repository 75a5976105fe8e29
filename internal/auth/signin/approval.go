package signin

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/keys"
)

// LabelDeviceApproval is the first line of a device approval: it
// domain-separates the approval from a sign-in message (whose first line
// ends " wants you to sign in with your Ethereum account:") and from every
// other text camchain asks a wallet to sign (docs/SPEC.md §11.8).
const LabelDeviceApproval = "camchain/v1/device-approval"

// ApprovalStatement is the approval's second line, what a wallet shows.
const ApprovalStatement = "I approve this sign-in to camchain by the device below."

// Approval is a device approval: the text a wallet signs (EIP-191
// personal_sign) to log in a browser that showed Code. Every field is
// bound: the hub (origin, address, chain id), the request (code and id),
// what the hub saw of the requesting device, the approving address and the
// time. Parse then String gives back the exact bytes.
type Approval struct {
	Hub          string // the hub's public origin
	HubAddress   keys.Address
	ChainID      uint64
	Code         string // canonical XXXX-XXXX
	Request      DeviceRequestID
	DeviceOrigin string // "-" when the browser sent none
	DeviceIP     netip.Addr
	DeviceAgent  string // "-" when the browser sent none
	Address      keys.Address
	IssuedAt     string
	issued       time.Time
}

const (
	tagApprHub     = "Hub: "
	tagApprHubAddr = "Hub Address: "
	tagApprChain   = "Chain ID: "
	tagApprCode    = "Code: "
	tagApprRequest = "Request: "
	tagApprOrigin  = "Device Origin: "
	tagApprIP      = "Device IP: "
	tagApprAgent   = "Device User Agent: "
	tagApprAddress = "Address: "
	tagApprIssued  = "Issued At: "
	approvalLines  = 12
)

// String is the text to sign: 12 lines joined by LF, no final LF.
func (a *Approval) String() string {
	return strings.Join([]string{
		LabelDeviceApproval,
		ApprovalStatement,
		tagApprHub + a.Hub,
		tagApprHubAddr + a.HubAddress.Hex(),
		tagApprChain + strconv.FormatUint(a.ChainID, 10),
		tagApprCode + a.Code,
		tagApprRequest + a.Request.String(),
		tagApprOrigin + a.DeviceOrigin,
		tagApprIP + a.DeviceIP.String(),
		tagApprAgent + a.DeviceAgent,
		tagApprAddress + a.Address.Hex(),
		tagApprIssued + a.IssuedAt,
	}, "\n")
}

// ParseApproval parses a device approval strictly: exactly the 12 lines of
// §11.8 in order, LF only, printable ASCII only, canonical values, at most
// MaxApprovalBytes.
func ParseApproval(s string) (*Approval, error) {
	if len(s) > MaxApprovalBytes {
		return nil, malformed("approval over %d bytes", MaxApprovalBytes)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 || c > 0x7e) && c != '\n' {
			return nil, malformed("approval has byte 0x%02x at %d (printable ASCII only)", c, i)
		}
	}
	lines := strings.Split(s, "\n")
	if len(lines) != approvalLines {
		return nil, malformed("approval has %d lines, want %d", len(lines), approvalLines)
	}
	if lines[0] != LabelDeviceApproval || lines[1] != ApprovalStatement {
		return nil, malformed("approval must start %q, %q", LabelDeviceApproval, ApprovalStatement)
	}
	var err error
	val := func(i int, tag string) string {
		v, ok := strings.CutPrefix(lines[i], tag)
		if !ok && err == nil {
			err = malformed("approval line %d must start %q", i+1, tag)
		}
		return v
	}
	hub, hubAddr, chain, code, req := val(2, tagApprHub), val(3, tagApprHubAddr), val(4, tagApprChain), val(5, tagApprCode), val(6, tagApprRequest)
	origin, ip, agent, addr, issued := val(7, tagApprOrigin), val(8, tagApprIP), val(9, tagApprAgent), val(10, tagApprAddress), val(11, tagApprIssued)
	if err != nil {
		return nil, err
	}
	a := &Approval{Hub: hub, DeviceOrigin: origin, DeviceAgent: agent, IssuedAt: issued}
	if o, err := ParseOrigin(hub); err != nil || o.String() != hub {
		return nil, malformed("approval hub %q: want scheme://host[:port]", hub)
	}
	if a.HubAddress, err = parseChecksummed(hubAddr); err != nil {
		return nil, err
	}
	if a.ChainID, err = parseDecimal(chain); err != nil {
		return nil, err
	}
	if c, err := ParseDeviceCode(code); err != nil || c != code {
		return nil, malformed("approval code %q: want XXXX-XXXX", code)
	}
	a.Code = code
	if err := decodeFixed(req, a.Request[:]); err != nil {
		return nil, malformed("approval request: %v", err)
	}
	if len(origin) == 0 || len(origin) > MaxDeviceOriginBytes || len(agent) == 0 || len(agent) > MaxDeviceAgentBytes {
		return nil, malformed("approval device origin or user agent: 1..%d and 1..%d bytes", MaxDeviceOriginBytes, MaxDeviceAgentBytes)
	}
	if a.DeviceIP, err = netip.ParseAddr(ip); err != nil || a.DeviceIP.String() != ip {
		return nil, malformed("approval device IP %q", ip)
	}
	if a.Address, err = parseChecksummed(addr); err != nil {
		return nil, err
	}
	if a.issued, err = parseTime("issued-at", issued); err != nil {
		return nil, err
	}
	return a, nil
}

// DeviceText is what the hub records of a requesting device for its
// approval, made printable: ASCII 0x20..0x7e (others become '?'), cut to
// max bytes, "-" when empty. The hub shows and the wallet signs these exact
// strings.
func DeviceText(s string, max int) string {
	b := make([]byte, 0, min(len(s), max))
	for i := 0; i < len(s) && len(b) < max; i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		b = append(b, c)
	}
	if len(b) == 0 {
		return "-"
	}
	return string(b)
}

// Check checks a parsed approval against the request it names and
// the hub, in the order of §11.8; signer is the address the signature
// recovers to.
func (a *Approval) Check(want Approval, signer keys.Address, ttl time.Duration, now time.Time) error {
	switch {
	case a.Hub != want.Hub || a.HubAddress != want.HubAddress:
		return fmt.Errorf("%w: approval names hub %s (%s), this is %s (%s)", ErrApprovalOtherHub, a.Hub, a.HubAddress.Hex(), want.Hub, want.HubAddress.Hex())
	case a.ChainID != want.ChainID:
		return fmt.Errorf("%w: approval names chain id %d, this hub's is %d", ErrApprovalOtherHub, a.ChainID, want.ChainID)
	case a.Code != want.Code || a.Request != want.Request:
		return fmt.Errorf("%w: approval is for code %s (request %s)", ErrApprovalOtherCode, a.Code, a.Request)
	case a.DeviceOrigin != want.DeviceOrigin || a.DeviceIP != want.DeviceIP || a.DeviceAgent != want.DeviceAgent:
		return fmt.Errorf("%w: the approval's device origin, IP or user agent is not the request's", ErrApprovalOtherCode)
	case a.Address != signer:
		return fmt.Errorf("%w: approval names %s", ErrOtherSigner, a.Address.Hex())
	case want.Address != (keys.Address{}) && a.Address != want.Address:
		return fmt.Errorf("%w: the device asked to be logged in as %s, not %s", ErrApprovalOtherAddress, want.Address.Hex(), a.Address.Hex())
	case a.issued.After(now.Add(DefaultSkew)):
		return fmt.Errorf("%w: issued at %s", ErrIssuedFuture, a.IssuedAt)
	case now.Sub(a.issued) > ttl+DefaultSkew:
		return fmt.Errorf("%w: approval issued at %s", ErrExpired, a.IssuedAt)
	}
	return nil
}
