package hub

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/auth"
	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// startLoginHub runs a hub whose login batches close every interval, with
// no login rate limits (the flood below is from one address) and hubOwner
// as its owner.
func startLoginHub(t *testing.T, interval time.Duration, hubOwner keys.Address) *Hub {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "hub")
	if _, err := Init(Config{DataDir: dir}, ""); err != nil {
		t.Fatal(err)
	}
	h, err := Start(Config{DataDir: dir, HTTPAddr: "127.0.0.1:0", LinkAddr: "127.0.0.1:0", LoginInterval: interval,
		Owner: hubOwner, AuthLimits: auth.Limits{FailuresPerIP: -1, FailuresPerAddress: -1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// verifyProofView checks a GET /auth/logins answer the way a client would:
// auth.VerifyLoginProof on its bytes, and the batch transaction committed.
func verifyProofView(t *testing.T, ctx context.Context, c *api.Client, p *api.LoginProof, chainID uint64, hub keys.Address) *auth.Entry {
	t.Helper()
	var path []feedchain.Hash
	for _, x := range p.Path {
		path = append(path, feedchain.Hash(unhex(t, x)))
	}
	e, m, err := auth.VerifyLoginProof(auth.LoginProof{Entry: unhex(t, p.Entry), Index: p.Index, Path: path, BatchTx: unhex(t, p.BatchTx)}, chainID, hub)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Tx(ctx, p.Batch.TxHash)
	if err != nil || res.Code != 0 || !bytes.Equal(unhex(t, res.Tx), unhex(t, p.BatchTx)) || res.Height != p.Batch.Height {
		t.Fatalf("batch transaction %s is not the committed one: %+v, %v", p.Batch.TxHash, res, err)
	}
	if m.Seq != p.Batch.Seq || "0x"+hex.EncodeToString(m.Root[:]) != p.Batch.Root {
		t.Fatalf("batch view %+v disagrees with its transaction %+v", p.Batch, m)
	}
	return e
}

// TestLoginRecordsOnTheLedger: every login and verified refusal becomes a
// record, one hub-signed batch per interval commits their root — however
// many there were — and each record is provable against it. A flood of bad
// logins grows the ledger by at most one transaction per interval.
func TestLoginRecordsOnTheLedger(t *testing.T) {
	const interval = time.Second
	hubOwner := recordsTestKey(t)
	h := startLoginHub(t, interval, hubOwner.Address())
	base := "http://" + h.Addr()
	c, _ := api.NewClient(base)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	owner, stranger := recordsTestKey(t), recordsTestKey(t)
	cid, _ := signin.NewClientID()
	began := time.Now()
	sess, err := c.Login(ctx, owner.Address(), owner.SignText, cid, signin.Head{})
	if err != nil {
		t.Fatal(err)
	}
	as := func(tok string) *api.Client {
		cl, _ := api.NewClient(base)
		return cl.WithCredentials(api.StaticToken(tok))
	}
	ownerC := as(sess.AccessToken)
	strangerC := as(loginToken(t, ctx, c, stranger))
	hubOwnerC := as(loginToken(t, ctx, c, hubOwner))

	// The flood: bad signatures (counted only) and verified refusals (a
	// message for another domain, signed: recorded), from many goroutines.
	const bad, verified = 2000, 200
	var wg sync.WaitGroup
	var mu sync.Mutex
	// Each verified refusal's record hash, for each second the hub's clock
	// can have read when it refused (between the request and its answer:
	// the record holds the hub's time, not the message's).
	var refusedHashes [][]string
	post := func(body any) int {
		b, _ := json.Marshal(body)
		resp, err := http.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Error(err)
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for g := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range bad / 10 {
				msg := fmt.Sprintf("junk %d/%d", g, i)
				if code := post(api.LoginRequest{Message: msg, Signature: "0x" + strings.Repeat("11", 64) + "1b", Client: strings.Repeat("cd", 16)}); code == http.StatusOK {
					t.Error("junk login accepted")
				}
			}
			for range verified / 10 {
				k := recordsTestKey(t)
				var n api.Nonce
				resp, err := http.Get(base + "/api/v1/auth/nonce")
				if err == nil {
					err = json.NewDecoder(resp.Body).Decode(&n)
					resp.Body.Close()
				}
				if err != nil {
					t.Error(err)
					return
				}
				now := time.Now().UTC()
				m := &signin.Message{Domain: "evil.example", Address: k.Address(), URI: "https://evil.example", Version: signin.SIWEVersion,
					ChainID: n.ChainID, Nonce: n.Nonce, IssuedAt: now.Format(time.RFC3339)}
				sig, _ := k.SignText([]byte(m.String()))
				rcid, _ := signin.NewClientID()
				if code := post(api.LoginRequest{Message: m.String(), Signature: sig.Hex(), Client: rcid.String()}); code != http.StatusUnauthorized {
					t.Errorf("wrong-domain login: %d", code)
				}
				var candidates []string
				for s := now.Unix(); s <= time.Now().Unix(); s++ {
					rr := &auth.RefusalRecord{Address: k.Address(), Client: rcid, Time: uint64(s), Message: keys.TextDigest([]byte(m.String())), Reason: auth.ReasonWrongDomain}
					candidates = append(candidates, rr.Hash().Hex())
				}
				mu.Lock()
				refusedHashes = append(refusedHashes, candidates)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	flooded := time.Since(began)

	// Wait for the batch holding the owner's enrollment to be committed.
	var p *api.LoginProof
	deadline := time.Now().Add(20 * interval)
	for {
		p, err = ownerC.LoginRecord(ctx, "0x"+sess.Head)
		if err == nil || time.Now().After(deadline) || api.CodeOf(err) != api.ErrConflict {
			break
		}
		time.Sleep(interval / 4)
	}
	if err != nil {
		t.Fatalf("owner's enrollment record: %v", err)
	}
	e := verifyProofView(t, ctx, ownerC, p, st.EVMChainID, h.Address())
	if e.Record == nil || e.Record.Kind != auth.KindEnroll || e.Hash().String() != sess.Head || e.Address() != owner.Address() {
		t.Fatalf("the proven record is not the owner's enrollment: %+v", e)
	}
	// Another address's record is not found, for a stranger; the hub's
	// owner sees it.
	if _, err := strangerC.LoginRecord(ctx, "0x"+sess.Head); api.CodeOf(err) != api.ErrNotFound {
		t.Fatalf("a stranger reads the owner's login record: %v", err)
	}
	if _, err := hubOwnerC.LoginRecord(ctx, "0x"+sess.Head); err != nil {
		t.Fatalf("the hub owner cannot read a login record: %v", err)
	}
	// Every verified refusal is provable (the hub owner reads them all),
	// and a junk hash is not found.
	provable := 0
	for _, candidates := range refusedHashes {
		var q *api.LoginProof
		var rh string
		// The second the hub refused in names the record: the other
		// candidates are unknown to it.
		for _, rh = range candidates {
			if q, err = hubOwnerC.LoginRecord(ctx, rh); api.CodeOf(err) != api.ErrNotFound {
				break
			}
		}
		for err != nil && api.CodeOf(err) == api.ErrConflict && time.Now().Before(deadline) {
			time.Sleep(interval / 4)
			q, err = hubOwnerC.LoginRecord(ctx, rh)
		}
		if err != nil {
			t.Fatalf("refusal %s (of candidates %q): %v", rh, candidates, err)
		}
		if e := verifyProofView(t, ctx, hubOwnerC, q, st.EVMChainID, h.Address()); e.Refusal == nil || e.Refusal.Reason != auth.ReasonWrongDomain {
			t.Fatalf("refusal %s proved as %+v", rh, e)
		}
		provable++
	}
	if _, err := hubOwnerC.LoginRecord(ctx, "0x"+strings.Repeat("ab", 32)); api.CodeOf(err) != api.ErrNotFound {
		t.Fatalf("junk hash: %v", err)
	}

	// Growth: at most one ledger transaction per interval elapsed (plus the
	// one in progress), whatever the flood; the junk is counted on it.
	elapsed := time.Since(began)
	head, err := h.node.App.LoginBatchHead(h.Address())
	if err != nil {
		t.Fatal(err)
	}
	var size, unverified uint64
	for seq := range head.Batches {
		b, err := h.node.App.LoginBatch(h.Address(), seq)
		if err != nil || b == nil {
			t.Fatalf("batch %d: %v", seq, err)
		}
		size += b.Msg.Size
		unverified += b.Msg.Unverified
	}
	maxBatches := uint64(elapsed/interval) + 2
	t.Logf("login flood: %d bad signatures + %d verified refusals + 3 logins in %s; over %s the ledger got %d LoginBatch transactions (bound %d: one per %s interval) committing %d records and counting %d unverified refusals; %d refusals proven",
		bad, verified, flooded.Round(time.Millisecond), elapsed.Round(time.Millisecond), head.Batches, maxBatches, interval, size, unverified, provable)
	if head.Batches == 0 || head.Batches > maxBatches {
		t.Fatalf("%d login batches in %s: the ledger grows with logins, not with time", head.Batches, elapsed)
	}
	if size < verified+3 || unverified < bad {
		t.Fatalf("batches hold %d records and %d unverified refusals; want ≥ %d and ≥ %d", size, unverified, verified+3, bad)
	}
}

// Past the login retention a committed batch's records are gone from the
// hub (the ledger keeps the root); within it they are provable.
func TestLoginRecordsRetention(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hub")
	if _, err := Init(Config{DataDir: dir}, ""); err != nil {
		t.Fatal(err)
	}
	h, err := Start(Config{DataDir: dir, HTTPAddr: "127.0.0.1:0", LinkAddr: "127.0.0.1:0", LoginInterval: time.Second, LoginRetention: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, _ := api.NewClient("http://" + h.Addr())
	k := recordsTestKey(t)
	cid, _ := signin.NewClientID()
	first, err := c.Login(ctx, k.Address(), k.SignText, cid, signin.Head{})
	if err != nil {
		t.Fatal(err)
	}
	head, _ := signin.ParseHead(first.Head)
	seen := false
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		// Keep logging in, so a fresh token always reads the first record.
		s, err := c.Login(ctx, k.Address(), k.SignText, cid, head)
		if err != nil {
			t.Fatal(err)
		}
		head, _ = signin.ParseHead(s.Head)
		cl, _ := api.NewClient("http://" + h.Addr())
		_, err = cl.WithCredentials(api.StaticToken(s.AccessToken)).LoginRecord(ctx, "0x"+first.Head)
		switch {
		case err == nil:
			seen = true
		case seen && api.CodeOf(err) == api.ErrNotFound:
			return // provable, then pruned
		case api.CodeOf(err) != api.ErrConflict:
			t.Fatalf("login record: %v", err)
		}
	}
	t.Fatalf("the first login record was never pruned (seen provable: %v)", seen)
}
