package ledger

import (
	"crypto/rand"
	"testing"

	dbm "github.com/cometbft/cometbft-db"

	"github.com/camchain/camchain/internal/tx"
)

// TestNonceFilterNoFalseNo: every key added, and every nonce entry of the
// database it was rebuilt from, is "maybe"; of keys never added, about
// 1 % are.
func TestNonceFilterNoFalseNo(t *testing.T) {
	f := newNonceFilter(0)
	key := func() []byte {
		b := make([]byte, 28)
		rand.Read(b)
		return cat(prefixNonce, b)
	}
	var added [][]byte
	for range 70_000 { // past its size: fuller, never a false "no"
		k := key()
		f.add(k)
		added = append(added, k)
	}
	for _, k := range added {
		if !f.mayContain(k) {
			t.Fatal("an added key is not in the filter")
		}
	}
	if !f.full() {
		t.Fatal("70,000 keys in a filter sized for 65,536 is not full")
	}
	db := dbm.NewMemDB()
	for _, k := range added[:1000] {
		mustSet(t, db, k, []byte{1})
	}
	mustSet(t, db, nonceExpKey(1, [20]byte{}, 1), []byte{}) // not a nonce entry
	if err := f.rebuild(db); err != nil {
		t.Fatal(err)
	}
	if f.full() {
		t.Fatal("full after a rebuild")
	}
	for _, k := range added[:1000] {
		if !f.mayContain(k) {
			t.Fatal("a nonce entry of the database is not in the rebuilt filter")
		}
	}
	fp := 0
	for range 20_000 {
		if f.mayContain(key()) {
			fp++
		}
	}
	if fp > 600 { // 3 %
		t.Fatalf("%d of 20,000 keys never added are in the filter", fp)
	}
}

// TestReplayRefusedThroughNonceFilter: a spent nonce is refused by CheckTx
// and by a block, in the block after it, after a restart (the filter
// loaded from the database) and after the filter is rebuilt at a commit.
func TestReplayRefusedThroughNonceFilter(t *testing.T) {
	h, owner, cam := stateHarnessKeys(t)
	d := h.device(cam)
	policy := func(nonce, period uint64) []byte {
		return h.sign(&tx.SetPolicy{Camera: d.Camera, Epoch: d.Epoch, CheckpointPeriod: period, Nonce: nonce, Expiry: h.expiry()}, owner)
	}
	spent := policy(7, 3600)
	h.want(CodeOK, spent)
	again := policy(7, 3601) // the same nonce, another transaction
	check := func(when string) {
		t.Helper()
		if c := h.checkTx(spent); c != CodeReplay {
			t.Fatalf("%s: CheckTx of the spent tx: %s", when, CodeName(c))
		}
		if c := h.checkTx(again); c != CodeReplay {
			t.Fatalf("%s: CheckTx of another tx with the spent nonce: %s", when, CodeName(c))
		}
		h.want(CodeReplay, spent)
	}
	check("next block")
	h.flush()
	h.open()
	check("after a restart")
	h.app.nonces.max = 1 // the next commit rebuilds it
	h.want(CodeOK, policy(8, 3600))
	if h.app.nonces.full() {
		t.Fatal("the commit did not rebuild the full filter")
	}
	check("after a rebuild")
	if c := h.checkTx(policy(9, 3600)); c != CodeOK {
		t.Fatalf("a fresh nonce: %s", CodeName(c))
	}
}
