package apitls

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestParseFingerprint(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	colons := strings.ToUpper(strings.TrimSuffix(strings.Repeat("AB:", 32), ":"))
	for _, s := range []string{hex, strings.ToUpper(hex), colons, "sha256:" + hex, " " + hex + "\n"} {
		f, err := ParseFingerprint(s)
		if err != nil || f.String() != hex {
			t.Errorf("%q: %s %v", s, f, err)
		}
	}
	for _, s := range []string{"", hex[:62], hex + "ab", "zz" + hex[2:], "sha1:" + hex} {
		if _, err := ParseFingerprint(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestPlainHTTPAllowed(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "::1": true, "[::1]": true, "localhost": true, "LOCALHOST": true,
		"127.0.0.2": false, "0.0.0.0": false, "::": false, "": false, "192.168.1.5": false,
		"hub.lan": false, "localhost.evil.example": false, "::ffff:127.0.0.1": false,
	} {
		if got := PlainHTTPAllowed(host); got != want {
			t.Errorf("PlainHTTPAllowed(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestLoadOrCreateKeepsTheCertificate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "api-tls.pem")
	c1, fp1, created, err := LoadOrCreate(p, []string{"192.168.1.5", "hub.lan"})
	if err != nil || !created {
		t.Fatal(created, err)
	}
	leaf := c1.Leaf
	if leaf == nil || len(leaf.IPAddresses) != 3 || len(leaf.DNSNames) != 2 || leaf.NotAfter.Sub(leaf.NotBefore) < certValidity {
		t.Errorf("generated certificate: %+v", leaf)
	}
	_, fp2, created, err := LoadOrCreate(p, []string{"10.0.0.1"})
	if err != nil || created || fp2 != fp1 {
		t.Fatalf("second load: created %v, %s vs %s, %v", created, fp2, fp1, err)
	}
	if Of(c1.Certificate[0]) != fp1 {
		t.Error("fingerprint is not SHA-256 of the DER")
	}
}

// FuzzParseFingerprint: an accepted fingerprint prints as 64 lower-case
// hex digits that parse back to it.
func FuzzParseFingerprint(f *testing.F) {
	f.Add(strings.Repeat("ab", 32))
	f.Add("sha256:" + strings.TrimSuffix(strings.Repeat("AB:", 32), ":"))
	f.Fuzz(func(t *testing.T, s string) {
		fp, err := ParseFingerprint(s)
		if err != nil {
			return
		}
		again, err := ParseFingerprint(fp.String())
		if err != nil || again != fp || fp.IsZero() || len(fp.String()) != 64 {
			t.Fatalf("%q -> %s -> %s %v", s, fp, again, err)
		}
	})
}
