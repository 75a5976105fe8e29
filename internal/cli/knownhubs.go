package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/camchain/camchain/internal/atomicfile"
)

// knownHub is a hub's identity as the owner's client pinned it at first
// contact (or as given on the command line): the ledger address it signs
// with, the TLS key of its camera link, and its ledger's chain id.
type knownHub struct {
	HubAddress    string `json:"hub_address"`
	LinkTLSPin    string `json:"link_tls_pin"`
	LedgerChainID string `json:"chain_id"` // the CometBFT chain id, camchain-<n>
}

// complete reports whether every part of the identity is given, so the
// owner has said exactly what to trust.
func (h knownHub) complete() bool {
	return h.HubAddress != "" && h.LinkTLSPin != "" && h.LedgerChainID != ""
}

// knownHubs is known_hubs.json beside the keystore directory (default
// $CAMCHAIN_HOME/known_hubs.json): hub URL → identity, the hubs this
// wallet's owner pinned.
type knownHubs struct {
	path string
	Hubs map[string]knownHub `json:"hubs"`
}

func loadKnownHubs(keystoreDir string) (*knownHubs, error) {
	k := &knownHubs{path: filepath.Join(filepath.Dir(filepath.Clean(keystoreDir)), "known_hubs.json"), Hubs: map[string]knownHub{}}
	b, err := os.ReadFile(k.path)
	if errors.Is(err, fs.ErrNotExist) {
		return k, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, k); err != nil {
		return nil, fmt.Errorf("%s is corrupt: %w", k.path, err)
	}
	if k.Hubs == nil {
		k.Hubs = map[string]knownHub{}
	}
	return k, nil
}

func (k *knownHubs) save() error {
	if err := os.MkdirAll(filepath.Dir(k.path), 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(k, "", "  ")
	return atomicfile.Write(k.path, append(b, '\n'), 0o600)
}

// errHubIdentity: the hub is not the one expected.
var errHubIdentity = errors.New("the hub is not the one expected")

// checkHub compares what the hub says it is with what is expected: the
// flags, else the identity pinned at first contact. It reports whether
// the hub is new (nothing pinned, no flags).
func (k *knownHubs) checkHub(url string, got knownHub, want knownHub) (first bool, err error) {
	pinned, known := k.Hubs[url]
	for _, c := range []struct{ what, got, flag, pinned string }{
		{"address", got.HubAddress, want.HubAddress, pinned.HubAddress},
		{"camera-link TLS pin", got.LinkTLSPin, want.LinkTLSPin, pinned.LinkTLSPin},
		{"chain id", got.LedgerChainID, want.LedgerChainID, pinned.LedgerChainID},
	} {
		switch {
		case c.flag != "" && !strings.EqualFold(c.flag, c.got):
			return false, fmt.Errorf("%w: hub at %s has %s %s, the command line expects %s; nothing was signed", errHubIdentity, url, c.what, c.got, c.flag)
		case c.flag == "" && known && !strings.EqualFold(c.pinned, c.got):
			return false, fmt.Errorf("%w: hub at %s now has %s %s, but %s was pinned at first contact (%s); nothing was signed. If the hub was really replaced, remove its entry from that file", errHubIdentity, url, c.what, c.got, c.pinned, k.path)
		}
	}
	return !known, nil
}

// errNotConfirmed: the owner did not confirm a hub met for the first time.
var errNotConfirmed = errors.New("the hub's identity was not confirmed; nothing was signed")

// confirmHub asks the owner, on a terminal, to confirm the identity of a
// hub met for the first time (printed just before). Without a terminal it
// refuses: a script says what it trusts with --yes or the pins.
func (e *env) confirmHub(url string) error {
	return e.askYesNo("First contact with this hub. Check the address, chain and pin above against the hub's console (camchaind prints them at start).\nTrust this hub and pair the camera with it? [y/N] ",
		usageError{fmt.Errorf("first contact with hub %s and standard input is not a terminal, so its identity cannot be confirmed: "+
			"pass --hub-address, --chain-id and --hub-pin (from the hub's console), or --yes to trust what it shows; nothing was signed", url)},
		errNotConfirmed)
}
