package tsa_test

import (
	"context"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/testutil/openssltsa"
	"github.com/camchain/camchain/internal/tsa"
	"github.com/camchain/camchain/internal/witness"
)

const body = "camchain/v1/camchain-7/0xab000000000000000000000000000000000000cd/3\n42\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"

// TestOpenSSLTSA: a token from OpenSSL's own TSA (`openssl ts -reply`)
// verifies here under its CA, and `openssl ts -verify` agrees, on the
// genuine checkpoint and on altered ones (both refuse those).
func TestOpenSSLTSA(t *testing.T) {
	a := openssltsa.Start(t)
	tok, err := (&tsa.Client{URL: a.URL}).Timestamp(context.Background(), body)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		writeSeeds(t, tok)
	}
	got, err := tsa.Verify(tok, body, a.Roots)
	if err != nil {
		t.Fatalf("camchain: %v", err)
	}
	if !got.Trusted || time.Since(got.Time) > time.Minute || got.Signer != "CN=camchain test TSA" {
		t.Fatalf("token %+v", got)
	}
	if ok, out := a.Verify(t, tok, []byte(body)); !ok {
		t.Fatalf("openssl ts -verify refuses the token camchain accepts:\n%s", out)
	}

	other := body[:len(body)-3] + "A=\n"
	if _, _, _, err := witness.ParseBody(other); err != nil {
		t.Fatal(err)
	}
	if _, err := tsa.Verify(tok, other, a.Roots); !errors.Is(err, tsa.ErrImprint) {
		t.Fatalf("camchain on another checkpoint: %v, want ErrImprint", err)
	}
	if ok, _ := a.Verify(t, tok, []byte(other)); ok {
		t.Fatal("openssl ts -verify accepts the token for another checkpoint")
	}

	// An altered token: a byte of its signature (near the end).
	bad := append([]byte(nil), tok...)
	bad[len(bad)-5] ^= 1
	if _, err := tsa.Verify(bad, body, a.Roots); err == nil {
		t.Fatal("camchain accepts a token with an altered signature")
	}
	if ok, _ := a.Verify(t, bad, []byte(body)); ok {
		t.Fatal("openssl accepts a token with an altered signature")
	}

	// Another CA is not trusted; no CA: checked, not trusted.
	other2 := openssltsa.Start(t)
	if _, err := tsa.Verify(tok, body, other2.Roots); !errors.Is(err, tsa.ErrUntrusted) {
		t.Fatalf("under another CA: %v, want ErrUntrusted", err)
	}
	if got, err := tsa.Verify(tok, body, nil); err != nil || got.Trusted {
		t.Fatalf("with no roots: %+v, %v", got, err)
	}
	if _, err := tsa.Verify(tok, body, x509.NewCertPool()); !errors.Is(err, tsa.ErrUntrusted) {
		t.Fatalf("under an empty pool: %v", err)
	}
}
