package hub

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/testutil/freeport"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/wallet"
)

// buildCamchaind compiles the real daemon for process-level tests.
func buildCamchaind(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "camchaind")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/camchain/camchain/cmd/camchaind").CombinedOutput()
	if err != nil {
		t.Fatalf("go build camchaind: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	return freeport.Addr(t, "127.0.0.1")
}

// daemon is a camchaind process.
type daemon struct {
	cmd  *exec.Cmd
	addr string
}

func startDaemon(t *testing.T, bin, data, addr string) *daemon {
	t.Helper()
	cmd := exec.Command(bin, "run", "--data", data, "--http", addr, "--link", "127.0.0.1:0", "--log-level", "warn")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "ready") {
				ready <- true
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			cmd.Wait()
			t.Fatalf("camchaind exited before ready")
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("camchaind not ready after 30s")
	}
	return &daemon{cmd: cmd, addr: addr}
}

func (d *daemon) kill9() {
	d.cmd.Process.Signal(syscall.SIGKILL)
	d.cmd.Wait()
}

// TestKill9LosesNoCommittedTx kills the real camchaind process with SIGKILL
// at random moments while clients submit transactions, restarts it, and
// checks that every transaction the hub acknowledged as committed is in the
// ledger state, and that the ledger keeps working.
func TestKill9LosesNoCommittedTx(t *testing.T) {
	bin := buildCamchaind(t)
	data := filepath.Join(t.TempDir(), "hub")
	if out, err := exec.Command(bin, "init", "--data", data).CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	// The test signs audit events with the hub's own key, as the hub would.
	cfg := Config{DataDir: data}
	cfg.Validate()
	pass, err := readPassphrase(cfg.PassphraseFile)
	if err != nil {
		t.Fatal(err)
	}
	hubKey, err := wallet.NewKeystore(cfg.keystoreDir(), hubScrypt).Load(pass)
	if err != nil {
		t.Fatal(err)
	}
	actor, _ := keys.Generate()
	addr := freePort(t)

	var (
		mu    sync.Mutex
		acked = map[string]uint64{} // detail → height
		seq   int
	)
	const rounds = 5
	for round := 0; round < rounds; round++ {
		d := startDaemon(t, bin, data, addr)
		c, _ := api.NewClient("http://" + addr)
		st, err := c.Status(context.Background())
		if err != nil {
			d.kill9()
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					mu.Lock()
					seq++
					detail := fmt.Sprintf("crash-test %d", seq)
					mu.Unlock()
					signed, err := tx.Sign(st.EVMChainID, &tx.Audit{Hub: hubKey.Address(), Kind: "hub/test", Actor: actor.Address(),
						Detail: detail, At: uint64(time.Now().Unix()), Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Hour)}, hubKey)
					if err != nil {
						t.Error(err)
						return
					}
					raw, _ := signed.Encode()
					res, err := c.Submit(ctx, raw)
					if err == nil && res.Code == 0 && res.Height > 0 {
						mu.Lock()
						acked[detail] = res.Height
						mu.Unlock()
					}
				}
			}()
		}
		// Kill at a random moment, mid-stream.
		time.Sleep(time.Duration(150+rand.IntN(600)) * time.Millisecond)
		d.kill9()
		cancel()
		wg.Wait()
	}

	d := startDaemon(t, bin, data, addr)
	defer func() {
		d.cmd.Process.Signal(syscall.SIGTERM)
		d.cmd.Wait()
	}()
	c, _ := api.NewClient("http://" + addr)
	c.WithCredentials(api.StaticToken(loginToken(t, context.Background(), c, actor))) // the audit log is the actor's to read
	found := map[string]bool{}
	var before uint64
	for {
		l, err := c.Audit(context.Background(), api.AuditQuery{Principal: actor.Address().Hex(), Before: before, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range l.Items {
			found[strings.SplitN(e.Detail, " (at ", 2)[0]] = true
		}
		if l.Next == "" {
			break
		}
		fmt.Sscan(l.Next, &before)
	}
	if len(acked) < 20 {
		t.Fatalf("only %d transactions acknowledged across %d rounds: the test exercised too little", len(acked), rounds)
	}
	var maxHeight uint64
	for detail, h := range acked {
		if !found[detail] {
			t.Errorf("acknowledged at height %d but missing after kill -9: %s", h, detail)
		}
		maxHeight = max(maxHeight, h)
	}
	st, err := c.Status(context.Background())
	if err != nil || st.Height < maxHeight {
		t.Fatalf("status after restart: %+v %v (want height ≥ %d)", st, err, maxHeight)
	}
	t.Logf("%d acknowledged transactions across %d kills, all present; %d in the ledger in all", len(acked), rounds, len(found))
	// And the ledger still commits.
	signed, _ := tx.Sign(st.EVMChainID, &tx.Audit{Hub: hubKey.Address(), Kind: "hub/test", Actor: actor.Address(), Detail: "after",
		At: uint64(time.Now().Unix()), Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Hour)}, hubKey)
	raw, _ := signed.Encode()
	if res, err := c.Submit(context.Background(), raw); err != nil || res.Code != 0 {
		t.Fatalf("submit after recovery: %+v %v", res, err)
	}
}
