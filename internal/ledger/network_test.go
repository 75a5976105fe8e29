package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/testutil/freeport"
	"github.com/camchain/camchain/internal/tx"
)

// testNet is a network of hubs' ledger nodes in this process, each on its
// own loopback address (127.0.0.2, .3, …) as the walk-through runs them.
type testNet struct {
	t       *testing.T
	chain   string
	genesis []byte
	homes   []string
	hubs    []*keys.PrivateKey
	ids     []Identity
	addrs   []string // NODE_ID@HOST:PORT
	nodes   []*Node
}

// freeAddr picks a port free on host for a node to listen on (freeport).
func freeAddr(t *testing.T, host string) string {
	t.Helper()
	return freeport.Addr(t, host)
}

// prepareHub makes hub i's home and keys.
func (n *testNet) prepareHub(i int) {
	n.t.Helper()
	k, err := keys.Generate()
	if err != nil {
		n.t.Fatal(err)
	}
	home := filepath.Join(n.t.TempDir(), fmt.Sprint("hub", i))
	id, err := PrepareHome(home, k.Address())
	if err != nil {
		n.t.Fatal(err)
	}
	n.homes, n.hubs, n.ids = append(n.homes, home), append(n.hubs, k), append(n.ids, id)
	n.addrs = append(n.addrs, id.NodeID+"@"+freeAddr(n.t, fmt.Sprintf("127.0.0.%d", i+2)))
	n.nodes = append(n.nodes, nil)
}

// newTestNet makes validators hubs and a genesis naming them all.
func newTestNet(t *testing.T, validators int) *testNet {
	t.Helper()
	n := &testNet{t: t, chain: RandomLedgerChainID()}
	for i := range validators {
		n.prepareHub(i)
	}
	doc, err := NetworkGenesis(n.chain, n.ids)
	if err != nil {
		t.Fatal(err)
	}
	if n.genesis, err = GenesisJSON(doc); err != nil {
		t.Fatal(err)
	}
	for i := range validators {
		n.install(i, true)
	}
	return n
}

// install gives hub i the genesis and every other hub as a peer.
func (n *testNet) install(i int, wantValidator bool) {
	n.t.Helper()
	var peers []string
	for j, a := range n.addrs {
		if j != i {
			peers = append(peers, a)
		}
	}
	v, err := InstallGenesis(n.homes[i], n.genesis, peers)
	if err != nil {
		n.t.Fatal(err)
	}
	if v != wantValidator {
		n.t.Fatalf("hub %d: validator = %v, want %v", i, v, wantValidator)
	}
}

func (n *testNet) start(i int) {
	n.t.Helper()
	host := n.addrs[i][len(n.ids[i].NodeID)+1:]
	node, err := StartNode(NodeConfig{Home: n.homes[i], P2PListen: "tcp://" + host, TimeoutPropose: 500 * time.Millisecond})
	if err != nil {
		n.t.Fatalf("start hub %d: %v", i, err)
	}
	n.nodes[i] = node
	n.t.Cleanup(func() {
		if n.nodes[i] == node {
			n.stop(i)
		}
	})
}

func (n *testNet) stop(i int) {
	n.t.Helper()
	if err := n.nodes[i].Close(); err != nil {
		n.t.Errorf("close hub %d: %v", i, err)
	}
	n.nodes[i] = nil
}

// sameState waits until every running node has committed height and
// checks that they all hold the same app hash for it.
func (n *testNet) sameState(ctx context.Context, height uint64) []byte {
	n.t.Helper()
	var want []byte
	for i, node := range n.nodes {
		if node == nil {
			continue
		}
		// Block height+1 (CometBFT's proof block after a change) carries
		// the app hash after block height, as the validators signed it.
		if err := node.WaitForHeight(ctx, height+1); err != nil {
			n.t.Fatalf("hub %d: %v", i, err)
		}
		sh, _, err := node.SignedHeader(ctx, int64(height)+1)
		if err != nil {
			n.t.Fatalf("hub %d: header %d: %v", i, height+1, err)
		}
		got := []byte(sh.AppHash)
		if want == nil {
			want = got
		} else if !bytes.Equal(got, want) {
			n.t.Fatalf("hub %d: app hash after block %d is %X, hub 0's %X", i, height, got, want)
		}
	}
	return want
}

