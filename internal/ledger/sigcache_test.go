package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

func (h *harness) checkTx(raw []byte) uint32 {
	h.t.Helper()
	r, err := h.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: raw, Type: abci.CHECK_TX_TYPE_CHECK})
	if err != nil {
		h.t.Fatal(err)
	}
	return r.Code
}

// TestSignatureCache: what CheckTx admitted is recovered once and reused by
// the block, which then forgets it; only the exact bytes hit the cache, so
// a signature altered after admission is still refused; and the rules of
// CheckTx still run on every check (a recheck after a conflicting commit
// refuses and forgets).
func TestSignatureCache(t *testing.T) {
	h := newHarness(t)
	owner, cam := h.key(), h.key()
	imprint := h.sign(&tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Hub: h.hubs[0].Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner, cam)
	if c := h.checkTx(imprint); c != CodeOK {
		t.Fatalf("CheckTx: %s", CodeName(c))
	}
	if n := h.app.sigs.len(); n != 1 {
		t.Fatalf("cache holds %d entries after one admission", n)
	}
	// The same bytes with the owner's signature (the first of two 65-byte
	// byte strings at the end) altered: another hash, no cache hit, so the
	// signer is recovered afresh and is not the owner: refused.
	forged := append([]byte(nil), imprint...)
	forged[len(forged)-100] ^= 0x01
	res := h.block(forged, imprint)
	if res[0].Code == CodeOK {
		t.Fatal("a block accepted a signature altered after admission")
	}
	if res[1].Code != CodeOK {
		t.Fatalf("cached imprint in its block: %s %s", CodeName(res[1].Code), res[1].Log)
	}
	if d := h.device(cam); d == nil || d.Owner != owner.Address() {
		t.Fatalf("device after the block: %+v", d)
	}
	if n := h.app.sigs.len(); n != 0 {
		t.Fatalf("cache holds %d entries after the block executed them", n)
	}
	// Two imprints of one camera by two owners both pass CheckTx only if
	// the first is not yet in the check state; here the first is committed,
	// so the second is refused by the rules although its signatures are good.
	thief := h.key()
	second := h.sign(&tx.Imprint{Camera: cam.Address(), Owner: thief.Address(), Hub: h.hubs[0].Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, thief, cam)
	if c := h.checkTx(second); c == CodeOK {
		t.Fatal("CheckTx admitted an imprint of an owned camera")
	}
	if n := h.app.sigs.len(); n != 0 {
		t.Fatalf("a refused tx stayed in the cache (%d entries)", n)
	}
	// Admitted, then a conflicting commit: the recheck refuses and forgets.
	grant := h.sign(&tx.Grant{Camera: cam.Address(), Epoch: h.device(cam).Epoch, Viewer: h.key().Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner)
	if c := h.checkTx(grant); c != CodeOK {
		t.Fatalf("grant CheckTx: %s", CodeName(c))
	}
	h.want(CodeOK, h.sign(&tx.Reset{Camera: cam.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, cam))
	r, err := h.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: grant, Type: abci.CHECK_TX_TYPE_RECHECK})
	if err != nil || r.Code == CodeOK {
		t.Fatalf("recheck of a grant for a reset camera: %+v %v", r, err)
	}
	if n := h.app.sigs.len(); n != 0 {
		t.Fatalf("a tx refused by its recheck stayed in the cache (%d entries)", n)
	}
}

func TestSigCacheBounded(t *testing.T) {
	c := newSigCache(3)
	for i := range 10 {
		c.put(sha([]byte{byte(i)}), verifiedTx{})
	}
	if c.len() != 3 {
		t.Fatalf("cache of 3 holds %d", c.len())
	}
	for i := 7; i < 10; i++ {
		if _, ok := c.get(sha([]byte{byte(i)})); !ok {
			t.Fatalf("newest entry %d evicted", i)
		}
	}
}

// PreVerify caches what decoding and recovering the bytes gives, and
// nothing for bytes that do not decode or recover; CheckTx still applies
// every rule to a pre-verified transaction.
func TestPreVerify(t *testing.T) {
	h := newHarness(t)
	owner, stranger := h.key(), h.key()
	cam := h.imprint(owner)
	good := h.sign(&tx.SetPolicy{Camera: cam.Address(), CheckpointPeriod: 3600, Nonce: tx.NewNonce(), Expiry: h.expiry()}, owner)
	bad := h.sign(&tx.SetPolicy{Camera: cam.Address(), CheckpointPeriod: 3600, Nonce: tx.NewNonce(), Expiry: h.expiry()}, stranger)
	broken := append([]byte(nil), good...)
	broken[len(broken)-2] ^= 0xff // a signature byte
	for _, raw := range [][]byte{good, bad, broken, []byte("junk")} {
		h.app.PreVerify(raw)
	}
	if v, ok := h.app.sigs.get(sha(good)); !ok || v.signers[0] != owner.Address() {
		t.Fatalf("good: cached %v %+v", ok, v)
	}
	if _, ok := h.app.sigs.get(sha([]byte("junk"))); ok {
		t.Fatal("junk was cached")
	}
	if v, ok := h.app.sigs.get(sha(broken)); ok && v.signers[0] == owner.Address() {
		t.Fatal("a changed signature still recovers to the owner")
	}
	for _, c := range []struct {
		raw  []byte
		code uint32
	}{{good, CodeOK}, {bad, CodeUnauthorized}} {
		r, err := h.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: c.raw})
		if err != nil || r.Code != c.code {
			t.Fatalf("CheckTx: %s (%s) %v, want %s", CodeName(r.Code), r.Log, err, CodeName(c.code))
		}
	}
}

