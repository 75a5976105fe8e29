package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/testutil/freeport"
	"github.com/camchain/camchain/internal/tx"
)

// camchaind runs the command line and fails the test unless it exits 0.
func camchaind(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := Main(args, &out, &errb); code != 0 {
		t.Fatalf("camchaind %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

// freeP2P returns a tcp address free on host for a node's p2p listener.
func freeP2P(t *testing.T, host string) string {
	t.Helper()
	return freeport.Addr(t, host)
}

// The README's walk-through, through the command line: four hubs make
// their keys, one genesis names them all, each joins with the others as
// peers; a transaction sent to one hub is answered for by every hub with
// the same state. A fifth hub joins the running network as a full node.
func TestNetworkWalkThrough(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	const n = 5 // four validators, then a full node
	var datas, idFiles, p2p []string
	var ids []ledger.Identity
	for i := range n {
		data := filepath.Join(dir, fmt.Sprint("hub", i))
		out := camchaind(t, "init", "--network", "--data", data)
		if !strings.Contains(out, "camchaind join") {
			t.Fatalf("init --network does not say what to do next: %s", out)
		}
		idJSON := camchaind(t, "identity", "--data", data)
		var id ledger.Identity
		if err := json.Unmarshal([]byte(idJSON), &id); err != nil || id.Validate() != nil {
			t.Fatalf("identity: %q: %v", idJSON, err)
		}
		f := filepath.Join(dir, fmt.Sprintf("hub%d.json", i))
		if err := os.WriteFile(f, []byte(idJSON), 0o600); err != nil {
			t.Fatal(err)
		}
		datas, idFiles, ids = append(datas, data), append(idFiles, f), append(ids, id)
		p2p = append(p2p, freeP2P(t, fmt.Sprintf("127.0.0.%d", i+2)))
	}
	genesis := filepath.Join(dir, "genesis.json")
	camchaind(t, append([]string{"genesis", "--out", genesis}, idFiles[:4]...)...)

	// Starting before join says what to do.
	if _, err := Start(Config{DataDir: datas[0], HTTPAddr: "127.0.0.1:0", LinkAddr: "127.0.0.1:0"}); err == nil || !strings.Contains(err.Error(), "camchaind join") {
		t.Fatalf("a network hub without a genesis started, or did not say to join: %v", err)
	}
	hubs := make([]*Hub, n)
	join := func(i int) {
		args := []string{"join", "--data", datas[i], "--genesis", genesis}
		for j := range n {
			if j != i && j < 4 {
				args = append(args, "--peer", ids[j].NodeID+"@"+p2p[j])
			}
		}
		out := camchaind(t, args...)
		if want := map[bool]string{true: "as a validator", false: "as a full node"}[i < 4]; !strings.Contains(out, want) {
			t.Fatalf("join of hub %d: %q, want %q", i, out, want)
		}
		h, err := Start(Config{DataDir: datas[i], HTTPAddr: "127.0.0.1:0", LinkAddr: "127.0.0.1:0", P2PListen: "tcp://" + p2p[i]})
		if err != nil {
			t.Fatalf("start hub %d: %v", i, err)
		}
		t.Cleanup(func() { h.Close() })
		hubs[i] = h
	}
	for i := range 4 {
		join(i)
	}

	// Imprint a camera through hub 1's API.
	owner, _ := keys.Generate()
	cam, _ := keys.Generate()
	sig, err := tx.Sign(hubs[1].Node().App.EVMChainID(), &tx.Imprint{Camera: cam.Address(), Owner: owner.Address(),
		Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Hour)}, owner, cam)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := sig.Encode()
	c1, _ := api.NewClient(hubs[1].BaseURL())
	res, err := c1.Submit(ctx, raw)
	if err != nil || res.Code != ledger.CodeOK {
		t.Fatalf("imprint through hub 1: %+v %v", res, err)
	}
	join(4) // the full node, after the network has moved on
	sameStatus(t, ctx, hubs, res.Height)
	for i, h := range hubs {
		if d, err := h.Node().App.Device(cam.Address()); err != nil || d == nil || d.Owner != owner.Address() {
			t.Fatalf("hub %d does not answer for the camera: %+v %v", i, d, err)
		}
	}

	// The validators vote the full node in (README "Changing the
	// validator set"): its own vote is refused, two of four change
	// nothing, the third (30 of 40 power) does.
	var errb bytes.Buffer
	if code := Main([]string{"validator", "vote", idFiles[4], "--data", datas[4], "--api", hubs[4].BaseURL()}, &bytes.Buffer{}, &errb); code != 1 || !strings.Contains(errb.String(), "unauthorized") {
		t.Fatalf("the full node voting itself in: exit %d: %s", code, errb.String())
	}
	for i := range 3 {
		out := camchaind(t, "validator", "vote", idFiles[4], "--data", datas[i], "--api", hubs[i].BaseURL())
		want := map[bool]string{true: "5 validators", false: "4 validators"}[i == 2]
		if !strings.Contains(out, "vote committed") || !strings.Contains(out, want) {
			t.Fatalf("vote %d: %q, want %q", i, out, want)
		}
	}
	voted, _ := hubs[2].Node().App.Height()
	sameStatus(t, ctx, hubs, voted)
	out := camchaind(t, "validator", "list", "--api", hubs[4].BaseURL())
	if !strings.Contains(out, "epoch 1, 5 validators") || !strings.Contains(out, ids[4].Hub) {
		t.Fatalf("validator list on the new validator's hub: %q", out)
	}
	// One vote to remove hub 3 is an open proposal, no change.
	out = camchaind(t, "validator", "remove", ids[3].Hub, "--data", datas[0], "--api", hubs[0].BaseURL())
	if !strings.Contains(out, "5 validators") || !strings.Contains(out, "votes 10 of 50") {
		t.Fatalf("one removal vote: %q", out)
	}
}

// sameStatus waits until every hub's API reports a height past height and
// checks that all report one app hash.
func sameStatus(t *testing.T, ctx context.Context, hubs []*Hub, height uint64) {
	t.Helper()
	var want string
	for i, h := range hubs {
		c, _ := api.NewClient(h.BaseURL())
		for {
			s, err := c.Status(ctx)
			if err != nil {
				t.Fatalf("hub %d status: %v", i, err)
			}
			if s.Height > height && !s.CatchingUp {
				if want == "" {
					want = s.AppHash
				} else if s.AppHash != want {
					t.Fatalf("hub %d: app hash %s, hub 0 %s", i, s.AppHash, want)
				}
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("hub %d stays at height %d (want > %d)", i, s.Height, height)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// camchaind validator's usage errors exit 2 and say what is wrong.
func TestValidatorCommandUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"validator", "vote"}, "needs one identity file"},
		{[]string{"validator", "vote", "a.json", "b.json"}, "needs one identity file"},
		{[]string{"validator", "remove"}, "needs the hub address"},
		{[]string{"validator", "remove", "0x1234"}, "address"},
		{[]string{"validator", "list", "--api", "ftp://x"}, "http(s)://host:port"},
		{[]string{"validator", "vote", "a.json", "--power", "-1"}, "invalid argument"},
	} {
		var out, errb bytes.Buffer
		if code := Main(c.args, &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("camchaind %s: exit %d, %q; want 2 and %q", strings.Join(c.args, " "), code, errb.String(), c.want)
		}
	}
}
