package hub

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"

	"github.com/camchain/camchain/internal/tailnet"
)

// tailnetPort is where the UI and API listen on the tailnet: HTTPS's own
// port, so the URL a phone opens is https://<name>/ with no port.
const tailnetPort = "443"

// hubTailnet is the hub's node on the owner's tailnet and what it serves
// there.
type hubTailnet struct {
	node   tailnet.Node
	ln     net.Listener // TLS, on the node's tailnet addresses only
	origin string       // https://<cert domain or tailnet IPv4>
	// issued: the certificate is the tailnet's (browsers trust it); else
	// the hub's own, which clients pin (h.tlsFP).
	issued bool
}

// startTailnet joins the owner's tailnet when the configuration asks for
// it and listens for the API there (docs/SPEC.md §11.12): HTTPS with the
// certificate the tailnet issues for the node's name, or, where the
// tailnet issues none (headscale), the hub's own certificate on the node's
// tailnet IPv4 address, pinned by clients like any generated one. Unless
// --public-origin says otherwise, the tailnet origin becomes the hub's
// public origin: the one sign-in messages name, from home or from LTE.
// Only the API is served there: the camera link stays on its LAN address.
func (h *Hub) startTailnet() error {
	if h.cfg.Tailnet == nil {
		return nil
	}
	n, err := h.cfg.TailnetJoin(context.Background(), *h.cfg.Tailnet)
	if err != nil {
		return err
	}
	ln, err := n.Listen("tcp", ":"+tailnetPort)
	if err != nil {
		n.Close()
		return fmt.Errorf("tailnet: listen on :%s: %w", tailnetPort, err)
	}
	t := &hubTailnet{node: n}
	var tc *tls.Config
	if d := n.CertDomain(); d != "" {
		tc = &tls.Config{GetCertificate: n.GetCertificate, MinVersion: tls.VersionTLS12}
		t.origin, t.issued = "https://"+d, true
	} else {
		extra := []string{n.IPv4().String()}
		if d := n.DNSName(); d != "" {
			extra = append(extra, d)
		}
		cert, err := h.ownCert(extra...)
		if err != nil {
			ln.Close()
			n.Close()
			return err
		}
		tc = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		t.origin = "https://" + n.IPv4().String()
	}
	t.ln = tls.NewListener(ln, tc)
	if h.cfg.PublicOrigin == "" {
		h.cfg.PublicOrigin = t.origin
	}
	h.tailnet = t
	return nil
}

// closeTailnet leaves the tailnet (Start's failures and Close).
func (h *Hub) closeTailnet() error {
	if h.tailnet == nil {
		return nil
	}
	h.tailnet.ln.Close()
	return h.tailnet.node.Close()
}

// TailnetOrigin is the API's origin on the tailnet ("" when the hub is on
// none).
func (h *Hub) TailnetOrigin() string {
	if h.tailnet == nil {
		return ""
	}
	return h.tailnet.origin
}

// cameraAPI is the API URL a camera is given at a browser's pairing: the
// public origin, except when that is the tailnet's, which cameras are not
// on — then the LAN address (with its certificate's pin on HTTPS).
func (h *Hub) cameraAPI() string {
	o := h.auth.Origin().String()
	if h.tailnet == nil || o != h.tailnet.origin {
		return o
	}
	if h.tlsOn {
		return h.BaseURL() + "#sha256=" + h.tlsFP.String()
	}
	return h.BaseURL()
}

// printTailnet tells the owner where the hub is on the tailnet.
func printTailnet(w io.Writer, h *Hub) {
	t := h.tailnet
	if t == nil {
		return
	}
	name := t.node.DNSName()
	if name == "" {
		name = "(no MagicDNS name)"
	}
	fmt.Fprintf(w, "  tailnet: %s/ (UI and API; node %s, %s)\n", t.origin, name, t.node.IPv4())
	if t.issued {
		fmt.Fprintf(w, "         certificate issued by the tailnet for %s: browsers trust it\n", t.node.CertDomain())
	} else {
		fmt.Fprintf(w, "         the tailnet issues no certificate (headscale does not): the hub's own, SHA-256 fingerprint %s\n"+
			"         log in and pin it with: camchain login --hub %s --hub-fingerprint %s\n", h.tlsFP, t.origin, h.tlsFP)
	}
	fmt.Fprintf(w, "         the camera link is not on the tailnet: cameras stay on %s\n", h.LinkAddr())
}