// TestBlockPreVerifyMatchesSequential: a block's signatures recovered on
// every core before execution (preVerifyBlock) give exactly the results
// and the app hash of the sequential path, whether the block's
// transactions were admitted by this node's CheckTx first or never seen
// here (a block from another validator, verified in full); a signature
// altered after a valid transaction was cached is refused with the code it
// gets without any cache.
func TestBlockPreVerifyMatchesSequential(t *testing.T) {
	base := newHarness(t)
	g, _ := json.Marshal(Genesis{Hubs: []string{base.hubs[0].Address().Hex(), base.hubs[1].Address().Hex()}})
	ledgers := []*harness{base}
	for _, sequential := range []bool{true, false} {
		h := &harness{t: t, db: dbm.NewMemDB(), now: base.now, hubs: base.hubs}
		h.open()
		h.app.sequential = sequential
		if _, err := h.app.InitChain(context.Background(), &abci.InitChainRequest{ChainId: testChain, AppStateBytes: g}); err != nil {
			t.Fatal(err)
		}
		ledgers = append(ledgers, h)
	}
	// ledgers[0]: CheckTx first, then the block; [1]: no pre-pass (the
	// sequential reference); [2]: the pre-pass over a block never checked.
	owner, stranger := base.key(), base.key()
	var imprints [][]byte
	var cams []*keys.PrivateKey
	for range 6 {
		cam := base.key()
		cams = append(cams, cam)
		imprints = append(imprints, base.sign(&tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Hub: base.hubs[0].Address(),
			Nonce: tx.NewNonce(), Expiry: base.expiry()}, owner, cam))
	}
	policy := func(cam *keys.PrivateKey, by *keys.PrivateKey) []byte {
		return base.sign(&tx.SetPolicy{Camera: cam.Address(), Epoch: 0, CheckpointPeriod: 7200, Nonce: tx.NewNonce(), Expiry: base.expiry()}, by)
	}
	good := policy(cams[0], owner)
	altered := bytes.Clone(good)
	altered[len(altered)-10] ^= 0x01 // a byte of s: recovers to someone else, or not at all
	badV := bytes.Clone(good)
	badV[len(badV)-1] = 29 // v must be 27 or 28
	block := [][]byte{
		good, altered, badV,
		policy(cams[1], owner), policy(cams[2], stranger), policy(cams[3], owner),
		[]byte("garbage"), good, // a replay of the first
		base.signFor(testChainID+1, &tx.SetPolicy{Camera: cams[4].Address(), CheckpointPeriod: 7200, Nonce: tx.NewNonce(), Expiry: base.expiry()}, owner),
		policy(cams[5], owner),
	}
	var want []*abci.ExecTxResult
	var wantHash []byte
	for i, h := range ledgers {
		h.block(imprints...)
		if i == 0 {
			for _, raw := range block {
				h.checkTx(raw) // the valid ones are cached
			}
			if _, ok := h.app.sigs.get(sha(good)); !ok {
				t.Fatal("CheckTx did not cache the valid policy")
			}
		}
		res := h.block(block...)
		if n := h.app.sigs.len(); n != 0 {
			t.Fatalf("ledger %d: %d cache entries after the block executed its transactions", i, n)
		}
		if i == 0 {
			want, wantHash = res, h.app.AppHash()
			continue
		}
		for j, r := range res {
			if r.Code != want[j].Code || r.Log != want[j].Log {
				t.Fatalf("ledger %d tx %d: %s %q, ledger 0 had %s %q", i, j, CodeName(r.Code), r.Log, CodeName(want[j].Code), want[j].Log)
			}
		}
		if !bytes.Equal(h.app.AppHash(), wantHash) {
			t.Fatalf("ledger %d: app hash %x, ledger 0 %x", i, h.app.AppHash(), wantHash)
		}
	}
	// The pre-pass itself: what recovers is cached under its exact bytes,
	// with the signer those bytes give; what does not is not cached.
	pre := ledgers[2].app
	pre.preVerifyBlock(block)
	if v, ok := pre.sigs.get(sha(good)); !ok || v.signers[0] != owner.Address() {
		t.Fatalf("pre-pass: the valid policy %v %+v", ok, v)
	}
	if v, ok := pre.sigs.get(sha(block[4])); !ok || v.signers[0] != stranger.Address() {
		t.Fatalf("pre-pass: the stranger's policy %v %+v", ok, v)
	}
	if v, ok := pre.sigs.get(sha(altered)); ok && v.signers[0] == owner.Address() {
		t.Fatal("pre-pass: an altered signature recovered to the owner")
	}
	for _, raw := range [][]byte{badV, []byte("garbage")} {
		if _, ok := pre.sigs.get(sha(raw)); ok {
			t.Fatalf("pre-pass cached %q", raw[:8])
		}
	}
	codes := []uint32{CodeOK, 0, CodeBadSignature, CodeOK, CodeUnauthorized, CodeOK, CodeEncoding, CodeReplay, CodeWrongChain, CodeOK}
	for j, c := range codes {
		if j == 1 {
			if want[j].Code != CodeBadSignature && want[j].Code != CodeUnauthorized {
				t.Fatalf("altered signature: %s %q", CodeName(want[j].Code), want[j].Log)
			}
			continue
		}
		if want[j].Code != c {
			t.Fatalf("tx %d: %s %q, want %s", j, CodeName(want[j].Code), want[j].Log, CodeName(c))
		}
	}
}
