package hub

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/dataformat"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/wallet"
)

// Format is the hub data directory's kind and version (<DataDir>/FORMAT,
// docs/SPEC.md §18); migrations lists the steps from older versions (none
// yet: version 1 is the first).
var (
	Format     = dataformat.Format{Name: "camchain-hub-data", Version: 1}
	migrations []dataformat.Migration
)

// hubScrypt seals the hub key. The key must unlock unattended at every
// start, within the start-to-ready budget, so it uses N = 2^15 (32 MiB,
// ~0.1 s) rather than a wallet's 2^18; the passphrase file's permissions, or
// a passphrase kept outside the data directory, are the real protection.
var hubScrypt = wallet.ScryptParams{N: 1 << 15, P: 1}

// InitResult says what Init made.
type InitResult struct {
	DataDir       string
	HubAddress    keys.Address
	LedgerChainID string
}

// Init creates a hub data directory: a new hub key sealed with a random
// passphrase, and a single-validator ledger whose genesis registers the hub.
// It refuses a directory that already holds a hub, and removes what it made
// if it fails part-way.
func Init(cfg Config, ledgerChainID string) (res InitResult, err error) {
	return initData(cfg, ledgerChainID, false)
}

// InitNetworkHub creates a hub data directory for a network of hubs: the
// hub key and the ledger's validator and node keys, but no genesis. The
// hub runs once `camchaind join` has installed the network's genesis
// (made by `camchaind genesis` from every first hub's identity).
func InitNetworkHub(cfg Config) (InitResult, error) { return initData(cfg, "", true) }

func initData(cfg Config, ledgerChainID string, network bool) (res InitResult, err error) {
	if err := cfg.Validate(); err != nil {
		return res, err
	}
	if _, err := os.Stat(cfg.formatFile()); err == nil {
		return res, fmt.Errorf("%s already holds a hub (found %s); use another --data or `camchaind run`", cfg.DataDir, cfg.formatFile())
	}
	if entries, err := os.ReadDir(cfg.DataDir); err == nil && len(entries) > 0 {
		return res, fmt.Errorf("%s is not empty; camchaind init needs a new or empty directory", cfg.DataDir)
	}
	if ledgerChainID == "" && !network {
		ledgerChainID = ledger.RandomLedgerChainID()
	}
	if _, err := tx.ParseLedgerChainID(ledgerChainID); err != nil && !network {
		return res, err
	}
	created := !exists(cfg.DataDir)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return res, err
	}
	defer func() {
		if err != nil {
			cleanup(cfg.DataDir, created)
		}
	}()
	key, err := keys.Generate()
	if err != nil {
		return res, err
	}
	pass := make([]byte, 32)
	if _, err := rand.Read(pass); err != nil {
		return res, err
	}
	passphrase := hex.EncodeToString(pass)
	if err := os.MkdirAll(cfg.keystoreDir(), 0o700); err != nil {
		return res, err
	}
	if err := atomicfile.Write(cfg.PassphraseFile, []byte(passphrase+"\n"), 0o600); err != nil {
		return res, err
	}
	if _, err := wallet.NewKeystore(cfg.keystoreDir(), hubScrypt).Save(key, passphrase); err != nil {
		return res, err
	}
	if network {
		if _, err := ledger.PrepareHome(cfg.ledgerHome(), key.Address()); err != nil {
			return res, err
		}
	} else if err := ledger.InitHome(cfg.ledgerHome(), ledgerChainID, []keys.Address{key.Address()}); err != nil {
		return res, err
	}
	// FORMAT last: its presence means the directory is complete.
	if err := dataformat.Write(cfg.DataDir, Format); err != nil {
		return res, err
	}
	return InitResult{DataDir: cfg.DataDir, HubAddress: key.Address(), LedgerChainID: ledgerChainID}, nil
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func cleanup(dir string, created bool) {
	if created {
		os.RemoveAll(dir)
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.RemoveAll(dir + string(os.PathSeparator) + e.Name())
	}
}

// checkFormat refuses a data directory that is missing, half-made, of
// another kind or written by a newer release, and migrates an older one.
func checkFormat(cfg *Config) error {
	_, err := dataformat.Open(cfg.DataDir, Format, migrations)
	if errors.Is(err, dataformat.ErrNoFormat) {
		return fmt.Errorf("%s is not a hub data directory (no FORMAT file): run `camchaind init --data %s` first", cfg.DataDir, cfg.DataDir)
	}
	return err
}

// readPassphrase reads a passphrase file, dropping one trailing newline.
func readPassphrase(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("hub passphrase: %w", err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}
