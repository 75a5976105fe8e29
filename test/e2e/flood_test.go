package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
	cwallet "github.com/camchain/camchain/internal/wallet"
)

// floodN is how many junk submissions of each kind the flood sends.
const floodN = 10_000

// floodInterval is the hub's --refusal-interval in the flood tests.
const floodInterval = 3 * time.Second

// flooder posts JSON bodies to a hub from many connections at once, as an
// attacker on the same machine (so with the owner's client address) would.
type flooder struct {
	hub    *hubProc
	url    string
	client *http.Client
	status sync.Map // HTTP status -> *atomic.Int64
}

func newFlooder(h *hubProc) *flooder {
	return &flooder{hub: h, url: h.url(), client: &http.Client{Timeout: time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: 32, MaxConnsPerHost: 32}}}
}

func (f *flooder) post(path string, body any) {
	b, _ := json.Marshal(body)
	resp, err := f.client.Post(f.url+api.Prefix+path, "application/json", bytes.NewReader(b))
	code := -1
	if err == nil {
		code = resp.StatusCode
		resp.Body.Close()
	}
	c, _ := f.status.LoadOrStore(code, new(atomic.Int64))
	c.(*atomic.Int64).Add(1)
}

// found counts how many of hashes are transactions in a committed block.
func (f *flooder) found(t *testing.T, hashes []string) int {
	var n atomic.Int64
	tok, err := f.hub.reader.Token(context.Background(), f.hub.client(t)) // lookups need a login
	if err != nil {
		t.Fatal(err)
	}
	work := make(chan func())
	go func() {
		for _, h := range hashes {
			work <- func() {
				req, _ := http.NewRequest(http.MethodGet, f.url+api.Prefix+"/txs/"+h, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := f.client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusNotFound {
					n.Add(1)
				}
			}
		}
		close(work)
	}()
	f.run(16, work)
	return int(n.Load())
}

func (f *flooder) run(workers int, bodies <-chan func()) {
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range bodies {
				b()
			}
		}()
	}
	wg.Wait()
}

func (f *flooder) counts() map[int]int64 {
	out := map[int]int64{}
	f.status.Range(func(k, v any) bool { out[k.(int)] = v.(*atomic.Int64).Load(); return true })
	return out
}

// ledgerEvents returns every audit event of the hub's ledger, oldest first.
func ledgerEvents(t *testing.T, h *hubProc) []api.Event {
	t.Helper()
	var all []api.Event
	q := api.AuditQuery{Limit: 500}
	for {
		l, err := h.client(t).Audit(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, l.Items...)
		if l.Next == "" {
			break
		}
		fmt.Sscan(l.Next, &q.Before)
	}
	for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
		all[i], all[j] = all[j], all[i]
	}
	return all
}

