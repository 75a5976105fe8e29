package hub

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/keys"
)

// loginToken logs k in to the hub behind c as a new client and returns the
// access token.
func loginToken(t *testing.T, ctx context.Context, c *api.Client, k *keys.PrivateKey) string {
	t.Helper()
	cid, err := signin.NewClientID()
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Login(ctx, k.Address(), k.SignText, cid, signin.Head{})
	if err != nil {
		t.Fatalf("login as %s: %v", k.Address().Hex(), err)
	}
	return s.AccessToken
}

// startTestHub runs a real hub (ledger node, HTTP, link) in a temp dir.
func startTestHub(t *testing.T) *Hub { return startTestHubWith(t, nil) }

// startTestHubWith is startTestHub with the config changed by set.
func startTestHubWith(t *testing.T, set func(*Config)) *Hub {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "hub")
	if _, err := Init(Config{DataDir: dir}, ""); err != nil {
		t.Fatal(err)
	}
	cfg := Config{DataDir: dir, HTTPAddr: "127.0.0.1:0", LinkAddr: "127.0.0.1:0"}
	if set != nil {
		set(&cfg)
	}
	h, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}
