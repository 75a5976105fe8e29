package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/tx"
)

// The fault harness (README "Faults"): four validators as separate
// camchaind processes on 127.0.0.2–5, one camera streaming to its hub
// throughout. `make test` runs the short form; `make faults` sets
// CAMCHAIN_FAULTS=long, which kills every validator and every pair in
// turn and keeps the bound hub down for a minute.

// netHub is one validator of the network: a camchaind with fixed ports.
type netHub struct {
	*hubProc
	p2p    string // host:port on its own loopback address
	idFile string
	id     ledger.Identity
}

func (h *netHub) start(t *testing.T) { h.run(t, "--p2p", "tcp://"+h.p2p) }

func camchaindCmd(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin("camchaind"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("camchaind %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// startNetwork makes n hubs with one genesis naming them all as
// validators, each with the others as peers, and starts them.
func startNetwork(t *testing.T, n int) []*netHub {
	t.Helper()
	dir := t.TempDir()
	hubs := make([]*netHub, n)
	var idFiles []string
	for i := range hubs {
		h := &netHub{hubProc: &hubProc{data: filepath.Join(dir, fmt.Sprint("hub", i)), http: freeAddr(t), link: freeAddr(t)},
			p2p: freeAddrOn(t, fmt.Sprintf("127.0.0.%d", i+2))}
		camchaindCmd(t, "init", "--network", "--data", h.data)
		idJSON := camchaindCmd(t, "identity", "--data", h.data)
		if err := json.Unmarshal([]byte(idJSON), &h.id); err != nil {
			t.Fatal(err)
		}
		h.idFile = filepath.Join(dir, fmt.Sprintf("hub%d.json", i))
		os.WriteFile(h.idFile, []byte(idJSON), 0o600)
		idFiles = append(idFiles, h.idFile)
		hubs[i] = h
	}
	genesis := filepath.Join(dir, "genesis.json")
	camchaindCmd(t, append([]string{"genesis", "--out", genesis}, idFiles...)...)
	for i, h := range hubs {
		args := []string{"join", "--data", h.data, "--genesis", genesis}
		for j, o := range hubs {
			if j != i {
				args = append(args, "--peer", o.id.NodeID+"@"+o.p2p)
			}
		}
		camchaindCmd(t, args...)
	}
	for _, h := range hubs {
		h.start(t)
	}
	// The network is up once every hub has left block sync and committed
	// the first block (which CometBFT makes at once, transactions or not).
	waitFor(t, 60*time.Second, "the network's first block on every hub", func() bool {
		for _, h := range hubs {
			if s := status(t, h); s.Height < 1 || s.CatchingUp {
				return false
			}
		}
		return true
	})
	return hubs
}

func status(t *testing.T, h *netHub) *api.Status {
	t.Helper()
	c, _ := api.NewClient("http://" + h.http)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := c.Status(ctx)
	if err != nil {
		t.Fatalf("status of %s: %v", h.data, err)
	}
	return s
}

// heights are the running hubs' committed heights (-1 for a stopped one).
func heights(t *testing.T, hubs []*netHub, up []bool) []int64 {
	t.Helper()
	out := make([]int64, len(hubs))
	for i, h := range hubs {
		out[i] = -1
		if up[i] {
			out[i] = int64(status(t, h).Height)
		}
	}
	return out
}

// submitNoise signs a transaction nobody else would (a camera imprinted
// on nobody's hub) and submits it through h, waiting at most d.
func submitNoise(t *testing.T, h *netHub, evm uint64, d time.Duration) ([]byte, *api.TxResult, error) {
	t.Helper()
	owner, _ := keys.Generate()
	cam, _ := keys.Generate()
	s, err := tx.Sign(evm, &tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(30 * time.Minute)}, owner, cam)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := s.Encode()
	c, _ := api.NewClient("http://" + h.http)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	r, err := c.Submit(ctx, raw)
	return raw, r, err
}

// converged waits until every running hub has committed past height and
// reports one app hash at one height, and returns that height.
func converged(t *testing.T, hubs []*netHub, up []bool, height uint64, within time.Duration) uint64 {
	t.Helper()
	var h uint64
	waitFor(t, within, fmt.Sprintf("the running hubs to agree past height %d", height), func() bool {
		var hash string
		h = 0
		for i, x := range hubs {
			if !up[i] {
				continue
			}
			s := status(t, x)
			if s.Height <= height || s.CatchingUp {
				return false
			}
			if h == 0 {
				h, hash = s.Height, s.AppHash
			} else if s.Height != h || s.AppHash != hash {
				return false
			}
		}
		return true
	})
	return h
}

// committedEverywhere checks that every running hub answers for each
// transaction with the same block height.
func committedEverywhere(t *testing.T, hubs []*netHub, up []bool, txs [][]byte) {
	t.Helper()
	for k, raw := range txs {
		var height uint64
		for i, h := range hubs {
			if !up[i] {
				continue
			}
			c := h.client(t) // as the camera's owner: looking a transaction up needs a login
			var r *api.TxResult
			var err error
			deadline := time.Now().Add(30 * time.Second)
			for r, err = c.Committed(context.Background(), raw); err != nil; r, err = c.Committed(context.Background(), raw) {
				if time.Now().After(deadline) {
					t.Fatalf("transaction %d of %d is not found on hub %d (height %d): %v", k, len(txs), i, status(t, h).Height, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if height == 0 {
				height = r.Height
			} else if r.Height != height {
				t.Fatalf("hub %d has the transaction at height %d, another hub at %d: a fork", i, r.Height, height)
			}
		}
	}
}

func faultsLong() bool { return os.Getenv("CAMCHAIN_FAULTS") == "long" }

func TestFaults(t *testing.T) {
	hubs := startNetwork(t, 4)
	up := []bool{true, true, true, true}
	evm := status(t, hubs[0]).EVMChainID
	bound := hubs[0]

	// The camera streams to hub 0, bound to it on the ledger, throughout.
	a := runAgent(t, filepath.Join(t.TempDir(), "agent"), "--speed", "20")
	w := newWallet(t)
	camera := pair(t, bound.hubProc, a, w)
	for _, h := range hubs {
		h.reader = bound.reader // the owner reads any hub of the network
	}
	waitFor(t, 30*time.Second, "the camera's first uploads", func() bool { return seqOf(a.status(t).Acked) >= 5 })
	var committed [][]byte
	keepStreaming := func(what string) {
		t.Helper()
		before := seqOf(a.status(t).Acked)
		waitFor(t, 20*time.Second, "the camera's uploads to go on "+what, func() bool { return seqOf(a.status(t).Acked) > before+3 })
	}

	kill := func(i int) { hubs[i].kill(); up[i] = false }
	restart := func(i int) { hubs[i].start(t); up[i] = true }

	// One validator down: 30 of 40 power, commits go on; back, it
	// catches up to the same state.
	singles := []int{3}
	if faultsLong() {
		singles = []int{3, 2, 1}
	}
	for _, v := range singles {
		kill(v)
		via := (v + 1) % 4
		raw, r, err := submitNoise(t, hubs[via], evm, 30*time.Second)
		if err != nil || r.Code != ledger.CodeOK {
			t.Fatalf("hub %d down: a transaction through hub %d: %+v %v", v, via, r, err)
		}
		committed = append(committed, raw)
		keepStreaming(fmt.Sprintf("with validator %d down", v))
		restart(v)
		converged(t, hubs, up, r.Height, 60*time.Second)
		committedEverywhere(t, hubs, up, committed)
	}

	// Two validators down: 20 of 40, no block can be made. The ledger
	// halts (no height moves, the transaction waits in the mempool), and
	// resumes with everything once they are back.
	pairs := [][2]int{{2, 3}}
	if faultsLong() {
		pairs = [][2]int{{2, 3}, {1, 2}, {1, 3}}
	}
	for _, p := range pairs {
		kill(p[0])
		kill(p[1])
		via := 0
		if p[0] == 0 || p[1] == 0 {
			via = 1
		}
		time.Sleep(time.Second) // whatever was in flight settles
		before := heights(t, hubs, up)
		raw, r, err := submitNoise(t, hubs[via], evm, 6*time.Second)
		if err == nil {
			t.Fatalf("validators %v down: a transaction committed at height %d with half the power", p, r.Height)
		}
		if after := heights(t, hubs, up); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("validators %v down: heights moved from %v to %v", p, before, after)
		}
		keepStreaming(fmt.Sprintf("while the ledger halts (validators %v down)", p)) // the link does not need the ledger
		restart(p[0])
		restart(p[1])
		committed = append(committed, raw)
		converged(t, hubs, up, uint64(before[via]), 90*time.Second)
		committedEverywhere(t, hubs, up, committed)
	}

	// The camera's hub down: the camera records on its card, never goes
	// to another hub, and backfills everything once its hub is back.
	outage := 5 * time.Second
	if faultsLong() {
		outage = time.Minute
	}
	kill(0)
	headAtKill, ackedAtKill := seqOf(a.status(t).Head), seqOf(a.status(t).Acked)
	time.Sleep(outage)
	st := a.status(t)
	if seqOf(st.Head) < headAtKill+int64(outage/(400*time.Millisecond)) {
		t.Fatalf("the camera recorded %d segments in %s with its hub down", seqOf(st.Head)-headAtKill, outage)
	}
	if seqOf(st.Acked) != ackedAtKill || st.Link == "connected" {
		t.Fatalf("with its hub down the camera reports link %q, acked %d (at the kill %d)", st.Link, seqOf(st.Acked), ackedAtKill)
	}
	for i := 1; i < 4; i++ {
		if n := hubHead(t, hubs[i].hubProc, camera); n != -1 {
			t.Fatalf("hub %d holds the camera's recordings up to #%d: the camera went to another hub", i, n)
		}
	}
	raw, r, err := submitNoise(t, hubs[1], evm, 30*time.Second) // 30 of 40: the ledger goes on
	if err != nil || r.Code != ledger.CodeOK {
		t.Fatalf("camera's hub down: %+v %v", r, err)
	}
	committed = append(committed, raw)
	restart(0)
	waitFor(t, 90*time.Second, "the camera's backfill", func() bool {
		s := a.status(t)
		return seqOf(s.Acked) >= seqOf(s.Head)-1 && seqOf(s.Acked) > headAtKill
	})
	converged(t, hubs, up, r.Height, 60*time.Second)
	committedEverywhere(t, hubs, up, committed)

	// A validator whose state was changed on disk: it detects it at
	// start and stops instead of serving the changed state.
	hubs[2].stop()
	up[2] = false
	tamperDevice(t, filepath.Join(hubs[2].data, "ledger", "data"))
	cmd := exec.Command(bin("camchaind"), "run", "--data", hubs[2].data, "--http", hubs[2].http, "--link", hubs[2].link, "--p2p", "tcp://"+hubs[2].p2p, "--log-level", "warn")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(out.String(), "changed on disk") {
			t.Fatalf("the tampered validator: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the tampered validator is still running after 30 s:\n%s", out.String())
	}
	// The other three go on.
	if _, r, err := submitNoise(t, hubs[1], evm, 30*time.Second); err != nil || r.Code != ledger.CodeOK {
		t.Fatalf("after the tampered validator stopped: %+v %v", r, err)
	}

	// Nothing the camera recorded is missing from its hub.
	waitFor(t, 30*time.Second, "the camera's last uploads", func() bool {
		s := a.status(t)
		return seqOf(s.Acked) >= seqOf(s.Head)-1
	})
	a.stop()
	bound.stop()
	hubH, camH := compareStores(t, bound.data, a.data, camera, 0)
	if camH.Seq-hubH.Seq > 2 {
		t.Fatalf("hub at #%d, camera at #%d after the backfill", hubH.Seq, camH.Seq)
	}
}

// tamperDevice changes one camera record (a dev/ entry) in a stopped
// node's application database, as someone with the disk would.
func tamperDevice(t *testing.T, dir string) {
	t.Helper()
	db, err := dbm.NewPebbleDB("app", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	it, err := db.Iterator([]byte("dev/"), []byte("dev0"))
	if err != nil {
		t.Fatal(err)
	}
	if !it.Valid() {
		t.Fatal("no camera record to tamper with")
	}
	k, v := bytes.Clone(it.Key()), bytes.Clone(it.Value())
	it.Close()
	v[len(v)-1] ^= 1
	if err := db.SetSync(k, v); err != nil {
		t.Fatal(err)
	}
}
