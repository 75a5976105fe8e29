package ledger

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/types"
	cmttime "github.com/cometbft/cometbft/types/time"

	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// A network of hubs (docs/SPEC.md §3.6): every hub runs a CometBFT node
// of one shared ledger; the genesis names the first validators, each the
// validator key of one hub. A hub makes its keys first (PrepareHome), hands
// its Identity to whoever writes the genesis (NetworkGenesis), and installs
// that genesis with its peers (InstallGenesis). A hub whose validator key
// is not in the set runs as a full node: it follows and answers queries,
// and becomes a validator only by a SetValidator decision (validators.go).

// DefaultValidatorPower is the voting power each genesis validator gets.
const DefaultValidatorPower = 10

// MaxGenesisValidators bounds the validators one genesis may name.
const MaxGenesisValidators = 100

// Identity is what a hub hands the others to be named in a genesis or
// voted in as a validator: its hub address, its CometBFT validator key and
// its peer id. It is public.
type Identity struct {
	Hub          string `json:"hub"`           // 0x address of the hub key
	ValidatorKey []byte `json:"validator_key"` // ed25519 public key, 32 bytes (base64 in JSON)
	NodeID       string `json:"node_id"`       // CometBFT peer id (hex of the node key's address)
}

// Validate checks the identity's fields.
func (id Identity) Validate() error {
	if _, err := keys.ParseAddress(id.Hub); err != nil {
		return fmt.Errorf("identity hub: %w", err)
	}
	if len(id.ValidatorKey) != ed25519.PubKeySize {
		return fmt.Errorf("identity %s: validator_key is %d bytes, want an ed25519 key of %d", id.Hub, len(id.ValidatorKey), ed25519.PubKeySize)
	}
	if b, err := hex.DecodeString(id.NodeID); err != nil || len(b) != 20 || strings.ToLower(id.NodeID) != id.NodeID {
		return fmt.Errorf("identity %s: node_id %q is not a CometBFT peer id (40 lower-case hex digits)", id.Hub, id.NodeID)
	}
	return nil
}

// PrepareHome makes a CometBFT home's directories, validator key and node
// key (keeping any that exist) but no genesis, and returns the home's
// identity for hub.
func PrepareHome(home string, hub keys.Address) (Identity, error) {
	c := cmtcfg.DefaultConfig()
	c.SetRoot(home)
	for _, d := range []string{"config", "data"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o700); err != nil {
			return Identity{}, err
		}
	}
	pv, err := privval.LoadOrGenFilePV(c.PrivValidatorKeyFile(), c.PrivValidatorStateFile(), nil)
	if err != nil {
		return Identity{}, fmt.Errorf("validator key: %w", err)
	}
	nk, err := p2p.LoadOrGenNodeKey(c.NodeKeyFile())
	if err != nil {
		return Identity{}, fmt.Errorf("node key: %w", err)
	}
	pub, err := pv.GetPubKey()
	if err != nil {
		return Identity{}, err
	}
	return Identity{Hub: hub.Hex(), ValidatorKey: pub.Bytes(), NodeID: string(nk.ID())}, nil
}

// ReadIdentity returns the identity of an existing home for hub, without
// making anything.
func ReadIdentity(home string, hub keys.Address) (Identity, error) {
	c := cmtcfg.DefaultConfig()
	c.SetRoot(home)
	for _, f := range []string{c.PrivValidatorKeyFile(), c.NodeKeyFile()} {
		if _, err := os.Stat(f); err != nil {
			return Identity{}, fmt.Errorf("ledger home %s has no keys (missing %s): run `camchaind init` first", home, filepath.Base(f))
		}
	}
	return PrepareHome(home, hub)
}

// NetworkGenesis returns a genesis for a new network whose validators are
// the given hubs (DefaultValidatorPower each), all of them registered hubs.
func NetworkGenesis(ledgerChainID string, ids []Identity) (*types.GenesisDoc, error) {
	powers := make([]int64, len(ids))
	for i := range powers {
		powers[i] = DefaultValidatorPower
	}
	return NetworkGenesisPowers(ledgerChainID, ids, powers)
}

// NetworkGenesisPowers is NetworkGenesis with each hub's voting power given
// (powers[i] for ids[i], each 1 to tx.MaxValidatorPower).
func NetworkGenesisPowers(ledgerChainID string, ids []Identity, powers []int64) (*types.GenesisDoc, error) {
	if len(powers) != len(ids) {
		return nil, fmt.Errorf("%d powers for %d validators", len(powers), len(ids))
	}
	for _, p := range powers {
		if p < 1 || p > tx.MaxValidatorPower {
			return nil, fmt.Errorf("validator power %d: want 1 to %d", p, tx.MaxValidatorPower)
		}
	}
	if _, err := tx.ParseLedgerChainID(ledgerChainID); err != nil {
		return nil, err
	}
	if len(ids) == 0 || len(ids) > MaxGenesisValidators {
		return nil, fmt.Errorf("a genesis needs 1 to %d validators, got %d", MaxGenesisValidators, len(ids))
	}
	var g Genesis
	var vals []types.GenesisValidator
	seenHub, seenKey := map[string]bool{}, map[string]bool{}
	for i, id := range ids {
		if err := id.Validate(); err != nil {
			return nil, err
		}
		hub, _ := keys.ParseAddress(id.Hub)
		if seenHub[hub.Hex()] || seenKey[string(id.ValidatorKey)] {
			return nil, fmt.Errorf("hub %s or its validator key is named twice", hub.Hex())
		}
		seenHub[hub.Hex()], seenKey[string(id.ValidatorKey)] = true, true
		pub := ed25519.PubKey(bytes.Clone(id.ValidatorKey))
		g.Hubs = append(g.Hubs, hub.Hex())
		g.Validators = append(g.Validators, GenesisValidator{Hub: hub.Hex(), PubKey: pub, Power: powers[i]})
		vals = append(vals, types.GenesisValidator{Address: pub.Address(), PubKey: pub, Power: powers[i], Name: hub.Hex()})
	}
	return genesisDoc(ledgerChainID, g, vals)
}

