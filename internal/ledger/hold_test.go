package ledger

import (
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// A legal hold is the owner's alone: placed on a time range, numbered,
// released once by its number, each step an audit event; what is refused
// changes nothing; a hold survives the node's restart and stays with its
// epoch.
func TestLegalHold(t *testing.T) {
	h := newHarness(t)
	owner, stranger := h.key(), h.key()
	cam := h.imprint(owner)
	hold := func(by *keys.PrivateKey, epoch, from, until, release uint64) []byte {
		return h.sign(&tx.LegalHold{Camera: cam.Address(), Epoch: epoch, From: from, Until: until, Release: release,
			Nonce: tx.NewNonce(), Expiry: h.expiry()}, by)
	}
	const t1, t2 = 1_800_000_000, 1_800_003_600
	h.want(CodeUnauthorized, hold(stranger, 0, t1, t2, 0))
	h.want(CodeUnauthorized, hold(cam, 0, t1, t2, 0)) // not even the camera
	h.want(CodeUnauthorized, hold(h.hubs[0], 0, t1, t2, 0))
	h.want(CodeWrongEpoch, hold(owner, 1, t1, t2, 0))
	h.want(CodeInvalid, hold(owner, 0, t2, t1, 0))
	h.want(CodeInvalid, hold(owner, 0, t1, t1, 0))
	h.want(CodeNotFound, hold(owner, 0, 0, 0, 1)) // nothing to release yet
	if hs, err := h.app.Holds(cam.Address(), 0); err != nil || len(hs) != 0 {
		t.Fatalf("holds after refusals: %+v, %v", hs, err)
	}

	h.want(CodeOK, hold(owner, 0, t1, t2, 0))
	h.want(CodeOK, hold(owner, 0, t2+100, t2+200, 0))
	h.want(CodeUnauthorized, hold(stranger, 0, 0, 0, 1)) // a stranger cannot release it
	h.want(CodeInvalid, hold(owner, 0, t1, 0, 1))        // a release names only the hold
	h.want(CodeNotFound, hold(owner, 0, 0, 0, 3))
	h.want(CodeOK, hold(owner, 0, 0, 0, 1))
	h.want(CodeConflict, hold(owner, 0, 0, 0, 1)) // released once

	h.open() // the node restarts: the holds are state
	hs, err := h.app.Holds(cam.Address(), 0)
	if err != nil || len(hs) != 2 {
		t.Fatalf("holds %+v, %v", hs, err)
	}
	if a, b := hs[0], hs[1]; a.Number != 1 || a.From != t1 || a.Until != t2 || a.Active() || a.ReleasedHeight <= a.Height ||
		b.Number != 2 || !b.Active() || b.TxHash.IsZero() {
		t.Fatalf("holds %+v", hs)
	}
	in := time.Unix(t2+150, 0)
	if !hs[1].Covers(in, time.Second) || hs[1].Covers(time.Unix(t2+200, 0), time.Second) || !hs[1].Covers(time.Unix(t2+99, 0), 2*time.Second) ||
		hs[1].Covers(time.Unix(t2+98, 0), 2*time.Second) {
		t.Fatal("Covers: a recording overlaps [from, until)")
	}

	evs, err := h.app.Events(EventFilter{Camera: cam.Address(), Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		if e.Kind == audit.LegalHold {
			if e.Actor != owner.Address() || e.Kind.Source() != audit.SourceLedger {
				t.Errorf("legal-hold event %+v", e)
			}
			got = append(got, e.Detail)
		}
	}
	if len(got) != 3 || !strings.Contains(got[0], "hold 1 released") || !strings.Contains(got[1], "hold 2 placed") || !strings.Contains(got[2], "hold 1 placed") {
		t.Fatalf("legal-hold events (newest first) %q", got)
	}
	// No hub can file one.
	h.want(CodeEncoding, h.sign(&tx.Audit{Hub: h.hubs[0].Address(), Camera: cam.Address(), Kind: audit.LegalHold,
		Detail: "hold 2 released", At: uint64(h.now.Unix()), Nonce: tx.NewNonce(), Expiry: h.expiry()}, h.hubs[0]))

	// A reset ends the epoch: its holds stay with it, the new one has none.
	h.want(CodeOK, h.sign(&tx.Reset{Camera: cam.Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}, cam))
	if hs, _ := h.app.Holds(cam.Address(), 1); len(hs) != 0 {
		t.Fatalf("epoch 1 inherited %+v", hs)
	}
	if hs, _ := h.app.Holds(cam.Address(), 0); len(hs) != 2 {
		t.Fatalf("epoch 0's holds lost: %+v", hs)
	}
}
