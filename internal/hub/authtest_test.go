package hub

import (
	"context"
	"testing"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/auth"
	"github.com/camchain/camchain/internal/keys"
)

// loginToken logs k in to the hub behind c as a new client and returns the
// access token.
func loginToken(t *testing.T, ctx context.Context, c *api.Client, k *keys.PrivateKey) string {
	t.Helper()
	cid, err := auth.NewClientID()
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Login(ctx, k.Address(), k.SignText, cid, auth.Head{})
	if err != nil {
		t.Fatalf("login as %s: %v", k.Address().Hex(), err)
	}
	return s.AccessToken
}
