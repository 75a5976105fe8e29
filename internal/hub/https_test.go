package hub

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/apitls"
)

// pinnedGet fetches url with pin as the only trust.
func pinnedGet(url string, pin apitls.Fingerprint) (*http.Response, error) {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: apitls.PinnedConfig(pin)}}
	return c.Get(url)
}

// TestHTTPSOffLoopback: on an address other than 127.0.0.1/::1/localhost
// (here 127.0.0.2, a loopback address the rule does not exempt) the hub
// serves HTTPS only, with a certificate it generates once and keeps: the
// same fingerprint after a restart. Plain HTTP gets no API, and a client
// pinning another fingerprint is refused.
func TestHTTPSOffLoopback(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hub")
	if _, err := Init(Config{DataDir: dir}, ""); err != nil {
		t.Fatal(err)
	}
	start := func() *Hub {
		h, err := Start(Config{DataDir: dir, HTTPAddr: "127.0.0.2:0", LinkAddr: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h := start()
	if h.Scheme() != "https" || h.TLSFingerprint().IsZero() || h.auth.Origin().Scheme != "https" {
		t.Fatalf("scheme %s, fingerprint %s, origin %s", h.Scheme(), h.TLSFingerprint(), h.auth.Origin())
	}
	fp := h.TLSFingerprint()
	resp, err := pinnedGet(h.BaseURL()+"/api/v1/status", fp)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("pinned HTTPS: %d %v", resp.StatusCode, resp.Header)
	}
	// Plain HTTP to the same port: the TLS server answers no API.
	if resp, err := http.Get("http://" + h.Addr() + "/api/v1/status"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 || strings.Contains(string(b), "hub_address") {
			t.Errorf("plain HTTP was served: %d %s", resp.StatusCode, b)
		}
	}
	// A wrong pin is refused with the clear error.
	wrong := fp
	wrong[0] ^= 1
	_, err = pinnedGet(h.BaseURL()+"/api/v1/status", wrong)
	var pe *apitls.PinError
	if !errors.As(err, &pe) || pe.Got != fp || !strings.Contains(err.Error(), "not the pinned") {
		t.Errorf("wrong pin: %v", err)
	}
	// Without a pin, the self-signed certificate is not trusted.
	if _, err := http.Get(h.BaseURL() + "/api/v1/status"); err == nil {
		t.Error("a client trusting the system's authorities accepted the generated certificate")
	}
	if st, err := os.Stat(filepath.Join(dir, "keys", "api-tls.pem")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("generated certificate file: %v %v", st, err)
	}
	h.Close()
	h = start()
	defer h.Close()
	if h.TLSFingerprint() != fp {
		t.Errorf("fingerprint changed across a restart: %s, was %s", h.TLSFingerprint(), fp)
	}
}

// The configuration cannot ask for plain HTTP off 127.0.0.1/::1/localhost.
func TestPlainHTTPOnlyOnLoopback(t *testing.T) {
	for _, tc := range []struct {
		addr, origin string
		tls          bool
		err          string
	}{
		{addr: "127.0.0.1:0"},
		{addr: "[::1]:0"},
		{addr: "localhost:0"},
		{addr: "127.0.0.2:0", tls: true},
		{addr: "192.168.1.5:8080", tls: true},
		{addr: "0.0.0.0:8443", err: "--public-origin"},
		{addr: "[::]:8443", err: "--public-origin"},
		{addr: "0.0.0.0:8443", origin: "https://hub.lan:8443", tls: true},
		{addr: "192.168.1.5:8080", origin: "http://192.168.1.5:8080", err: "https://"},
	} {
		c := Config{DataDir: t.TempDir(), HTTPAddr: tc.addr, PublicOrigin: tc.origin}
		err := c.Validate()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s %s: %v, want an error about %s", tc.addr, tc.origin, err, tc.err)
			}
			continue
		}
		if err != nil || c.TLS != tc.tls {
			t.Errorf("%s: TLS %v (%v), want %v", tc.addr, c.TLS, err, tc.tls)
		}
	}
}

// TestHTTPSWithUserCertificate: the user's certificate is served as given
// and its fingerprint is what the hub reports.
func TestHTTPSWithUserCertificate(t *testing.T) {
	tmp := t.TempDir()
	certFile := filepath.Join(tmp, "mine.pem")
	if _, _, _, err := apitls.LoadOrCreate(certFile, []string{"hub.example"}); err != nil {
		t.Fatal(err)
	}
	want, err := tls.LoadX509KeyPair(certFile, certFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "hub")
	if _, err := Init(Config{DataDir: dir}, ""); err != nil {
		t.Fatal(err)
	}
	h, err := Start(Config{DataDir: dir, HTTPAddr: "127.0.0.1:0", LinkAddr: "127.0.0.1:0", TLSCertFile: certFile, TLSKeyFile: certFile})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if h.TLSFingerprint() != apitls.Of(want.Certificate[0]) {
		t.Fatalf("fingerprint %s is not the user's certificate's", h.TLSFingerprint())
	}
	c, err := api.NewClient(h.BaseURL())
	if err != nil {
		t.Fatal(err)
	}
	c.WithTLSPin(h.TLSFingerprint())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if st, err := c.Status(ctx); err != nil || st.HubAddress != h.Address().Hex() {
		t.Fatalf("status over pinned HTTPS: %v %v", st, err)
	}
	resp, err := pinnedGet(h.BaseURL()+"/api/v1/status", h.TLSFingerprint())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Strict-Transport-Security") != "max-age=31536000" {
		t.Errorf("HSTS with the user's certificate: %q", resp.Header.Get("Strict-Transport-Security"))
	}
	// The pin carried in the URL's fragment, as a camera gets it at pairing.
	pc, err := api.NewClient(h.BaseURL() + "/#sha256=" + h.TLSFingerprint().String())
	if err != nil {
		t.Fatal(err)
	}
	if st, err := pc.Status(ctx); err != nil || st.HubAddress != h.Address().Hex() || pc.Base() != h.BaseURL() ||
		pc.PinnedURL() != h.BaseURL()+"#sha256="+h.TLSFingerprint().String() {
		t.Fatalf("status with the pin in the URL: %v %v (%s)", st, err, pc.PinnedURL())
	}
	wrong := h.TLSFingerprint()
	wrong[31] ^= 0x80
	wc, _ := api.NewClient(h.BaseURL() + "#sha256=" + wrong.String())
	var pe *apitls.PinError
	if _, err := wc.Status(ctx); !errors.As(err, &pe) {
		t.Errorf("a wrong pin in the URL: %v", err)
	}
	for _, bad := range []string{h.BaseURL() + "#x", "http://" + h.Addr() + "#sha256=" + wrong.String(), h.BaseURL() + "#sha256=12"} {
		if _, err := api.NewClient(bad); err == nil {
			t.Errorf("NewClient(%q) accepted", bad)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "keys", "api-tls.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the hub generated a certificate although the user gave one: %v", err)
	}
}
