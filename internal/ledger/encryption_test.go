package ledger

import (
	"strings"
	"testing"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// The encryption policy is the owner's alone, off until set, kept as a
// history per epoch with the transaction of each change, each change an
// audit event, and gone with the epoch at a reset.
func TestEncryptionPolicy(t *testing.T) {
	h := newHarness(t)
	owner, stranger := h.key(), h.key()
	cam := h.imprint(owner)
	enc := func(by *keys.PrivateKey, epoch, on uint64) []byte {
		return h.sign(&tx.Encryption{Camera: cam.Address(), Epoch: epoch, On: on, Nonce: tx.NewNonce(), Expiry: h.expiry()}, by)
	}
	if r, err := h.app.EncryptionNow(cam.Address(), 0); err != nil || r != nil {
		t.Fatalf("a policy before any was set: %+v, %v", r, err)
	}
	h.want(CodeUnauthorized, enc(stranger, 0, 1))
	h.want(CodeUnauthorized, enc(cam, 0, 1)) // not even the camera
	h.want(CodeUnauthorized, enc(h.hubs[0], 0, 1))
	h.want(CodeEncoding, enc(owner, 0, 2))
	h.want(CodeWrongEpoch, enc(owner, 1, 1))
	if r, _ := h.app.EncryptionNow(cam.Address(), 0); r != nil {
		t.Fatalf("a refused policy was kept: %+v", r)
	}
	on := enc(owner, 0, 1)
	h.want(CodeOK, on)
	// The same signed transaction again is a replay.
	h.want(CodeReplay, on)
	h.want(CodeOK, enc(owner, 0, 0))
	h.want(CodeOK, enc(owner, 0, 1))
	hist, err := h.app.Encryption(cam.Address(), 0, 0, 10)
	if err != nil || len(hist) != 3 || !hist[0].On || hist[1].On || !hist[2].On || hist[0].Index != 0 || hist[2].Index != 2 ||
		hist[0].Height >= hist[1].Height || hist[0].TxHash.IsZero() {
		t.Fatalf("history %+v, %v", hist, err)
	}
	if r, _ := h.app.EncryptionNow(cam.Address(), 0); r == nil || !r.On {
		t.Fatalf("policy now %+v, want on", r)
	}
	evs, err := h.app.Events(EventFilter{Camera: cam.Address(), Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		if e.Kind == audit.Encryption {
			if e.Actor != owner.Address() || e.Owner != owner.Address() || e.Kind.Source() != audit.SourceLedger {
				t.Errorf("encryption event %+v", e)
			}
			got = append(got, e.Detail)
		}
	}
	if len(got) != 3 || !strings.HasSuffix(got[0], " on") || !strings.HasSuffix(got[1], " off") {
		t.Fatalf("encryption events (newest first) %q", got)
	}
	// No hub can file one.
	h.want(CodeEncoding, h.sign(&tx.Audit{Hub: h.hubs[0].Address(), Camera: cam.Address(), Kind: audit.Encryption,
		Detail: "end-to-end encryption off", At: uint64(h.now.Unix()), Nonce: tx.NewNonce(), Expiry: h.expiry()}, h.hubs[0]))
	h.want(CodeOK, h.sign(&tx.Reset{Camera: cam.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, cam))
	if r, _ := h.app.EncryptionNow(cam.Address(), 1); r != nil {
		t.Fatalf("epoch 1 inherited %+v", r)
	}
}
