package evidence_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/store/layout"
)

// The hub announces a bundle's length before it reads a segment (each is
// its record's size); a segment on its disk that no longer is its
// record's — altered in place, or truncated — stops the bundle midway, and
// the API client gets an error, never a short bundle. The intact stretch
// still exports.
func TestServedBundleBreaksOnABadSegment(t *testing.T) {
	f := shared(t)
	ctx := context.Background()
	cam, h, _, pin := freshCamera(t)
	if err := cam.Record(6, f.t0, 2*time.Second, 4000); err != nil {
		t.Fatal(err)
	}
	if err := cam.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	get := func(from, to time.Time) ([]byte, error) {
		return cam.Client.Evidence(ctx, cam.Key.Address().Hex(), api.EvidenceQuery{From: from, To: to, Epoch: -1}, evidence.MaxBundleBytes)
	}
	data, err := get(f.t0, f.t0.Add(12*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := evidence.VerifyBytes(data, evidence.Options{PinnedValidatorsHash: pin, Now: time.Now()}); err != nil || len(rep.Clips) != 6 {
		t.Fatalf("intact: %v", err)
	}
	seg := func(seq uint64) string {
		return filepath.Join(h.Store().Dir(), layout.ChainDir(cam.Key.Address(), 0, feedchain.StreamMain), layout.SegDirName, layout.SegName(seq))
	}
	b, err := os.ReadFile(seg(4))
	if err != nil {
		t.Fatal(err)
	}
	b[2000] ^= 0x40
	if err := os.WriteFile(seg(4), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(seg(2), 3000); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		from, to time.Time
	}{{"altered segment #4", f.t0.Add(6 * time.Second), f.t0.Add(12 * time.Second)}, {"truncated segment #2", f.t0, f.t0.Add(6 * time.Second)}} {
		got, err := get(c.from, c.to)
		if !errors.Is(err, io.ErrUnexpectedEOF) || got != nil {
			t.Errorf("%s: got %d bytes, err %v; want no bundle and an answer that ended early", c.name, len(got), err)
		}
	}
	if data, err := get(f.t0, f.t0.Add(4*time.Second)); err != nil {
		t.Fatalf("records #0–#1 are intact: %v", err)
	} else if rep, err := evidence.VerifyBytes(data, evidence.Options{PinnedValidatorsHash: pin, Now: time.Now()}); err != nil || len(rep.Clips) != 2 {
		t.Fatalf("records #0–#1: %v", err)
	}
}
