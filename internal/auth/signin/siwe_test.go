package signin

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// eip4361Example is the example message of EIP-4361 (with its address
// checksummed and a nonce of the grammar's form).
const eip4361Example = `service.invalid wants you to sign in with your Ethereum account:
0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2

I accept the ServiceOrg Terms of Service: https://service.invalid/tos

URI: https://service.invalid/login
Version: 1
Chain ID: 1
Nonce: 32891756
Issued At: 2021-09-30T16:25:24Z
Resources:
- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/
- https://example.com/my-web2-claim.json`

func TestParseEIP4361Example(t *testing.T) {
	m, err := ParseMessage(eip4361Example)
	if err != nil {
		t.Fatal(err)
	}
	if m.Domain != "service.invalid" || m.ChainID != 1 || m.Nonce != "32891756" || len(m.Resources) != 2 ||
		m.Statement != "I accept the ServiceOrg Terms of Service: https://service.invalid/tos" {
		t.Fatalf("parsed %+v", m)
	}
	if m.String() != eip4361Example {
		t.Fatalf("String() does not give back the signed text:\n%s", m.String())
	}
}

// TestParseNoStatement: without a statement the grammar has three line
// feeds after the address (the form the siwe package writes).
func TestParseNoStatement(t *testing.T) {
	s := "example.com wants you to sign in with your Ethereum account:\n0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n\n\nURI: https://example.com\nVersion: 1\nChain ID: 5\nNonce: abcdefgh\nIssued At: 2021-09-30T16:25:24.000Z\nExpiration Time: 2021-09-30T17:25:24.000Z\nNot Before: 2021-09-30T16:00:00.000Z\nRequest ID: req-1"
	m, err := ParseMessage(s)
	if err != nil {
		t.Fatal(err)
	}
	if m.Statement != "" || m.RequestID != "req-1" || m.NotBefore == "" || m.String() != s {
		t.Fatalf("parsed %+v", m)
	}
}

func TestParseRefusals(t *testing.T) {
	good := strings.Split(eip4361Example, "\n")
	edit := func(i int, v string) string {
		l := append([]string(nil), good...)
		l[i] = v
		return strings.Join(l, "\n")
	}
	cases := map[string]string{
		"empty":                  "",
		"trailing line feed":     eip4361Example + "\n",
		"CRLF":                   strings.ReplaceAll(eip4361Example, "\n", "\r\n"),
		"no header":              edit(0, "service.invalid wants you to sign in"),
		"space in domain":        edit(0, "service invalid wants you to sign in with your Ethereum account:"),
		"unchecksummed address":  edit(1, "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756CC2"),
		"short address":          edit(1, "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756C"),
		"statement with newline": edit(3, "a\nb"),
		"relative URI":           edit(5, "URI: /login"),
		"no URI":                 edit(5, "Uri: https://service.invalid/login"),
		"chain id leading zero":  edit(7, "Chain ID: 01"),
		"chain id negative":      edit(7, "Chain ID: -1"),
		"chain id too big":       edit(7, "Chain ID: 18446744073709551616"),
		"nonce too short":        edit(8, "Nonce: 1234567"),
		"nonce base64url":        edit(8, "Nonce: abcd-efgh_ij"),
		"bad time":               edit(9, "Issued At: yesterday"),
		"lowercase t in time":    edit(9, "Issued At: 2021-09-30t16:25:24Z"),
		"fields out of order":    strings.Replace(eip4361Example, "Version: 1\nChain ID: 1", "Chain ID: 1\nVersion: 1", 1),
		"empty resources":        strings.Join(good[:10], "\n") + "\nResources:",
		"resource without dash":  edit(11, "ipfs://x"),
		"unknown field":          strings.Replace(eip4361Example, "\nResources:", "\nColour: blue\nResources:", 1),
		"NUL byte":               edit(3, "a\x00b"),
		"oversize":               eip4361Example + strings.Repeat("x", MaxMessageBytes),
	}
	for name, s := range cases {
		if _, err := ParseMessage(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want %v", name, err, ErrMalformed)
		}
	}
}

func TestCheckTimes(t *testing.T) {
	origin, _ := ParseOrigin("https://service.invalid")
	want := Expect{Origin: origin, ChainID: 1, MaxAge: 5 * time.Minute, Skew: 30 * time.Second}
	m, err := ParseMessage(eip4361Example)
	if err != nil {
		t.Fatal(err)
	}
	issued := time.Date(2021, 9, 30, 16, 25, 24, 0, time.UTC)
	if err := m.Check(want, issued.Add(time.Minute)); err != nil {
		t.Fatalf("a fresh message: %v", err)
	}
	if err := m.Check(want, issued.Add(-time.Minute)); !errors.Is(err, ErrIssuedFuture) {
		t.Fatalf("issued a minute ahead: got %v", err)
	}
	if err := m.Check(want, issued.Add(-20*time.Second)); err != nil {
		t.Fatalf("within the skew: %v", err)
	}
	if err := m.Check(want, issued.Add(6*time.Minute)); !errors.Is(err, ErrExpired) {
		t.Fatalf("older than MaxAge: got %v", err)
	}
}

func FuzzParseMessage(f *testing.F) {
	f.Add(eip4361Example)
	f.Add("example.com wants you to sign in with your Ethereum account:\n0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n\n\nURI: https://example.com\nVersion: 1\nChain ID: 5\nNonce: abcdefgh\nIssued At: 2021-09-30T16:25:24.000Z")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMessage(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("refusal %v is not ErrMalformed", err)
			}
			return
		}
		// What parses is exactly what was signed: String gives it back.
		if got := m.String(); got != s {
			t.Fatalf("round trip:\n%q\n%q", s, got)
		}
	})
}

// TestFuzzSeedsCommitted keeps the committed corpus in place.
func TestFuzzSeedsCommitted(t *testing.T) {
	for _, fz := range []string{"FuzzParseMessage", "FuzzParseApproval", "FuzzParseDeviceCode"} {
		ents, err := os.ReadDir(filepath.Join("testdata", "fuzz", fz))
		if err != nil || len(ents) == 0 {
			t.Errorf("no committed seeds for %s: %v", fz, err)
		}
	}
}
