package evidence_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/ledger"
)

// TestExportIsAudited: every bundle the hub serves in full is a ledger
// audit event naming who exported it and the SHA-256 of the exact bytes
// they received (chain of custody).
func TestExportIsAudited(t *testing.T) {
	f := shared(t)
	data, err := f.cam.Export(context.Background(), f.t0, f.t0.Add(4*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	want := fmt.Sprintf("bundle sha256 %x, %d bytes", sum, len(data))
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs, err := f.hub.Node().App.Events(ledger.EventFilter{Camera: f.cam.Key.Address(), Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Kind == audit.EvidenceExport && strings.HasPrefix(e.Detail, want) {
				if e.Subject != f.cam.Owner.Address() || e.Hub != f.hub.Address() {
					t.Fatalf("export event by %s, filed by %s: want the owner %s, filed by the hub", e.Subject.Hex(), e.Hub.Hex(), f.cam.Owner.Address().Hex())
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s event with %q; events: %+v", audit.EvidenceExport, want, evs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
