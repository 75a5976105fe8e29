package hub

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// ledgerHub is a test's own real hub (a ledger of its own), closed when
// the test ends: its API client, a context for the test's calls, and its
// status (the ledger's chain id).
type ledgerHub struct {
	*Hub
	c      *api.Client
	ctx    context.Context
	status *api.Status
}

// startLedgerHub initialises and starts a hub with cfg: DataDir, when
// empty, a fresh directory; the HTTP and link listeners, when not given,
// on loopback ports of their own.
func startLedgerHub(t *testing.T, cfg Config) *ledgerHub {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = filepath.Join(t.TempDir(), "hub")
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = "127.0.0.1:0"
	}
	if cfg.LinkAddr == "" {
		cfg.LinkAddr = "127.0.0.1:0"
	}
	if _, err := Init(Config{DataDir: cfg.DataDir}, ""); err != nil {
		t.Fatal(err)
	}
	h, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	c, err := api.NewClient("http://" + h.Addr())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return &ledgerHub{Hub: h, c: c, ctx: ctx, status: st}
}

// trySubmit returns a function that signs a transaction by ks for the
// hub's ledger and submits it, returning the encoded transaction and the
// hub's answer.
func (lh *ledgerHub) trySubmit(t *testing.T) func(m tx.Msg, ks ...*keys.PrivateKey) ([]byte, error) {
	return func(m tx.Msg, ks ...*keys.PrivateKey) ([]byte, error) {
		t.Helper()
		signed, err := tx.Sign(lh.status.EVMChainID, m, ks...)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := signed.Encode()
		if err != nil {
			t.Fatal(err)
		}
		_, err = lh.c.Submit(lh.ctx, raw)
		return raw, err
	}
}

// mustSubmit is trySubmit failing the test when the hub refuses.
func (lh *ledgerHub) mustSubmit(t *testing.T) func(m tx.Msg, ks ...*keys.PrivateKey) []byte {
	try := lh.trySubmit(t)
	return func(m tx.Msg, ks ...*keys.PrivateKey) []byte {
		t.Helper()
		raw, err := try(m, ks...)
		if err != nil {
			t.Fatalf("%s: %v", m.Type(), err)
		}
		return raw
	}
}
