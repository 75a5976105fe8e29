package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

const testChain = "camchain-4242"
const testChainID = 4242

// harness drives an App through its ABCI methods, one block at a time.
type harness struct {
	t      testing.TB
	app    *App
	db     dbm.DB
	now    time.Time
	height int64
	hubs   []*keys.PrivateKey
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{t: t, db: dbm.NewMemDB(), now: time.Now().Truncate(time.Second)}
	h.hubs = []*keys.PrivateKey{h.key(), h.key()}
	h.open()
	g, _ := json.Marshal(Genesis{Hubs: []string{h.hubs[0].Address().Hex(), h.hubs[1].Address().Hex()}})
	if _, err := h.app.InitChain(context.Background(), &abci.InitChainRequest{ChainId: testChain, AppStateBytes: g}); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) open() {
	h.t.Helper()
	app, err := NewApp(Config{LedgerChainID: testChain, DB: h.db})
	if err != nil {
		h.t.Fatal(err)
	}
	h.app = app
}

func (h *harness) key() *keys.PrivateKey {
	h.t.Helper()
	k, err := keys.Generate()
	if err != nil {
		h.t.Fatal(err)
	}
	return k
}

// sign encodes m signed by ks for the test chain with a fresh nonce and
// expiry unless m already has them.
func (h *harness) sign(m tx.Msg, ks ...*keys.PrivateKey) []byte {
	h.t.Helper()
	return h.signFor(testChainID, m, ks...)
}

func (h *harness) signFor(chain uint64, m tx.Msg, ks ...*keys.PrivateKey) []byte {
	h.t.Helper()
	t, err := tx.Sign(chain, m, ks...)
	if err != nil {
		h.t.Fatal(err)
	}
	b, err := t.Encode()
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

func (h *harness) expiry() uint64 { return uint64(h.now.Add(5 * time.Minute).Unix()) }

// block finalizes and commits one block and returns its results.
func (h *harness) block(txs ...[]byte) []*abci.ExecTxResult {
	h.t.Helper()
	h.height++
	h.now = h.now.Add(time.Second)
	res, err := h.app.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{Txs: txs, Height: h.height, Time: h.now})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.app.Commit(context.Background(), &abci.CommitRequest{}); err != nil {
		h.t.Fatal(err)
	}
	return res.TxResults
}

// want submits raw in its own block and checks the result code.
func (h *harness) want(code uint32, raw []byte) *abci.ExecTxResult {
	h.t.Helper()
	r := h.block(raw)[0]
	if r.Code != code {
		h.t.Fatalf("code %s (%s), want %s", CodeName(r.Code), r.Log, CodeName(code))
	}
	return r
}

func (h *harness) device(c *keys.PrivateKey) *Device {
	h.t.Helper()
	d, err := h.app.Device(c.Address())
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

// imprint pairs a new camera with owner on hub 0 and returns the camera.
func (h *harness) imprint(owner *keys.PrivateKey) *keys.PrivateKey {
	h.t.Helper()
	cam := h.key()
	h.want(CodeOK, h.sign(&tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Hub: h.hubs[0].Address(),
		Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner, cam))
	return cam
}

func mustKey(t testing.TB) *keys.PrivateKey {
	t.Helper()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sha(b []byte) [32]byte { return sha256.Sum256(b) }
