package ledger

import (
	"context"
	"encoding/json"
	"log/slog"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/camchain/camchain/internal/tx"
)

// cpuTime is the process's user+system CPU time so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSignedBlocks is the application's share of
// ledger.commit_throughput.signed without CometBFT: b.N SetPolicy
// transactions of one owner, pre-verified (as Node.Submit does), admitted
// by CheckTx, then finalized and committed in blocks of 400 on the node's
// own Pebble configuration. It reports the CPU time (not wall time: the
// machine is shared) per transaction of each phase, in µs.
func BenchmarkSignedBlocks(b *testing.B) {
	const perBlock = 400
	dbs := &dbTracker{log: slog.New(slog.DiscardHandler)}
	db, err := dbs.openApp(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	h := &harness{t: b, db: db, now: time.Now().Truncate(time.Second)}
	h.hubs = append(h.hubs, h.key())
	h.open()
	g, _ := json.Marshal(Genesis{Hubs: []string{h.hubs[0].Address().Hex()}})
	if _, err := h.app.InitChain(context.Background(), &abci.InitChainRequest{ChainId: testChain, AppStateBytes: g}); err != nil {
		b.Fatal(err)
	}
	owner := h.key()
	cam := h.imprint(owner)
	epoch := h.device(cam).Epoch
	expiry := uint64(h.now.Add(50 * time.Minute).Unix())
	raws := make([][]byte, b.N)
	var wg sync.WaitGroup
	for w := range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < b.N; i += runtime.GOMAXPROCS(0) {
				t, err := tx.Sign(testChainID, &tx.SetPolicy{Camera: cam.Address(), Epoch: epoch,
					CheckpointPeriod: 3600 + uint64(i%1000), Nonce: tx.NewNonce(), Expiry: expiry}, owner)
				if err == nil {
					raws[i], err = t.Encode()
				}
				if err != nil {
					panic(err)
				}
			}
		}()
	}
	wg.Wait()
	phase := map[string]time.Duration{}
	timed := func(name string, f func()) {
		t0 := cpuTime(b)
		f()
		phase[name] += cpuTime(b) - t0
	}
	b.ResetTimer()
	for start := 0; start < b.N; start += perBlock {
		blk := raws[start:min(start+perBlock, b.N)]
		timed("preverify", func() {
			for _, raw := range blk {
				h.app.PreVerify(raw)
			}
		})
		timed("checktx", func() {
			for _, raw := range blk {
				if c := h.checkTx(raw); c != CodeOK {
					b.Fatalf("CheckTx: %s", CodeName(c))
				}
			}
		})
		h.height++
		h.now = h.now.Add(time.Second)
		var res *abci.FinalizeBlockResponse
		timed("finalize", func() {
			res, err = h.app.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{Txs: blk, Height: h.height, Time: h.now})
		})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res.TxResults {
			if r.Code != CodeOK {
				b.Fatalf("block: %s %s", CodeName(r.Code), r.Log)
			}
		}
		timed("commit", func() {
			_, err = h.app.Commit(context.Background(), &abci.CommitRequest{})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var total time.Duration
	for name, d := range phase {
		b.ReportMetric(float64(d.Microseconds())/float64(b.N), name+"-cpu-µs/tx")
		total += d
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "cpu-µs/tx")
}
