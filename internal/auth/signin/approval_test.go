package signin

import (
	"net/netip"
	"strings"
	"testing"
)

// approvalVector is the approval of docs/SPEC.md §11.8, byte for byte.
const approvalVector = `camchain/v1/device-approval
I approve this sign-in to camchain by the device below.
Hub: https://hub.example:8443
Hub Address: 0x3325a78425F17a7E487Eb5666b2bFd93aBb06c70
Chain ID: 4242
Code: 7KQM-X2PD
Request: 00112233445566778899aabbccddeeff
Device Origin: https://hub.example:8443
Device IP: 192.0.2.7
Device User Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0
Address: 0x5050A4F4b3f9338C3472dcC01A87C76A144b3c9c
Issued At: 2026-12-02T08:00:00Z`

func TestApprovalVector(t *testing.T) {
	a, err := ParseApproval(approvalVector)
	if err != nil {
		t.Fatal(err)
	}
	if a.String() != approvalVector {
		t.Fatalf("round trip:\n%s", a.String())
	}
	if a.Code != "7KQM-X2PD" || a.ChainID != 4242 || a.DeviceIP != netip.MustParseAddr("192.0.2.7") ||
		a.Request.String() != "00112233445566778899aabbccddeeff" || a.Hub != "https://hub.example:8443" {
		t.Errorf("fields: %+v", a)
	}
	for _, bad := range []struct{ name, from, to string }{
		{"another label", "camchain/v1/device-approval", "camchain/v1/device-approva1"},
		{"CRLF", "\nHub: ", "\r\nHub: "},
		{"a final LF", "08:00:00Z", "08:00:00Z\n"},
		{"a lower-case code", "7KQM-X2PD", "7kqm-x2pd"},
		{"a code without its hyphen", "7KQM-X2PD", "7KQMX2PD"},
		{"an unchecksummed address", "0x5050A4F4b3f9338C3472dcC01A87C76A144b3c9c", "0x5050a4f4b3f9338c3472dcc01a87c76a144b3c9c"},
		{"a hub with a path", "Hub: https://hub.example:8443", "Hub: https://hub.example:8443/x"},
		{"a non-canonical IP", "192.0.2.7", "192.000.2.7"},
		{"an upper-case request", "aabbccddeeff", "AABBCCDDEEFF"},
		{"a leading zero chain id", "Chain ID: 4242", "Chain ID: 04242"},
		{"non-ASCII", "Chrome/131.0", "Chrome/131.0\u00e9"},
		{"fields swapped", "Device IP: 192.0.2.7\nDevice User Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0", "Device User Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0\nDevice IP: 192.0.2.7"},
		{"an empty user agent", "Device User Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0", "Device User Agent: "},
		{"a bad time", "2026-12-02T08:00:00Z", "2026-12-02 08:00:00Z"},
	} {
		s := strings.Replace(approvalVector, bad.from, bad.to, 1)
		if s == approvalVector {
			t.Fatalf("%s: the edit changed nothing", bad.name)
		}
		if _, err := ParseApproval(s); err == nil {
			t.Errorf("%s: accepted", bad.name)
		}
	}
	if _, err := ParseApproval(strings.Repeat("x", MaxApprovalBytes+1)); err == nil {
		t.Error("an oversize approval was accepted")
	}
}

// An approval can never be read as a sign-in message, nor the reverse.
func TestApprovalDomainSeparated(t *testing.T) {
	if _, err := ParseMessage(approvalVector); err == nil {
		t.Fatal("an approval parses as a sign-in message")
	}
	if _, err := ParseApproval(eip4361Example); err == nil {
		t.Fatal("a sign-in message parses as an approval")
	}
}

func TestDeviceText(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "-",
		"curl/8.5":               "curl/8.5",
		"a\nb\x00c\u00e9":        "a?b?c??",
		strings.Repeat("x", 300): strings.Repeat("x", MaxDeviceAgentBytes),
	} {
		if got := DeviceText(in, MaxDeviceAgentBytes); got != want {
			t.Errorf("DeviceText(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParseApproval: whatever parses prints back as the same bytes, so the
// hub checks exactly what the wallet signed.
func FuzzParseApproval(f *testing.F) {
	f.Add(approvalVector)
	f.Add(strings.Replace(approvalVector, "192.0.2.7", "2001:db8::7", 1))
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseApproval(s)
		if err != nil {
			return
		}
		if a.String() != s {
			t.Fatalf("round trip differs:\n%q\n%q", s, a.String())
		}
	})
}

// FuzzParseDeviceCode: an accepted code is canonical and parses to itself.
func FuzzParseDeviceCode(f *testing.F) {
	f.Add("7KQM-X2PD")
	f.Add("7kqm x2pd")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseDeviceCode(s)
		if err != nil {
			return
		}
		if again, err := ParseDeviceCode(c); err != nil || again != c || len(c) != 9 {
			t.Fatalf("%q -> %q -> %q %v", s, c, again, err)
		}
	})
}
