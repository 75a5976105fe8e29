package retention

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/camchain/camchain/internal/feedchain"
)

func TestEmergencyDetailRoundTrip(t *testing.T) {
	d := EmergencyDetail(3, feedchain.StreamMain, 10, 25, 1000, 1<<30) + " (at 2026-12-02T19:00:00Z)"
	e, err := ParseEmergency(d)
	if err != nil || e.Epoch != 3 || e.Stream != feedchain.StreamMain || e.From != 10 || e.Below != 25 {
		t.Fatalf("ParseEmergency(%q) = %+v, %v", d, e, err)
	}
	if !e.Covers(3, feedchain.StreamMain, 10) || !e.Covers(3, feedchain.StreamMain, 24) || e.Covers(3, feedchain.StreamMain, 25) ||
		e.Covers(2, feedchain.StreamMain, 12) || e.Covers(3, feedchain.StreamSub, 12) {
		t.Fatal("Covers is wrong at an edge")
	}
	for _, bad := range []string{"", "epoch 3 stream main: seqs 9-8 deleted, x", "epoch 03 stream main: seqs 1-2 deleted, x",
		"epoch 3 stream side: seqs 1-2 deleted, x", "epoch 3 stream main: seqs 1-18446744073709551615 deleted, x",
		"epoch 3 stream main: seqs 1-2 deleted", "hub says epoch 3 stream main: seqs 1-2 deleted, x"} {
		if _, err := ParseEmergency(bad); err == nil {
			t.Errorf("ParseEmergency(%q) accepted", bad)
		}
	}
}

func emergencySeeds() map[string]string {
	return map[string]string{
		"valid":      EmergencyDetail(3, feedchain.StreamMain, 10, 25, 1000, 1<<30) + " (at 2026-12-02T19:00:00Z)",
		"valid-sub":  EmergencyDetail(0, feedchain.StreamSub, 0, 1, 0, 1),
		"reversed":   "epoch 3 stream main: seqs 9-8 deleted, x",
		"max":        "epoch 3 stream main: seqs 1-18446744073709551615 deleted, x",
		"overflow":   "epoch 99999999999999999999 stream main: seqs 1-2 deleted, x",
		"truncated":  "epoch 3 stream main: seqs 1-",
		"not-detail": "hub/pairing: camera paired",
	}
}

// TestEmergencyFuzzSeeds keeps testdata/fuzz/FuzzParseEmergency equal to
// emergencySeeds (regenerate with -update).
func TestEmergencyFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParseEmergency")
	for name, s := range emergencySeeds() {
		content := fmt.Sprintf("go test fuzz v1\nstring(%q)\n", s)
		p := filepath.Join(dir, name)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != content {
			t.Errorf("%s differs from its seed (regenerate with -update): %v", p, err)
		}
	}
}

func FuzzParseEmergency(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseEmergency(s)
		if err != nil {
			return
		}
		if e.Below <= e.From {
			t.Fatalf("%q: an empty or reversed range %d..%d accepted", s, e.From, e.Below)
		}
		again := EmergencyDetail(e.Epoch, e.Stream, e.From, e.Below, 0, 0)
		if !strings.HasPrefix(s, again[:strings.Index(again, "deleted, ")+len("deleted, ")]) {
			t.Fatalf("%q parsed as %+v, which writes %q", s, e, again)
		}
	})
}
