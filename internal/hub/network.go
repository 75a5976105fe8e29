package hub

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/tx"
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

// ReadIdentityFile reads a hub identity (the JSON `camchaind identity`
// prints) and checks it.
func ReadIdentityFile(f string) (ledger.Identity, error) {
	b, err := os.ReadFile(f)
	if err != nil {
		return ledger.Identity{}, err
	}
	var id ledger.Identity
	if err := json.Unmarshal(b, &id); err != nil {
		return ledger.Identity{}, fmt.Errorf("%s: not a hub identity (the JSON `camchaind identity` prints): %w", f, err)
	}
	if err := id.Validate(); err != nil {
		return ledger.Identity{}, fmt.Errorf("%s: %w", f, err)
	}
	return id, nil
}

// VoteResult is what a vote did.
type VoteResult struct {
	Tx  *api.TxResult
	Set *api.ValidatorSet // the set after the vote's block
}

// ErrNoSuchValidator: asked to remove a hub that holds no validator.
var ErrNoSuchValidator = errors.New("no validator of that hub in the set")

// Vote signs this hub's SetValidator vote (docs/SPEC.md §3.6) — the
// validator of target's hub with target's key at power (0: remove) — and
// submits it through the hub API at apiURL (this hub's own, running). The
// vote names the set's current epoch, read from that API; the ledger
// checks everything else. For a removal, target's key is looked up in the
// set when target has none.
func Vote(ctx context.Context, cfg Config, apiURL string, target ledger.Identity, power uint64) (*VoteResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkFormat(&cfg); err != nil {
		return nil, err
	}
	hub, err := keys.ParseAddress(target.Hub)
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	pass, err := readPassphrase(cfg.PassphraseFile)
	if err != nil {
		return nil, err
	}
	key, err := wallet.NewKeystore(cfg.keystoreDir(), hubScrypt).Load(pass)
	if err != nil {
		return nil, fmt.Errorf("unlock hub key: %w", err)
	}
	c, err := api.NewClient(apiURL)
	if err != nil {
		return nil, err
	}
	st, err := c.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("hub API %s: %w", apiURL, err)
	}
	if st.HubAddress != key.Address().Hex() {
		return nil, fmt.Errorf("the hub at %s is %s, not this data directory's hub %s: give --api this hub's own API", apiURL, st.HubAddress, key.Address().Hex())
	}
	set, err := c.Validators(ctx)
	if err != nil {
		return nil, err
	}
	vk := target.ValidatorKey
	if len(vk) == 0 && power == 0 {
		for _, v := range set.Validators {
			if strings.EqualFold(v.Hub, hub.Hex()) {
				vk, _ = hex.DecodeString(strings.TrimPrefix(v.ValidatorKey, "0x"))
			}
		}
		if len(vk) == 0 {
			return nil, fmt.Errorf("%w: %s", ErrNoSuchValidator, hub.Hex())
		}
	}
	var m tx.SetValidator
	if len(vk) != len(m.ValidatorKey) {
		return nil, fmt.Errorf("validator key is %d bytes, want an ed25519 key of %d", len(vk), len(m.ValidatorKey))
	}
	m.Hub, m.Power, m.SetEpoch, m.Nonce, m.Expiry = hub, power, set.Epoch, tx.NewNonce(), tx.ExpiryIn(tx.DefaultTTL)
	copy(m.ValidatorKey[:], vk)
	signed, err := tx.Sign(st.EVMChainID, &m, key)
	if err != nil {
		return nil, err
	}
	raw, err := signed.Encode()
	if err != nil {
		return nil, err
	}
	res, err := c.Submit(ctx, raw)
	if err != nil {
		return nil, err
	}
	// The set as of the vote's block: wait until the API has committed it.
	for {
		s, err := c.Status(ctx)
		if err != nil {
			return nil, err
		}
		if s.Height >= res.Height {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	after, err := c.Validators(ctx)
	if err != nil {
		return nil, err
	}
	return &VoteResult{Tx: res, Set: after}, nil
}

// PrintValidatorSet writes the set and its open proposals for people.
func PrintValidatorSet(w io.Writer, s *api.ValidatorSet) {
	fmt.Fprintf(w, "validator set epoch %d, %d validators, total power %d (a change needs more than %d)\n",
		s.Epoch, len(s.Validators), s.TotalPower, 2*s.TotalPower/3)
	for _, v := range s.Validators {
		fmt.Fprintf(w, "  %s  key %s  power %d\n", v.Hub, v.ValidatorKey, v.Power)
	}
	for _, p := range s.Proposals {
		what := fmt.Sprintf("hub %s key %s to power %d", p.Hub, p.ValidatorKey, p.Power)
		if p.Power == 0 {
			what = fmt.Sprintf("remove hub %s (key %s)", p.Hub, p.ValidatorKey)
		}
		fmt.Fprintf(w, "  proposal %s: %s; votes %d of %d power from %s (opened %s)\n",
			p.ID[:18], what, p.VotedPower, s.TotalPower, strings.Join(p.Voters, ", "), p.Opened)
	}
}
