package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/tx"
)

// fakeLedgerHub answers the two API calls the checkpointer makes and
// applies submitted checkpoints as the ledger would (continuity and
// consistency), so the test sees exactly what the camera committed.
type fakeLedgerHub struct {
	mu       sync.Mutex
	t        *testing.T
	camera   string
	period   uint64
	accepted []*tx.Checkpoint
	raws     map[string][]byte // by "0x" hash
	lastRoot feedchain.Hash
}

func (f *fakeLedgerHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/api/v1/devices/"):
		d := api.Device{Camera: f.camera, Owned: true, CheckpointPeriod: f.period}
		if n := len(f.accepted); n > 0 {
			last := f.accepted[n-1]
			d.Checkpoints = api.CheckpointsSummary{Count: uint64(n), LastSeq: last.LastSeq,
				LastPeriodEnd: time.Unix(int64(last.PeriodEnd), 0).UTC().Format(time.RFC3339)}
		}
		json.NewEncoder(w).Encode(d)
	case r.Method == "POST" && r.URL.Path == "/api/v1/txs":
		var req api.SubmitRequest
		json.NewDecoder(r.Body).Decode(&req)
		raw, _ := hex.DecodeString(strings.TrimPrefix(req.Tx, "0x"))
		t, err := tx.Decode(raw)
		if err != nil {
			f.t.Errorf("camera sent a malformed tx: %v", err)
			http.Error(w, "bad", 400)
			return
		}
		ck := t.Msg.(*tx.Checkpoint)
		if who, err := t.Signers(); err != nil || !strings.EqualFold(who[0].Hex(), f.camera) {
			f.t.Errorf("checkpoint not signed by the camera: %v %v", who, err)
		}
		if n := len(f.accepted); n > 0 {
			prev := f.accepted[n-1]
			proof, err := checkpoint.DecodeProof(ck.Consistency)
			if err == nil {
				err = checkpoint.VerifyConsistency(prev.TreeSize, ck.TreeSize, f.lastRoot, ck.Root, proof)
			}
			if err != nil || ck.FirstSeq != prev.LastSeq+1 || ck.PeriodStart < prev.PeriodEnd {
				f.t.Errorf("checkpoint does not continue the previous one: %+v (%v)", ck, err)
			}
		}
		f.accepted = append(f.accepted, ck)
		f.lastRoot = ck.Root
		sum := sha256.Sum256(raw)
		if f.raws == nil {
			f.raws = map[string][]byte{}
		}
		f.raws["0x"+hex.EncodeToString(sum[:])] = raw
		json.NewEncoder(w).Encode(api.TxResult{Code: 0, CodeName: "ok", Height: uint64(len(f.accepted))})
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/api/v1/txs/"):
		hash := strings.TrimPrefix(r.URL.Path, "/api/v1/txs/")
		raw, ok := f.raws[hash]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(api.ErrorBody{Error: &api.Error{Code: api.ErrNotFound, Message: "not in a committed block"}})
			return
		}
		json.NewEncoder(w).Encode(api.TxResult{Hash: hash, Code: 0, CodeName: "ok", Height: 1, Tx: "0x" + hex.EncodeToString(raw)})
	default:
		http.NotFound(w, r)
	}
}

// A camera that was offline across several period ends commits them late,
// one checkpoint per period, in order, each extending the previous tree.
func TestCheckpointerCommitsMissedPeriodsInOrder(t *testing.T) {
	a, err := Open(Config{DataDir: t.TempDir(), Source: nopSource{}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.store.Close()
	chain := a.Chain()
	// 9 records over three 60-second periods starting at t0.
	t0 := time.Unix(1_800_000_000/60*60, 0)
	for i := 0; i < 9; i++ {
		data := []byte{byte(i), 1, 2, 3}
		r := &feedchain.Record{Camera: a.Address(), Seq: uint64(i), Segment: feedchain.SegmentHash(data),
			Start: t0.Add(time.Duration(i) * 20 * time.Second).UnixNano(), Duration: 20 * time.Second, Size: 4, Codec: "avc1.4d401e"}
		if h := chain.Head(); h.Valid {
			r.Prev = h.Hash
		}
		if err := r.Sign(a.key); err != nil {
			t.Fatal(err)
		}
		if err := chain.Append(r, data); err != nil {
			t.Fatal(err)
		}
	}
	fake := &fakeLedgerHub{t: t, camera: a.Address().Hex(), period: 60}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	client, _ := api.NewClient(srv.URL)
	c := &checkpointer{a: a, chain: chain, tree: checkpoint.NewTree(), api: client, evmChainID: 7}

	// Mid-way through the second period: only the first has ended.
	n, err := c.once(context.Background(), t0.Add(90*time.Second))
	if err != nil || n != 1 {
		t.Fatalf("first round: %d checkpoints, %v", n, err)
	}
	// Long after: the two missed periods, in order; the last record's
	// period (the third) has ended too.
	n, err = c.once(context.Background(), t0.Add(10*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("late round: %d checkpoints, %v", n, err)
	}
	want := [][2]uint64{{0, 2}, {3, 5}, {6, 8}}
	for i, ck := range fake.accepted {
		if ck.FirstSeq != want[i][0] || ck.LastSeq != want[i][1] || ck.TreeSize != ck.LastSeq+1 ||
			ck.PeriodEnd-ck.PeriodStart != 60 || ck.PeriodStart != uint64(t0.Unix())+60*uint64(i) {
			t.Fatalf("checkpoint %d = %+v, want seqs %v in period %d", i, ck, want[i], i)
		}
	}
	// Nothing more to commit.
	if n, err := c.once(context.Background(), t0.Add(20*time.Minute)); err != nil || n != 0 {
		t.Fatalf("idle round: %d, %v", n, err)
	}
}
