package agent

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/dataformat"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/tx"
)

// Format is the agent data directory's kind and version (<data>/FORMAT,
// docs/SPEC.md §18); migrations lists the steps from older versions (none
// yet: version 1 is the first).
var (
	Format     = dataformat.Format{Name: "camchain-agent-data", Version: 1}
	migrations []dataformat.Migration
)

// Pairing is what the camera pinned when it imprinted.
type Pairing struct {
	Owner      string    `json:"owner"`
	Hub        string    `json:"hub"`
	HubLink    string    `json:"hub_link"`
	HubPin     string    `json:"hub_tls_pin"`
	HubAPI     string    `json:"hub_api"`
	EVMChainID uint64    `json:"chain_id"`
	PairedAt   time.Time `json:"paired_at"`
	// Encryption and ViewingKey are the owner-signed transactions the
	// imprint came with (0x hex wire bytes, pairing.Request.Policy): the
	// encryption policy the camera starts the epoch with, and the owner's
	// viewing key. A camera paired before they existed has neither: its
	// policy is whatever the owner later sends (off until then).
	Encryption string `json:"encryption_tx,omitempty"`
	ViewingKey string `json:"owner_viewing_key_tx,omitempty"`
}

// encrypts reports whether the pairing came with the owner's policy on
// (checked when the camera co-signed, and again by camE2EE.Learn).
func (p *Pairing) encrypts() bool {
	b, err := hex.DecodeString(strings.TrimPrefix(p.Encryption, "0x"))
	if err != nil || len(b) == 0 {
		return false
	}
	t, err := tx.Decode(b)
	if err != nil {
		return false
	}
	m, ok := t.Msg.(*tx.Encryption)
	return ok && m.On == 1
}

// imprintTxs are the pairing's owner-signed transactions, for the
// camera's E2EE state (camE2EE.Learn checks them again).
func (p *Pairing) imprintTxs() [][]byte {
	var out [][]byte
	for _, h := range []string{p.Encryption, p.ViewingKey} {
		if b, err := hex.DecodeString(strings.TrimPrefix(h, "0x")); err == nil && len(b) > 0 {
			out = append(out, b)
		}
	}
	return out
}

func (p *Pairing) hub() (keys.Address, link.Pin, error) {
	a, err := keys.ParseAddress(p.Hub)
	if err != nil {
		return a, link.Pin{}, err
	}
	pin, err := link.ParsePin(p.HubPin)
	return a, pin, err
}

// PendingImprint is an imprint the camera co-signed: the pairing it would
// make, and the whole signed transaction the ledger must hold.
type PendingImprint struct {
	Pairing Pairing `json:"pairing"`
	Epoch   uint64  `json:"epoch"`
	Tx      string  `json:"imprint_tx"` // 0x hex of the signed transaction
	Expiry  uint64  `json:"expiry"`     // the imprint's expiry (Unix s): past it, it can never land
}

// State is <data>/state.json.
type State struct {
	Version int      `json:"version"`
	Epoch   uint64   `json:"epoch"`
	Paired  *Pairing `json:"paired,omitempty"`
	// ResetPending names the epoch whose Reset the ledger may not have
	// seen (the hub was unreachable at reset time): the next pairing
	// carries a freshly signed Reset for it.
	ResetPending *uint64 `json:"reset_pending_epoch,omitempty"`
	// ResetEVMChainID is the (EIP-712) chain the pending reset is for.
	ResetEVMChainID uint64 `json:"reset_chain_id,omitempty"`
	// Pending are imprints the camera co-signed that its hub has not yet
	// shown committed (SPEC §8): the camera is not paired until one is.
	Pending []PendingImprint `json:"pending,omitempty"`
	// UsedCodes counts pairing codes spent, for the status display.
	UsedCodes int `json:"used_codes"`
}

func statePath(dir string) string { return filepath.Join(dir, "state.json") }

func loadState(dir string) (*State, error) {
	b, err := os.ReadFile(statePath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return &State{Version: 1}, nil
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s is corrupt: %w", statePath(dir), err)
	}
	if s.Version != 1 {
		return nil, fmt.Errorf("%s has version %d; this agent reads 1", statePath(dir), s.Version)
	}
	return &s, nil
}

func (s *State) save(dir string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(statePath(dir), append(b, '\n'), 0o600)
}
