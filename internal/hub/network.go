package hub

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/wallet"
)

// A network of hubs (README "A network of hubs", docs/SPEC.md §3.6): each
// hub makes its keys (`camchaind init --network`), prints its identity
// (`camchaind identity`), one operator makes the genesis from all of them
// (`camchaind genesis`), and every hub installs it with its peers
// (`camchaind join`). A hub that joins later does the same with the
// network's existing genesis: it runs as a full node until the validators
// vote it in (`camchaind validator`).

// Identity returns the hub's network identity: hub address, validator key
// and peer id. It unlocks nothing (the keystore names its address).
func Identity(cfg Config) (ledger.Identity, error) {
	if err := cfg.Validate(); err != nil {
		return ledger.Identity{}, err
	}
	if err := checkFormat(&cfg); err != nil {
		return ledger.Identity{}, err
	}
	hub, err := wallet.NewKeystore(cfg.keystoreDir(), hubScrypt).Address()
	if err != nil {
		return ledger.Identity{}, fmt.Errorf("hub key: %w", err)
	}
	return ledger.ReadIdentity(cfg.ledgerHome(), hub)
}

// WriteGenesis makes a network's genesis from the identity files (JSON, as
// `camchaind identity` prints them) and writes it to out.
func WriteGenesis(ledgerChainID string, identityFiles []string, out io.Writer) error {
	var ids []ledger.Identity
	for _, f := range identityFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var id ledger.Identity
		if err := json.Unmarshal(b, &id); err != nil {
			return fmt.Errorf("%s: not a hub identity (the JSON `camchaind identity` prints): %w", f, err)
		}
		if err := id.Validate(); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		ids = append(ids, id)
	}
	if ledgerChainID == "" {
		ledgerChainID = ledger.RandomLedgerChainID()
	}
	doc, err := ledger.NetworkGenesis(ledgerChainID, ids)
	if err != nil {
		return err
	}
	b, err := ledger.GenesisJSON(doc)
	if err != nil {
		return err
	}
	_, err = out.Write(b)
	return err
}

// Join installs a network's genesis (the file's bytes) and its peers in
// the hub's data directory, and reports whether the hub is one of the
// genesis validators (else it runs as a full node).
func Join(cfg Config, genesis []byte, peers []string) (validator bool, err error) {
	if err := cfg.Validate(); err != nil {
		return false, err
	}
	if err := checkFormat(&cfg); err != nil {
		return false, err
	}
	return ledger.InstallGenesis(cfg.ledgerHome(), genesis, peers)
}