// imprint puts a new camera on the ledger through node i and returns it
// and the height of its block.
func (n *testNet) imprint(ctx context.Context, i int) (keys.Address, uint64) {
	n.t.Helper()
	owner, _ := keys.Generate()
	cam, _ := keys.Generate()
	t, err := tx.Sign(n.nodes[i].App.EVMChainID(), &tx.Imprint{Camera: cam.Address(), Owner: owner.Address(),
		Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Hour)}, owner, cam)
	if err != nil {
		n.t.Fatal(err)
	}
	raw, _ := t.Encode()
	res, err := n.nodes[i].Submit(ctx, raw)
	if err != nil || res.Code != CodeOK {
		n.t.Fatalf("imprint through hub %d: %+v %v", i, res, err)
	}
	return cam.Address(), res.Height
}

// Four hubs as validators of one ledger: a transaction sent to any hub is
// committed by all, every hub answers for it, and the state is the same on
// all of them; a fifth hub joins later as a full node and catches up to
// the same state; a hub of another ledger cannot take this genesis.
func TestNetworkOfFourHubs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n := newTestNet(t, 4)
	for i := range 4 {
		n.start(i)
	}
	var cams []keys.Address
	var last uint64
	for i := range 4 {
		cam, h := n.imprint(ctx, i)
		cams, last = append(cams, cam), max(last, h)
	}
	n.sameState(ctx, last)
	for i, node := range n.nodes {
		for _, cam := range cams {
			if d, err := node.App.Device(cam); err != nil || d == nil || !d.Owned() {
				t.Fatalf("hub %d does not know camera %s: %+v %v", i, cam.Hex(), d, err)
			}
		}
		vs, err := node.App.Validators()
		if err != nil || len(vs) != 4 {
			t.Fatalf("hub %d validator table: %+v %v", i, vs, err)
		}
		for _, k := range n.hubs {
			if ok, _ := node.App.IsHub(k.Address()); !ok {
				t.Fatalf("hub %d: genesis hub %s not registered", i, k.Address().Hex())
			}
		}
	}

	// A fifth hub joins the running network with the same genesis: a full
	// node (its key is in no validator set), caught up to the same state.
	n.prepareHub(4)
	n.install(4, false)
	n.start(4)
	_, h := n.imprint(ctx, 4) // a full node's hub submits too
	n.sameState(ctx, h)
	if d, err := n.nodes[4].App.Device(cams[0]); err != nil || d == nil {
		t.Fatalf("the joined full node does not answer for a camera of block %d: %v", last, err)
	}

	// A home that already follows this ledger takes no other genesis.
	other, err := NetworkGenesis(RandomLedgerChainID(), n.ids[:1])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := GenesisJSON(other)
	if _, err := InstallGenesis(n.homes[0], b, nil); !errors.Is(err, ErrOtherGenesis) {
		t.Fatalf("another genesis over a running hub's: %v, want ErrOtherGenesis", err)
	}
}

// Refusals of the network commands say what is wrong.
func TestNetworkRefusals(t *testing.T) {
	k, _ := keys.Generate()
	home := t.TempDir()
	id, err := PrepareHome(home, k.Address())
	if err != nil {
		t.Fatal(err)
	}
	dup := id
	for _, c := range []struct {
		name string
		ids  []Identity
	}{
		{"none", nil},
		{"twice", []Identity{id, dup}},
		{"short key", []Identity{{Hub: id.Hub, ValidatorKey: id.ValidatorKey[:31], NodeID: id.NodeID}}},
		{"bad node id", []Identity{{Hub: id.Hub, ValidatorKey: id.ValidatorKey, NodeID: "xyz"}}},
		{"bad hub", []Identity{{Hub: "0x12", ValidatorKey: id.ValidatorKey, NodeID: id.NodeID}}},
	} {
		if _, err := NetworkGenesis(RandomLedgerChainID(), c.ids); err == nil {
			t.Errorf("%s: genesis made", c.name)
		}
	}
	doc, _ := NetworkGenesis(RandomLedgerChainID(), []Identity{id})
	b, _ := GenesisJSON(doc)
	if _, err := InstallGenesis(home, b, []string{"127.0.0.1:26656"}); err == nil {
		t.Error("a peer without a node id was accepted")
	}
	if _, err := InstallGenesis(home, []byte("{}"), nil); err == nil {
		t.Error("an empty genesis was accepted")
	}
	c := cmtcfg.DefaultConfig()
	c.SetRoot(home)
	if _, err := os.Stat(c.GenesisFile()); err == nil {
		t.Error("a refused install left a genesis behind")
	}
}

