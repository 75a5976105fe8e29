package evidence_test

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/evidence"
)

// Verify checks a bundle's clips on every core: the report is the one of
// the checks run one after another, and of several bad clips the first is
// named, wherever the others fall in the work.
func TestParallelClipChecksMatchSequential(t *testing.T) {
	f := shared(t)
	ctx := context.Background()
	cam, _, _, pin := freshCamera(t)
	const n = 600 // ten batches of 64 and a short one
	if err := cam.Record(n, f.t0, time.Second, 200); err != nil {
		t.Fatal(err)
	}
	if err := cam.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	data, err := cam.Export(ctx, f.t0, f.t0.Add(n*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	opts := evidence.Options{PinnedValidatorsHash: pin, Now: time.Now()}
	procs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(procs)
	verify := func(p int, data []byte) (*evidence.Report, error) {
		runtime.GOMAXPROCS(p)
		defer runtime.GOMAXPROCS(procs)
		return evidence.VerifyBytes(data, opts)
	}
	one, err := verify(1, data)
	if err != nil {
		t.Fatal(err)
	}
	many, err := verify(8, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(many.Clips) != n || !reflect.DeepEqual(one, many) {
		t.Fatalf("8 goroutines' report differs from one's (%d clips)", len(many.Clips))
	}
	for i, c := range many.Clips {
		if c.Seq != uint64(i) {
			t.Fatalf("clip %d reports seq %d", i, c.Seq)
		}
	}
	for _, bad := range [][]int{{599}, {590, 70}, {3, 64, 599}, {128, 129}} {
		tampered := mutate(t, data, func(b *evidence.Bundle) {
			for _, i := range bad {
				b.Clips[i].Segment[100] ^= 1
			}
		})
		first := slices.Min(bad)
		for _, p := range []int{1, 8} {
			_, err := verify(p, tampered)
			var ce *evidence.ClipError
			if !errors.As(err, &ce) || !errors.Is(err, evidence.ErrSegment) || ce.Index != first {
				t.Errorf("clips %v flipped, %d goroutines: got %v, want clip %d's segment error", bad, p, err, first)
			}
		}
	}
}
