package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/apitls"
	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/home"
)

// hubCerts is $CAMCHAIN_HOME/known_hub_certs.json (mode 0600): hub URL →
// the SHA-256 fingerprint of its API's TLS certificate, pinned by
// --hub-fingerprint or confirmed at the first login (docs/SPEC.md §11.10).
// Every command that talks to an https:// hub with an entry here accepts
// exactly that certificate.
type hubCerts struct {
	path    string
	Version int                `json:"version"`
	Hubs    map[string]hubCert `json:"hubs"`
}

type hubCert struct {
	SHA256 string `json:"sha256"`
	Pinned string `json:"pinned"` // when, RFC 3339
}

const hubCertsVersion = 1

func loadHubCerts() (*hubCerts, error) {
	p, err := home.Dir("known_hub_certs.json")
	if err != nil {
		return nil, err
	}
	k := &hubCerts{path: p, Version: hubCertsVersion, Hubs: map[string]hubCert{}}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return k, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, k); err != nil || k.Version != hubCertsVersion {
		return nil, fmt.Errorf("%s is not a version %d file of pinned hub certificates; fix or remove it", p, hubCertsVersion)
	}
	if k.Hubs == nil {
		k.Hubs = map[string]hubCert{}
	}
	return k, nil
}

func (k *hubCerts) get(hub string) (apitls.Fingerprint, bool, error) {
	c, ok := k.Hubs[hub]
	if !ok {
		return apitls.Fingerprint{}, false, nil
	}
	fp, err := apitls.ParseFingerprint(c.SHA256)
	if err != nil {
		return fp, false, fmt.Errorf("%s: hub %s: %w", k.path, hub, err)
	}
	return fp, true, nil
}

func (k *hubCerts) set(hub string, fp apitls.Fingerprint) error {
	k.Hubs[hub] = hubCert{SHA256: fp.String(), Pinned: time.Now().UTC().Format(time.RFC3339)}
	if err := os.MkdirAll(filepath.Dir(k.path), 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(k, "", "  ")
	return atomicfile.Write(k.path, append(b, '\n'), 0o600)
}

// probeTimeout bounds the look at a hub's certificate before pinning it.
const probeTimeout = 10 * time.Second

// pinTLS makes c accept only the hub certificate pinned for its URL: the
// one --hub-fingerprint (or the URL's #sha256= fragment) names (checked
// against the hub, then remembered),
// else the one remembered. With neither, a certificate that the system's
// authorities vouch for is used as is; any other is refused, unless tofu
// (the first login) shows it to the user and they accept it.
func (h *hubFlags) pinTLS(c *api.Client) error {
	hub := c.Base()
	u, _ := url.Parse(hub)
	if u.Scheme != "https" {
		if h.fingerprint != "" {
			return usageError{fmt.Errorf("--hub-fingerprint pins an https:// hub's certificate; %s is not https", hub)}
		}
		return nil
	}
	var flag apitls.Fingerprint
	if h.fingerprint != "" {
		fp, err := apitls.ParseFingerprint(h.fingerprint)
		if err != nil {
			return usageError{fmt.Errorf("--hub-fingerprint: %w", err)}
		}
		flag = fp
	}
	if flag.IsZero() {
		flag = c.Pin() // a pin in the URL's fragment counts as the flag
	}
	known, err := loadHubCerts()
	if err != nil {
		return err
	}
	stored, ok, err := known.get(hub)
	if err != nil {
		return err
	}
	if flag.IsZero() && ok {
		c.WithTLSPin(stored)
		return nil
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	got, trusted, err := apitls.Probe(addr, probeTimeout)
	if err != nil {
		return fmt.Errorf("cannot reach the hub at %s: %w", hub, err)
	}
	switch {
	case !flag.IsZero():
		if !got.Equal(flag) {
			return fmt.Errorf("hub at %s: %w", hub, &apitls.PinError{Got: got, Want: flag})
		}
		if !ok || !stored.Equal(flag) {
			if err := known.set(hub, flag); err != nil {
				return err
			}
		}
		c.WithTLSPin(flag)
		return nil
	case trusted:
		return nil
	case h.tofu == nil:
		return fmt.Errorf("the hub at %s presents a TLS certificate that no authority vouches for (SHA-256 fingerprint %s) and none is pinned for it: "+
			"log in with `camchain login --hub %s --hub-fingerprint <the fingerprint camchaind printed at start>`", hub, got, hub)
	}
	if err := h.tofu(hub, got); err != nil {
		return err
	}
	if err := known.set(hub, got); err != nil {
		return err
	}
	c.WithTLSPin(got)
	return nil
}

// errCertNotTrusted: the user did not accept a hub's certificate.
var errCertNotTrusted = errors.New("the hub's TLS certificate was not trusted; nothing was sent")

// confirmHubCert shows a hub certificate met for the first time and asks
// the user, on a terminal, whether to trust it (trust on first use, as an
// SSH client's). Without a terminal it refuses: a script passes
// --hub-fingerprint.
func (e *env) confirmHubCert(hub string, fp apitls.Fingerprint) error {
	return e.askYesNo(fmt.Sprintf("The hub at %s presents a TLS certificate that no authority vouches for.\nIts SHA-256 fingerprint:\n\n  %s\n\n"+
		"Compare it with the fingerprint camchaind printed at start (or its QR code).\nTrust this certificate and remember it for this hub? [y/N] ", hub, fp),
		usageError{fmt.Errorf("the hub at %s presents a TLS certificate that no authority vouches for, SHA-256 fingerprint %s, "+
			"and standard input is not a terminal to confirm it: pass --hub-fingerprint with the fingerprint camchaind printed at start; nothing was sent", hub, fp)},
		errCertNotTrusted)
}
