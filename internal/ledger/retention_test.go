package ledger

import (
	"strings"
	"testing"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// The retention policy of the hub's copy is the owner's alone, bounded,
// kept as a history per epoch with where each change landed, each change
// an audit event, and gone with the epoch at a reset.
func TestRetentionPolicy(t *testing.T) {
	h := newHarness(t)
	owner, stranger := h.key(), h.key()
	cam := h.imprint(owner)
	ret := func(by *keys.PrivateKey, epoch, days uint64) []byte {
		return h.sign(&tx.Retention{Camera: cam.Address(), Epoch: epoch, Days: days, Nonce: tx.NewNonce(), Expiry: h.expiry()}, by)
	}
	if r, err := h.app.RetentionNow(cam.Address(), 0); err != nil || r != nil {
		t.Fatalf("a policy before any was set: %+v, %v", r, err)
	}
	h.want(CodeUnauthorized, ret(stranger, 0, 7))
	h.want(CodeUnauthorized, ret(cam, 0, 7)) // not even the camera
	h.want(CodeUnauthorized, ret(h.hubs[0], 0, 7))
	h.want(CodeInvalid, ret(owner, 0, 0))
	h.want(CodeInvalid, ret(owner, 0, tx.MaxRetentionDays+1))
	h.want(CodeWrongEpoch, ret(owner, 1, 7))
	if r, _ := h.app.RetentionNow(cam.Address(), 0); r != nil {
		t.Fatalf("a refused policy was kept: %+v", r)
	}

	first := h.want(CodeOK, ret(owner, 0, 7))
	_ = first
	t7 := uint64(h.now.Unix())
	h.want(CodeOK, ret(owner, 0, 90))
	hist, err := h.app.Retention(cam.Address(), 0, 0, 10)
	if err != nil || len(hist) != 2 || hist[0].Days != 7 || hist[1].Days != 90 || hist[0].Time != t7 ||
		hist[0].Index != 0 || hist[1].Index != 1 || hist[0].Height >= hist[1].Height || hist[0].TxHash.IsZero() {
		t.Fatalf("history %+v, %v", hist, err)
	}
	if r, _ := h.app.RetentionNow(cam.Address(), 0); r == nil || r.Days != 90 {
		t.Fatalf("policy now %+v, want 90 days", r)
	}
	if page, _ := h.app.Retention(cam.Address(), 0, 1, 10); len(page) != 1 || page[0].Days != 90 {
		t.Fatalf("history from index 1: %+v", page)
	}

	// Each change is a ledger audit event of the camera, by the owner.
	evs, err := h.app.Events(EventFilter{Camera: cam.Address(), Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		if e.Kind == audit.Retention {
			if e.Actor != owner.Address() || e.Owner != owner.Address() || e.Kind.Source() != audit.SourceLedger {
				t.Errorf("retention event %+v", e)
			}
			got = append(got, e.Detail)
		}
	}
	if len(got) != 2 || !strings.Contains(got[0], "90 days") || !strings.Contains(got[1], "7 days") {
		t.Fatalf("retention events (newest first) %q", got)
	}
	// No hub can file one.
	h.want(CodeEncoding, h.sign(&tx.Audit{Hub: h.hubs[0].Address(), Camera: cam.Address(), Kind: audit.Retention,
		Detail: "hub keeps recordings 1 days", At: uint64(h.now.Unix()), Nonce: tx.NewNonce(), Expiry: h.expiry()}, h.hubs[0]))

	// A reset ends the epoch: the new one starts with no policy.
	h.want(CodeOK, h.sign(&tx.Reset{Camera: cam.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, cam))
	if r, _ := h.app.RetentionNow(cam.Address(), 1); r != nil {
		t.Fatalf("epoch 1 inherited %+v", r)
	}
	if r, _ := h.app.RetentionNow(cam.Address(), 0); r == nil || r.Days != 90 {
		t.Fatalf("epoch 0's history lost: %+v", r)
	}
}