// vote submits hub i's SetValidator vote through its own node.
func (n *testNet) vote(ctx context.Context, i int, id Identity, power, epoch uint64) Submitted {
	n.t.Helper()
	hub, _ := keys.ParseAddress(id.Hub)
	var key [32]byte
	copy(key[:], id.ValidatorKey)
	t, err := tx.Sign(n.nodes[i].App.EVMChainID(), &tx.SetValidator{Hub: hub, ValidatorKey: key, Power: power, SetEpoch: epoch,
		Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Hour)}, n.hubs[i])
	if err != nil {
		n.t.Fatal(err)
	}
	raw, _ := t.Encode()
	res, err := n.nodes[i].Submit(ctx, raw)
	if err != nil {
		n.t.Fatalf("vote through hub %d: %v", i, err)
	}
	return res
}

// inSet reports whether CometBFT's validator set at height holds key.
func inSet(t *testing.T, node *Node, ctx context.Context, height int64, key []byte) bool {
	t.Helper()
	vs, err := node.Validators(ctx, height)
	if err != nil {
		t.Fatalf("validators at %d: %v", height, err)
	}
	for _, v := range vs.Validators {
		if bytes.Equal(v.PubKey.Bytes(), key) {
			return true
		}
	}
	return false
}

// A full node becomes a validator by the validators' votes and then
// signs blocks: with it in the set (5 × 10), one original validator down
// leaves 40 of 50 — blocks commit only because the new one signs. Its own
// vote before that, and a minority's, change nothing.
func TestNetworkValidatorSetChange(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	n := newTestNet(t, 4)
	n.prepareHub(4)
	n.install(4, false)
	for i := range 5 {
		n.start(i)
	}
	if r := n.vote(ctx, 4, n.ids[4], 10, 0); r.Code != CodeUnauthorized {
		t.Fatalf("the full node voting itself in: %s (%s), want unauthorized", CodeName(r.Code), r.Log)
	}
	var h uint64
	for i := range 2 {
		r := n.vote(ctx, i, n.ids[4], 10, 0)
		if r.Code != CodeOK {
			t.Fatalf("vote %d: %s (%s)", i, CodeName(r.Code), r.Log)
		}
		h = r.Height
	}
	n.sameState(ctx, h)
	if inSet(t, n.nodes[0], ctx, int64(h)+1, n.ids[4].ValidatorKey) {
		t.Fatal("two votes of four (20 of 40) changed CometBFT's validator set")
	}
	r := n.vote(ctx, 2, n.ids[4], 10, 0)
	if r.Code != CodeOK {
		t.Fatalf("vote 3: %s (%s)", CodeName(r.Code), r.Log)
	}
	// CometBFT applies a block's updates two heights later (the proof
	// block follows the vote's; the imprint's block is later still).
	_, h = n.imprint(ctx, 0)
	n.sameState(ctx, h)
	if !inSet(t, n.nodes[0], ctx, int64(r.Height)+2, n.ids[4].ValidatorKey) {
		t.Fatalf("hub 4 is not in CometBFT's validator set at %d", r.Height+2)
	}
	for i, node := range n.nodes {
		if vs, _ := node.App.ValidatorSet(); len(vs.Validators) != 5 || vs.Epoch != 1 {
			t.Fatalf("hub %d's ledger: %+v", i, vs)
		}
	}
	n.stop(3)
	_, h = n.imprint(ctx, 4)
	n.sameState(ctx, h)
	sh, _, err := n.nodes[0].SignedHeader(ctx, int64(h)+1)
	if err != nil {
		t.Fatal(err)
	}
	signed := false
	for _, s := range sh.Commit.Signatures {
		signed = signed || bytes.Equal(s.ValidatorAddress, ed25519PubAddress(n.ids[4].ValidatorKey))
	}
	if !signed {
		t.Fatalf("block %d committed without the new validator's signature", h+1)
	}
}

func ed25519PubAddress(key []byte) []byte { return ed25519.PubKey(key).Address() }
