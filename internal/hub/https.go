package hub

import (
	"crypto/tls"
	"net"
	"net/url"

	"github.com/camchain/camchain/internal/apitls"
)

// startTLS puts the API behind TLS when the configuration asks for it (off
// 127.0.0.1, ::1 and localhost it always does: docs/SPEC.md §11.10): the
// user's certificate, or the one this hub generated once and keeps.
func (h *Hub) startTLS() error {
	if !h.cfg.TLS {
		return nil
	}
	cert, err := h.ownCert()
	if err != nil {
		return err
	}
	h.ln = tls.NewListener(h.ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	h.tlsOn = true
	return nil
}

// ownCert is the hub's own API certificate — the user's, or the one it
// generated once (naming the listen address, the public origin's host and
// extra, when it makes it) — and sets h.tlsFP, the fingerprint clients pin.
func (h *Hub) ownCert(extra ...string) (tls.Certificate, error) {
	var (
		cert tls.Certificate
		err  error
	)
	if h.cfg.TLSCertFile != "" {
		cert, h.tlsFP, err = apitls.Load(h.cfg.TLSCertFile, h.cfg.TLSKeyFile)
	} else {
		hosts := []string{}
		if host, _, err := net.SplitHostPort(h.cfg.HTTPAddr); err == nil {
			hosts = append(hosts, host)
		}
		if u, err := url.Parse(h.cfg.PublicOrigin); err == nil && h.cfg.PublicOrigin != "" {
			hosts = append(hosts, u.Hostname())
		}
		cert, h.tlsFP, _, err = apitls.LoadOrCreate(h.cfg.apiTLSFile(), append(hosts, extra...))
	}
	return cert, err
}

// Scheme is the API's scheme: https or http.
func (h *Hub) Scheme() string {
	if h.tlsOn {
		return "https"
	}
	return "http"
}

// BaseURL is the API's URL by its bound address.
func (h *Hub) BaseURL() string { return h.Scheme() + "://" + h.Addr() }

// TLSFingerprint is the SHA-256 fingerprint of the API's certificate
// (zero on plain HTTP), which clients pin.
func (h *Hub) TLSFingerprint() apitls.Fingerprint { return h.tlsFP }
