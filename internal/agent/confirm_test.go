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
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/pairing"
	"github.com/camchain/camchain/internal/tx"
)

// txHub answers GET /api/v1/txs/{hash} from the transactions a test
// commits: the one hub route the camera asks to confirm its imprint.
type txHub struct {
	srv *httptest.Server
	mu  sync.Mutex
	txs map[string][]byte // by 0x hash
	// forge, when set, is returned for every hash instead.
	forge []byte
}

func newTxHub(t *testing.T) *txHub {
	h := &txHub{txs: map[string][]byte{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if serveFakeLogin(w, r) {
			return
		}
		hash, ok := strings.CutPrefix(r.URL.Path, api.Prefix+"/txs/")
		if !ok || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+fakeToken {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": string(api.ErrUnauthenticated), "message": "log in"}})
			return
		}
		h.mu.Lock()
		raw, found := h.txs[hash]
		if h.forge != nil {
			raw, found = h.forge, true
		}
		h.mu.Unlock()
		if !found {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": string(api.ErrNotFound), "message": "not found"}})
			return
		}
		json.NewEncoder(w).Encode(api.TxResult{Hash: hash, Code: 0, CodeName: "ok", Height: 5, Type: "imprint", Tx: "0x" + hex.EncodeToString(raw)})
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *txHub) URL() string { return h.srv.URL }

const fakeToken = "fake-access-token"

// serveFakeLogin answers the login endpoints as a hub would, for any
// signed message (these tests are about the camera, not the login; the
// real login is tested against a real hub in internal/hub and test/e2e).
func serveFakeLogin(w http.ResponseWriter, r *http.Request) bool {
	switch r.URL.Path {
	case api.Prefix + "/auth/nonce":
		json.NewEncoder(w).Encode(api.Nonce{Nonce: strings.Repeat("ab", 32), Expires: time.Now().Add(time.Minute).UTC().Format(time.RFC3339),
			Domain: r.Host, URI: "http://" + r.Host, ChainID: 1, Statement: api.SigninStatement})
	case api.Prefix + "/auth/login":
		json.NewEncoder(w).Encode(api.Session{AccessToken: fakeToken, TokenType: "Bearer", Expires: time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
			Client: strings.Repeat("cd", 16), Head: strings.Repeat("ef", 32), Renewal: strings.Repeat("01", 32)})
	default:
		return false
	}
	return true
}

// commit puts the imprint the owner and the camera signed "on the ledger".
func (h *txHub) commit(t *testing.T, req *pairing.Request, camera keys.Address, resp *pairing.Response) {
	t.Helper()
	raw, err := (&tx.Tx{Domain: tx.Domain(req.Domain), EVMChainID: req.EVMChainID, Msg: req.Imprint(camera), Sigs: []keys.Signature{req.OwnerSig, resp.CameraSig}}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	h.mu.Lock()
	h.txs["0x"+hex.EncodeToString(sum[:])] = raw
	h.mu.Unlock()
}

func waitPaired(t *testing.T, a *Agent) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !a.Status().Paired {
		if time.Now().After(deadline) {
			t.Fatalf("not paired: %+v", a.Status())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The camera counts as paired only once its hub shows the imprint it
// co-signed committed: a co-signed imprint that never reaches the ledger
// (its submission failed) leaves a camera that pairs again; a hub that
// shows another transaction does not pair it.
func TestPairedOnlyOnceTheImprintIsCommitted(t *testing.T) {
	confirmEvery = 20 * time.Millisecond
	a, _ := startAgent(t, 0)
	ledger := newTxHub(t)
	owner := mustKey(t)
	ctx := context.Background()

	// 1. Co-signed, never submitted: not paired; a new code is shown (its
	// expiry is long enough for a loaded machine to co-sign in time; an
	// expired imprint being dropped is TestExpiredPendingImprintIsDropped's).
	code, _ := pairing.ParseCode(a.Status().Code)
	if _, err := pairing.Dial(ctx, code, requestVia(t, code, owner, ledger.URL(), 15*time.Second)); err != nil {
		t.Fatal(err)
	}
	st := a.Status()
	if st.Paired || st.Pending != 1 || st.Code == "" {
		t.Fatalf("after co-signing: %+v", st)
	}

	// 2. A hub that answers with another transaction for the hash.
	ledger.mu.Lock()
	ledger.forge = []byte{0xa1, 0x00}
	ledger.mu.Unlock()
	time.Sleep(200 * time.Millisecond)
	if a.Status().Paired {
		t.Fatal("paired on a transaction the camera did not co-sign")
	}
	ledger.mu.Lock()
	ledger.forge = nil
	ledger.mu.Unlock()

	// 3. The owner pairs again with the new code; this imprint lands.
	code2, err := pairing.ParseCode(a.Status().Code)
	if err != nil || code2.Secret == code.Secret {
		t.Fatalf("no new code while the first imprint is pending: %v", err)
	}
	req := requestVia(t, code2, owner, ledger.URL(), time.Minute)
	resp, err := pairing.Dial(ctx, code2, req)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status().Paired {
		t.Fatal("paired before the imprint is on the ledger")
	}
	ledger.commit(t, req, code2.Camera, resp)
	waitPaired(t, a)
	st = a.Status()
	if st.Pending != 0 || st.Code != "" || st.PairAddr != "" {
		t.Fatalf("after confirmation: %+v", st)
	}
	// The pairing endpoint is closed while the camera is owned.
	if _, err := pairing.Dial(ctx, code2, req); err == nil || !strings.Contains(err.Error(), "cannot reach the camera") {
		t.Fatalf("pairing endpoint of an owned camera: %v", err)
	}
}

// An imprint the ledger never saw is dropped once it expired.
func TestExpiredPendingImprintIsDropped(t *testing.T) {
	confirmEvery = 20 * time.Millisecond
	a, _ := startAgent(t, 0)
	ledger := newTxHub(t)
	code, _ := pairing.ParseCode(a.Status().Code)
	imprintSkew = 0
	defer func() { imprintSkew = time.Minute }()
	req := requestVia(t, code, mustKey(t), ledger.URL(), 2*time.Second)
	if _, err := pairing.Dial(context.Background(), code, req); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for a.Status().Pending != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("expired imprint still pending: %+v", a.Status())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := a.Status(); st.Paired || st.Code == "" {
		t.Fatalf("after dropping: %+v", st)
	}
}
