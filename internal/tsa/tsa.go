// Package tsa asks RFC 3161 Time-Stamping Authorities to timestamp a
// camera's checkpoint and checks the tokens they return (docs/SPEC.md
// §16.5).
//
// What is timestamped is the checkpoint body (witness.Body: the camera's
// log origin, tree size and root), hashed with SHA-256: a token proves that
// this tree of this camera's log existed at the token's time, by the word
// of the TSA. Parsing and the CMS signature check are
// github.com/digitorus/timestamp's; this package adds what a verifier must
// also check: the hash is of this checkpoint, and the signer chains to a
// TSA certificate the verifier trusts, with the timeStamping key usage, at
// the token's time.
package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"
)

// Limits.
const (
	// MaxTokenBytes caps a token: a TimeStampToken with its TSA's chain is
	// a few KiB (evidence.MaxTimestampBytes).
	MaxTokenBytes = 16 << 10
	// RequestTimeout bounds one request to a TSA.
	RequestTimeout = 15 * time.Second
)

// Errors.
var (
	// ErrToken: the token is malformed or its signature does not verify.
	ErrToken = errors.New("tsa: timestamp token invalid")
	// ErrImprint: the token timestamps something else than this checkpoint.
	ErrImprint = errors.New("tsa: the token is of another message")
	// ErrUntrusted: the token's signer does not chain to a trusted TSA
	// certificate for time-stamping at the token's time.
	ErrUntrusted = errors.New("tsa: the token's signer is not a trusted TSA")
	// ErrTSA: the TSA gave no usable answer.
	ErrTSA = errors.New("tsa: no usable answer from the time-stamping authority")
)

// Imprint is what a checkpoint's token timestamps: SHA-256 of its body.
func Imprint(body string) [32]byte { return sha256.Sum256([]byte(body)) }

// Token is a verified timestamp token.
type Token struct {
	Time   time.Time
	Serial *big.Int
	// Signer is the TSA certificate's subject.
	Signer string
	// Trusted: the signer chains to a root the verifier gave.
	Trusted bool
}

// Verify checks a DER TimeStampToken of body: it parses, its CMS
// signature verifies under the certificate it carries, its message
// imprint is SHA-256 of body, and — when roots is not nil — its signer
// chains to roots for time-stamping at the token's time (else ErrUntrusted).
// With roots nil the token is checked but not trusted (Token.Trusted false).
func Verify(der []byte, body string, roots *x509.CertPool) (*Token, error) {
	if len(der) == 0 || len(der) > MaxTokenBytes {
		return nil, fmt.Errorf("%w: %d bytes, want 1..%d", ErrToken, len(der), MaxTokenBytes)
	}
	ts, p7, err := parse(der)
	if err != nil {
		return nil, err
	}
	if len(ts.Certificates) == 0 {
		return nil, fmt.Errorf("%w: the token carries no TSA certificate (request it with certReq)", ErrToken)
	}
	want := Imprint(body)
	if ts.HashAlgorithm != crypto.SHA256 || subtle.ConstantTimeCompare(ts.HashedMessage, want[:]) != 1 {
		return nil, fmt.Errorf("%w: it timestamps %s %x, this checkpoint is SHA-256 %x", ErrImprint, ts.HashAlgorithm, ts.HashedMessage, want[:])
	}
	signer := p7.GetOnlySigner()
	if signer == nil {
		return nil, fmt.Errorf("%w: not exactly one signer", ErrToken)
	}
	tok := &Token{Time: ts.Time.UTC(), Serial: ts.SerialNumber, Signer: signer.Subject.String()}
	if roots == nil {
		return tok, nil
	}
	inter := x509.NewCertPool()
	for _, c := range ts.Certificates {
		inter.AddCert(c)
	}
	if _, err := signer.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: ts.Time,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUntrusted, tok.Signer, err)
	}
	tok.Trusted = true
	return tok, nil
}

// parse reads a token with the libraries, but only one that is a single
// DER SEQUENCE with nothing after it: their BER reader panics on some
// malformed inputs (FuzzVerify found one), so it never sees anything else,
// and a panic in them is still turned into ErrToken, never a crash.
func parse(der []byte) (ts *timestamp.Timestamp, p7 *pkcs7.PKCS7, err error) {
	var raw asn1.RawValue
	rest, err := asn1.Unmarshal(der, &raw)
	if err != nil || len(rest) != 0 || raw.Class != asn1.ClassUniversal || raw.Tag != asn1.TagSequence || !raw.IsCompound {
		return nil, nil, fmt.Errorf("%w: not one DER SEQUENCE", ErrToken)
	}
	defer func() {
		if r := recover(); r != nil {
			ts, p7, err = nil, nil, fmt.Errorf("%w: the token's structure is malformed", ErrToken)
		}
	}()
	if ts, err = timestamp.Parse(der); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrToken, err)
	}
	if p7, err = pkcs7.Parse(der); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrToken, err)
	}
	return ts, p7, nil
}

// Client asks one TSA (RFC 3161 over HTTP, RFC 3161 §3.4).
type Client struct {
	URL  string
	HTTP *http.Client // nil: http.DefaultClient
}

// Timestamp asks the TSA for a token of body (with a fresh nonce and its
// certificate) and returns the token after checking it answers this
// request: status granted, same imprint and nonce, a valid signature.
func (c *Client) Timestamp(ctx context.Context, body string) ([]byte, error) {
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	im := Imprint(body)
	req, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: im[:], Nonce: nonce, Certificates: true}).Marshal()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, RequestTimeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(req))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTSA, err)
	}
	hr.Header.Set("Content-Type", "application/timestamp-query")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrTSA, c.URL, err)
	}
	defer resp.Body.Close()
	ans, err := io.ReadAll(io.LimitReader(resp.Body, 4*MaxTokenBytes))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s answered %d (%v)", ErrTSA, c.URL, resp.StatusCode, err)
	}
	ts, err := timestamp.ParseResponse(ans)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrTSA, c.URL, err)
	}
	if ts.Nonce == nil || ts.Nonce.Cmp(nonce) != 0 {
		return nil, fmt.Errorf("%w: %s answered with another nonce: not an answer to this request", ErrTSA, c.URL)
	}
	if _, err := Verify(ts.RawToken, body, nil); err != nil {
		return nil, err
	}
	return ts.RawToken, nil
}