func genesisDoc(ledgerChainID string, g Genesis, vals []types.GenesisValidator) (*types.GenesisDoc, error) {
	appState, err := json.Marshal(g)
	if err != nil {
		return nil, err
	}
	params := types.DefaultConsensusParams()
	// Proposer-based timestamps: a block's time is when it was proposed.
	// Without them an idle chain (create_empty_blocks = false) stamps its
	// next block with the previous commit's time, which can be hours old —
	// and the ledger checks expiries and checkpoint periods against it.
	params.Feature.PbtsEnableHeight = 1
	doc := &types.GenesisDoc{
		ChainID:         ledgerChainID,
		GenesisTime:     cmttime.Now(),
		ConsensusParams: params,
		Validators:      vals,
		AppState:        appState,
	}
	if err := doc.ValidateAndComplete(); err != nil {
		return nil, err
	}
	return doc, nil
}

// GenesisJSON is the genesis file's bytes for doc.
func GenesisJSON(doc *types.GenesisDoc) ([]byte, error) {
	b, err := cmtjson.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ErrOtherGenesis: the home already follows another ledger.
var ErrOtherGenesis = errors.New("this hub already has a different ledger genesis")

// InstallGenesis puts the network's genesis (the file's bytes) in home and
// records its peers (id@host:port each). A home with no genesis, or with
// this same genesis (to change the peers), is accepted; a home holding
// another genesis is refused with ErrOtherGenesis, since its blocks belong
// to that other ledger. It reports whether this home's validator key is
// in the genesis validator set.
func InstallGenesis(home string, genesisJSON []byte, peers []string) (validator bool, err error) {
	doc, err := types.GenesisDocFromJSON(genesisJSON)
	if err != nil {
		return false, fmt.Errorf("genesis: %w", err)
	}
	if _, err := tx.ParseLedgerChainID(doc.ChainID); err != nil {
		return false, fmt.Errorf("genesis: %w", err)
	}
	if err := checkPeers(peers); err != nil {
		return false, err
	}
	c := cmtcfg.DefaultConfig()
	c.SetRoot(home)
	if old, err := os.ReadFile(c.GenesisFile()); err == nil {
		od, err := types.GenesisDocFromJSON(old)
		if err != nil {
			return false, fmt.Errorf("existing genesis %s: %w", c.GenesisFile(), err)
		}
		if !sameGenesis(od, doc) {
			return false, fmt.Errorf("%w (chain %s, in %s); a hub belongs to one ledger: join with a new data directory", ErrOtherGenesis, od.ChainID, c.GenesisFile())
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	pub, err := privval.LoadOrGenFilePV(c.PrivValidatorKeyFile(), c.PrivValidatorStateFile(), nil)
	if err != nil {
		return false, fmt.Errorf("validator key: %w", err)
	}
	pk, err := pub.GetPubKey()
	if err != nil {
		return false, err
	}
	for _, v := range doc.Validators {
		validator = validator || bytes.Equal(v.PubKey.Bytes(), pk.Bytes())
	}
	if err := atomicfile.Write(c.GenesisFile(), genesisJSON, 0o600); err != nil {
		return false, err
	}
	return validator, atomicfile.Write(peersFile(home), []byte(strings.Join(peers, "\n")+"\n"), 0o600)
}

// sameGenesis compares what makes two genesis documents one ledger.
func sameGenesis(a, b *types.GenesisDoc) bool {
	return a.ChainID == b.ChainID && a.GenesisTime.Equal(b.GenesisTime) && a.InitialHeight == b.InitialHeight &&
		bytes.Equal(a.ValidatorHash(), b.ValidatorHash()) && bytes.Equal(a.AppState, b.AppState)
}

// peersFile lists the home's persistent peers, one id@host:port a line.
func peersFile(home string) string { return filepath.Join(home, "config", "peers") }

// ReadPeers returns the persistent peers InstallGenesis recorded (none for
// a single hub).
func ReadPeers(home string) ([]string, error) {
	b, err := os.ReadFile(peersFile(home))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out, checkPeers(out)
}

// checkPeers refuses a peer that is not id@host:port, naming it.
func checkPeers(peers []string) error {
	for _, p := range peers {
		if _, err := p2p.NewNetAddressString(p); err != nil {
			return fmt.Errorf("peer %q: want NODE_ID@HOST:PORT (the node id `camchaind identity` prints): %w", p, err)
		}
	}
	return nil
}