func loadKey(t *testing.T, w wallet) *keys.PrivateKey {
	t.Helper()
	k, err := cwallet.NewKeystore(w.dir, cwallet.LightScrypt).Load("e2e passphrase")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// floodResult is what the flood did to the ledger.
type floodResult struct {
	blocks      uint64
	events      []api.Event
	ownerLanded time.Duration
	statuses    map[int]int64
}

// flood sends floodN pairings whose signatures are zeros (naming the victim
// camera and random "owners" to frame) and floodN well-signed grants on the
// victim camera from throwaway keys, from 32 connections; halfway through,
// the camera's real owner grants a viewer and must land within 2 s. It
// returns what reached the ledger, once the interval's refusal records had
// time to land.
func flood(t *testing.T, h *hubProc, camera keys.Address, owner *keys.PrivateKey) floodResult {
	t.Helper()
	c := h.client(t)
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	eventsBefore := len(ledgerEvents(t, h))
	heightBefore := st.Height

	// The junk, built before the clock starts.
	pairings := make([]api.PairRequest, floodN)
	for i := range pairings {
		framed, _ := keys.Generate()
		imp := &tx.Imprint{Camera: camera, Owner: framed.Address(), Hub: keys.Address(mustAddr(t, st.HubAddress)),
			Nonce: uint64(i), Expiry: tx.ExpiryIn(time.Minute)}
		raw, err := (&tx.Tx{EVMChainID: st.EVMChainID, Msg: imp, Sigs: make([]keys.Signature, 2)}).Encode()
		if err != nil {
			t.Fatal(err)
		}
		pairings[i] = api.PairRequest{Tx: "0x" + hex.EncodeToString(raw), CameraTLSPin: strings.Repeat("ab", 32)}
	}
	grants := make([]api.SubmitRequest, floodN)
	grantHashes := make([]string, floodN)
	for i := range grants {
		throwaway, _ := keys.Generate()
		viewer, _ := keys.Generate()
		s, err := tx.Sign(st.EVMChainID, &tx.Grant{Camera: camera, Viewer: viewer.Address(), Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, throwaway)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := s.Encode()
		grants[i] = api.SubmitRequest{Tx: "0x" + hex.EncodeToString(raw)}
		sum := sha256.Sum256(raw)
		grantHashes[i] = "0x" + hex.EncodeToString(sum[:])
	}

	f := newFlooder(h)
	work := make(chan func())
	done := make(chan struct{})
	go func() { f.run(32, work); close(done) }()
	start := time.Now()
	var landed time.Duration
	for i := 0; i < floodN; i++ {
		p, g := pairings[i], grants[i]
		work <- func() { f.post("/pairings", p) }
		work <- func() { f.post("/txs", g) }
		if i == floodN/2 {
			// The owner, in the middle of the flood, from the same address.
			viewer, _ := keys.Generate()
			s, _ := tx.Sign(st.EVMChainID, &tx.Grant{Camera: camera, Viewer: viewer.Address(), Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(tx.DefaultTTL)}, owner)
			raw, _ := s.Encode()
			t0 := time.Now()
			res, err := c.Submit(context.Background(), raw)
			landed = time.Since(t0)
			if err != nil || res.Code != 0 || res.Height == 0 {
				t.Fatalf("the owner's grant during the flood: %+v %v", res, err)
			}
		}
	}
	close(work)
	<-done
	took := time.Since(start)
	// Let the last interval's aggregated records land.
	time.Sleep(2*floodInterval + time.Second)
	st2, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	all := ledgerEvents(t, h)
	r := floodResult{blocks: st2.Height - heightBefore, events: all[eventsBefore:], ownerLanded: landed, statuses: f.counts()}
	perKind := map[string]int{}
	for _, e := range r.events {
		perKind[e.Kind]++
	}
	t.Logf("flood: %d zero-signature pairings + %d throwaway-key grants in %s (HTTP statuses %v); the owner's grant landed in %s",
		floodN, floodN, took.Round(time.Millisecond), r.statuses, landed.Round(time.Millisecond))
	t.Logf("ledger growth under the flood: %d blocks, %d audit events %v", r.blocks, len(r.events), perKind)
	fmt.Printf("e2e flood: %d+%d junk submissions -> ledger +%d blocks, +%d audit events %v; owner's tx landed in %s\n",
		floodN, floodN, r.blocks, len(r.events), perKind, landed.Round(time.Millisecond))
	if landed > 2*time.Second {
		t.Errorf("the owner's transaction took %s to land during the flood, want ≤ 2s", landed)
	}
	// Nothing but the owner's grant and at most one aggregated refusal
	// record per kind per interval.
	intervals := int(took/floodInterval) + 3
	for _, e := range r.events {
		switch audit.Kind(e.Kind) {
		case audit.Grant, audit.Granted:
			if !strings.EqualFold(e.Actor, owner.Address().Hex()) && e.Kind == string(audit.Grant) {
				t.Errorf("a grant by %s reached the ledger", e.Actor)
			}
		case audit.PairingRefused, audit.TxRefused, audit.RateLimited:
			if e.Subject != "" || e.Source != "hub" {
				t.Errorf("refusal record names a subject or is not the hub's: %+v", e)
			}
		case audit.ClientEnrolled:
			// The owner's own login before the flood, recorded loudly; its
			// audit record may commit after the count began (under load).
			if !strings.EqualFold(e.Subject, owner.Address().Hex()) {
				t.Errorf("a client of %s was enrolled during the flood: %+v", e.Subject, e)
			}
		default:
			if !audit.Kind(e.Kind).IsAlarm() {
				t.Errorf("unexpected event on the ledger: %+v", e)
			}
		}
	}
	for k, n := range perKind {
		if (k == string(audit.PairingRefused) || k == string(audit.TxRefused) || k == string(audit.RateLimited)) && n > intervals {
			t.Errorf("%d %s records for a flood of %s (%d intervals of %s)", n, k, took, intervals, floodInterval)
		}
	}
	if perKind[string(audit.Grant)] != 1 {
		t.Errorf("%d grants on the ledger, want the owner's 1", perKind[string(audit.Grant)])
	}
	// No junk grant is in any block, not even as a refused transaction.
	if n := f.found(t, grantHashes); n != 0 {
		t.Errorf("%d of the junk grants are in committed blocks", n)
	}
	// Every transaction the flood added is one of the events above (the
	// owner's grant: 2 events; each refusal record: 1); CometBFT follows
	// each block that changed the app hash with one that carries it.
	if txs := uint64(len(r.events) - perKind[string(audit.Granted)]); r.blocks > 2*txs {
		t.Errorf("the flood added %d blocks for %d transactions", r.blocks, txs)
	}
	return r
}

func mustAddr(t *testing.T, s string) keys.Address {
	t.Helper()
	a, err := keys.ParseAddress(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Findings 1–3 of issue 8, attacked from outside: zero-signature pairings
// that name anyone, and well-signed junk from throwaway keys, add nothing
// to the ledger but the hub's aggregated refusal records; the owner's own
// transaction lands during the flood; and after it, a real cloned camera's
// alarm reaches the ledger.
func TestFloodReachesNoBlockAndDropsNoAlarm(t *testing.T) {
	h := initHub(t)
	h.run(t, "--refusal-interval", floodInterval.String())
	orig := t.TempDir() + "/agent"
	a := runAgent(t, orig, "--speed", "10")
	w := newWallet(t)
	camera := mustAddr(t, pair(t, h, a, w))
	waitFor(t, 20*time.Second, "the pairing on the audit log", func() bool {
		return contains(auditKinds(t, h, camera.Hex()), string(audit.Pairing))
	})
	r := flood(t, h, camera, loadKey(t, w))
	// No one was framed: no event names a zero-signature pairing's owner.
	for _, e := range r.events {
		if e.Kind == string(audit.PairingRefused) {
			t.Errorf("a pairing whose signatures are zeros was recorded: %+v", e)
		}
	}
	if r.statuses[http.StatusBadRequest] < floodN {
		t.Errorf("only %d of %d zero-signature pairings were refused at the edge (statuses %v)", r.statuses[http.StatusBadRequest], floodN, r.statuses)
	}
	// The junk grants were refused (by the budget or by CheckTx) and counted.
	kinds := map[string]bool{}
	for _, e := range r.events {
		kinds[e.Kind] = true
	}
	if !kinds[string(audit.RateLimited)] || !kinds[string(audit.TxRefused)] {
		t.Errorf("the refusals were not recorded in aggregate: kinds %v", kinds)
	}

	// Then a real clone: a copy of the camera's data directory, started
	// while the original is live. Its alarm is persisted by the hub before
	// anything else and reaches the ledger.
	waitFor(t, 20*time.Second, "upload", func() bool { return seqOf(a.status(t).Acked) >= 2 })
	a.stop()
	clone := t.TempDir() + "/clone"
	if out, err := exec.Command("cp", "-a", orig, clone).CombinedOutput(); err != nil {
		t.Fatalf("copy: %v %s", err, out)
	}
	a = runAgent(t, orig, "--speed", "10")
	waitFor(t, 20*time.Second, "original reconnects", func() bool { return a.status(t).Link == "connected" })
	runAgent(t, clone, "--speed", "10")
	waitFor(t, 30*time.Second, "the clone's alarm on the ledger", func() bool {
		return contains(auditKinds(t, h, camera.Hex()), string(audit.CloneSuspected))
	})
	if n := alarmsPending(t, h); n != 0 {
		t.Logf("%d alarms still pending in the hub's alarm log", n)
	}
}

// alarmsPending reads the hub's alarm log files: entries minus committed.
func alarmsPending(t *testing.T, h *hubProc) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(h.data, "alarms", "alarms.log"))
	if err != nil {
		t.Fatalf("the hub keeps no alarm log: %v", err)
	}
	lines := strings.Count(string(b), "\n") - 1
	c, _ := os.ReadFile(filepath.Join(h.data, "alarms", "alarms.committed"))
	var gen string
	var n int
	fmt.Sscan(string(c), &gen, &n)
	return lines - n
}
