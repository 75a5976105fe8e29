package hub

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/verify/verifytest"
)

// TestRecordsAPI serves a chain the hub stores and checks that the pages
// of GET /devices/{camera}/records give back exactly the camera-signed
// records, in the documented shape.
func TestRecordsAPI(t *testing.T) {
	doc := loadOpenAPI(t)
	op := doc.operations(t)["GET /api/v1/devices/{camera}/records"]
	if op == nil {
		t.Fatal("GET /api/v1/devices/{camera}/records is not documented")
	}
	dir := filepath.Join(t.TempDir(), "hub")
	if _, err := Init(Config{DataDir: dir}, ""); err != nil {
		t.Fatal(err)
	}
	h, err := Start(Config{DataDir: dir, HTTPAddr: "127.0.0.1:0", LinkAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	base := "http://" + h.Addr()
	c, _ := api.NewClient(base)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	owner, cam, stranger := recordsTestKey(t), recordsTestKey(t), recordsTestKey(t)
	signed, err := tx.Sign(st.EVMChainID, &tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Hub: h.Address(),
		Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, owner, cam)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := signed.Encode()
	if _, err := c.Submit(ctx, raw); err != nil {
		t.Fatal(err)
	}

	chain := verifytest.NewChain(cam, 0)
	if err := chain.AppendRandom(7, 2000, 1, time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	sc, err := h.Store().Chain(cam.Address(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range chain.Records {
		if err := sc.Append(r, chain.Segments[i]); err != nil {
			t.Fatal(err)
		}
	}

	camHex := cam.Address().Hex()
	tok := loginToken(t, ctx, c, owner)
	c.WithCredentials(api.StaticToken(tok))
	call := func(query string, want int) map[string]any {
		t.Helper()
		return checkCall(t, doc, op, "records", "GET", base+"/api/v1/devices/"+camHex+"/records"+query, "", tok, want)
	}
	// Three pages of three, three and one.
	var got []string
	next := "0"
	for page := 0; next != ""; page++ {
		p := call("?limit=3&from="+next, 200)
		for _, it := range p["items"].([]any) {
			got = append(got, it.(string))
		}
		next, _ = p["next"].(string)
		if page > 3 {
			t.Fatal("paging does not end")
		}
	}
	if len(got) != len(chain.Records) {
		t.Fatalf("%d records over the pages, want %d", len(got), len(chain.Records))
	}
	for i, s := range got {
		b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
		if err != nil {
			t.Fatal(err)
		}
		r, err := feedchain.Parse(b)
		if err != nil || r.Hash() != chain.Records[i].Hash() || r.Sig != chain.Records[i].Sig {
			t.Fatalf("record %d does not come back as the camera signed it (%v)", i, err)
		}
	}

	// The client method, the default epoch and limit.
	l, err := c.Records(ctx, camHex, -1, 5, 0)
	if err != nil || l.Camera != camHex || l.Epoch != 0 || len(l.Items) != 2 || l.Next != "" {
		t.Fatalf("Records(from 5): %+v, %v", l, err)
	}
	call("?epoch=3", 403) // only the current epoch is served
	for _, q := range []string{"?from=7", "?from=100"} {
		if p := call(q, 200); len(p["items"].([]any)) != 0 || p["next"] != nil {
			t.Errorf("%s: %v", q, p)
		}
	}
	if p := call("?epoch=0&limit=5000", 200); len(p["items"].([]any)) != 7 || p["epoch"] != json.Number("0") {
		t.Errorf("limit=5000: %v", p)
	}
	for _, q := range []string{"?limit=0", "?limit=5001", "?limit=x", "?from=-1", "?epoch=1.5"} {
		call(q, 400)
	}
	checkCall(t, doc, op, "records", "GET", base+"/api/v1/devices/"+stranger.Address().Hex()+"/records", "", tok, 404)
	checkCall(t, doc, op, "records", "GET", base+"/api/v1/devices/0x1234/records", "", tok, 400)
}

func recordsTestKey(t *testing.T) *keys.PrivateKey {
	t.Helper()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}
