// Package openssltsa runs a real RFC 3161 Time-Stamping Authority for
// tests: OpenSSL's `openssl ts -reply` behind a small loopback HTTP
// endpoint, with a test CA and a TSA certificate (extendedKeyUsage
// critical timeStamping) made by `openssl` too. Verify runs `openssl ts
// -verify` on a token, so tests can check that camchain and OpenSSL agree.
//
// It is for tests only; a missing openssl fails the test.
package openssltsa

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// TSA is a running OpenSSL TSA.
type TSA struct {
	URL string
	// Roots holds the test CA: what a verifier trusts.
	Roots  *x509.CertPool
	CAFile string // the CA's PEM
	dir    string
	mu     sync.Mutex // openssl ts -reply updates its serial file
}

func run(t testing.TB, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
	return out
}

// Start makes the CA and TSA certificates and serves the TSA until the
// test ends.
func Start(t testing.TB) *TSA {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("openssl is needed for the RFC 3161 tests (apt-get install openssl): %v", err)
	}
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ext.cnf", "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n")
	write("serial", "01\n")
	write("tsa.cnf", `[ tsa ]
default_tsa = tsa1
[ tsa1 ]
dir = `+dir+`
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
`)
	run(t, dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
		"-out", "ca.pem", "-subj", "/CN=camchain test TSA root", "-days", "2",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
	run(t, dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "tsa.key",
		"-out", "tsa.csr", "-subj", "/CN=camchain test TSA")
	run(t, dir, "x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "2",
		"-out", "tsa.pem", "-days", "2", "-extfile", "ext.cnf")
	ca, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(ca)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	a := &TSA{Roots: x509.NewCertPool(), CAFile: filepath.Join(dir, "ca.pem"), dir: dir}
	a.Roots.AddCert(cert)
	srv := httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(srv.Close)
	a.URL = srv.URL + "/tsa"
	return a
}

// serve answers one RFC 3161 request with `openssl ts -reply`.
func (a *TSA) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/timestamp-query" {
		http.Error(w, "POST application/timestamp-query", http.StatusBadRequest)
		return
	}
	q, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	f, err := os.CreateTemp(a.dir, "q-*.tsq")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer os.Remove(f.Name())
	f.Write(q)
	f.Close()
	out := f.Name() + ".tsr"
	defer os.Remove(out)
	cmd := exec.Command("openssl", "ts", "-reply", "-config", filepath.Join(a.dir, "tsa.cnf"), "-queryfile", f.Name(), "-out", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		http.Error(w, "openssl ts -reply: "+string(msg), http.StatusInternalServerError)
		return
	}
	resp, err := os.ReadFile(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Write(resp)
}

// Verify runs `openssl ts -verify` on a DER TimeStampToken of data,
// trusting the test CA. It returns OpenSSL's verdict and its output.
func (a *TSA) Verify(t testing.TB, token, data []byte) (bool, string) {
	t.Helper()
	dir := t.TempDir()
	tok, dat := filepath.Join(dir, "token.der"), filepath.Join(dir, "data")
	if err := os.WriteFile(tok, token, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dat, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("openssl", "ts", "-verify", "-in", tok, "-token_in", "-data", dat, "-CAfile", a.CAFile)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return err == nil, out.String()
}
