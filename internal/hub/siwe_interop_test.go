package hub

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/testutil/interop"
)

type siweReq struct {
	Op         string `json:"op"`
	Hub        string `json:"hub"`
	PrivateKey string `json:"privateKey,omitempty"`
	Client     string `json:"client,omitempty"`
	Statement  *bool  `json:"statement,omitempty"`
	Domain     string `json:"domain,omitempty"`
	ChainID    uint64 `json:"chainId,omitempty"`
	Path       string `json:"path,omitempty"`
	Body       any    `json:"body,omitempty"`
	Token      string `json:"token,omitempty"`
}

type siweResp struct {
	Status      int            `json:"status"`
	Body        map[string]any `json:"body"`
	Message     string         `json:"message"`
	Signature   string         `json:"signature"`
	LocalVerify bool           `json:"localVerify"`
}

// TestSIWEInterop logs in to a real hub with the `siwe` npm package and an
// ethers wallet, not with camchain's code: the message siwe writes (with a
// statement and without) is accepted, the token works, and a replay of the
// same signed message or a message for another domain or chain is refused.
func TestSIWEInterop(t *testing.T) {
	h := startTestHub(t)
	base := "http://" + h.Addr()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	priv := "0x" + hex.EncodeToString(k.ECDSA().D.FillBytes(make([]byte, 32)))
	newClient := func() string {
		c, err := signin.NewClientID()
		if err != nil {
			t.Fatal(err)
		}
		return c.String()
	}
	no := false
	for _, tc := range []struct {
		name      string
		statement *bool
	}{{"with a statement", nil}, {"without a statement", &no}} {
		t.Run(tc.name, func(t *testing.T) {
			var r siweResp
			interop.SIWE(t, siweReq{Op: "login", Hub: base, PrivateKey: priv, Client: newClient(), Statement: tc.statement}, &r)
			if !r.LocalVerify {
				t.Fatalf("siwe does not verify its own signed message:\n%s", r.Message)
			}
			if r.Status != 200 || r.Body["address"] != k.Address().Hex() {
				t.Fatalf("login by siwe: %d %v\n%s", r.Status, r.Body, r.Message)
			}
			if tc.statement != nil && !strings.Contains(r.Message, k.Address().Hex()+"\n\n\nURI: ") {
				t.Fatalf("siwe's statement-less form is not the one the grammar gives:\n%q", r.Message)
			}
			tok, _ := r.Body["access_token"].(string)
			var who siweResp
			interop.SIWE(t, siweReq{Op: "get", Hub: base, Path: "/api/v1/auth/session", Token: tok}, &who)
			if who.Status != 200 || who.Body["address"] != k.Address().Hex() {
				t.Fatalf("session with the siwe login's token: %d %v", who.Status, who.Body)
			}
			// The same signed message again: refused as a replay.
			var again siweResp
			interop.SIWE(t, siweReq{Op: "post", Hub: base, Path: "/api/v1/auth/login",
				Body: map[string]string{"message": r.Message, "signature": r.Signature, "client": newClient()}}, &again)
			if again.Status != 401 || !strings.Contains(errMessage(again.Body), "replay") {
				t.Fatalf("replay of a siwe login: %d %v", again.Status, again.Body)
			}
		})
	}
	for _, tc := range []struct {
		name, want string
		req        siweReq
	}{
		{"another domain", "another domain", siweReq{Domain: "evil.example"}},
		{"another chain", "another chain id", siweReq{ChainID: 1}},
	} {
		req := tc.req
		req.Op, req.Hub, req.PrivateKey, req.Client = "login", base, priv, newClient()
		var r siweResp
		interop.SIWE(t, req, &r)
		if r.Status != 401 || !strings.Contains(errMessage(r.Body), tc.want) {
			t.Errorf("%s: %d %v", tc.name, r.Status, r.Body)
		}
	}
}

func errMessage(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}
