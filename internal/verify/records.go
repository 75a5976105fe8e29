package verify

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/camchain/camchain/internal/feedchain"
)

// recordsPerWorker is the fewest records checkRecords gives a goroutine.
const recordsPerWorker = 32

// record is what Verify works out about one record.
type record struct {
	r    *feedchain.Record
	hash feedchain.Hash
	bad  string // why the record is not this camera's; "" if it is well formed and signed

	status Status
	detail string
	cite   *CheckpointRef
}

// checkRecords hashes every record and checks that it is well formed,
// names this camera, epoch and its position as seq, and is signed by the
// camera, on every core (a signature check costs about 35 µs).
func checkRecords(in Input) []record {
	recs := make([]record, len(in.Records))
	check := func(i int) {
		r := in.Records[i]
		rec := &recs[i]
		rec.r, rec.hash = r, r.Hash()
		switch {
		case r.Camera != in.Camera:
			rec.bad = fmt.Sprintf("record names camera %s, not this camera %s", r.Camera.Hex(), in.Camera.Hex())
		case r.Epoch != in.Epoch:
			rec.bad = fmt.Sprintf("record names epoch %d, not %d", r.Epoch, in.Epoch)
		case in.Stream != feedchain.StreamMain && r.Stream != in.Stream:
			rec.bad = fmt.Sprintf("record is of the %s stream, not of this chain's %s stream", r.Stream, in.Stream)
		case r.Seq != uint64(i):
			rec.bad = fmt.Sprintf("entry %d of the log holds a record with seq %d", i, r.Seq)
		default:
			if err := feedchain.Verify(r); err != nil {
				rec.bad = fmt.Sprintf("not signed by this camera: %v", err)
			}
		}
	}
	// A goroutine per 32 records at least (about 1 ms of signature checks):
	// an hour of 2 s segments (1,800 records) already uses every core.
	workers := min(runtime.GOMAXPROCS(0), (len(recs)+recordsPerWorker-1)/recordsPerWorker)
	if workers <= 1 {
		for i := range recs {
			check(i)
		}
		return recs
	}
	var wg sync.WaitGroup
	per := (len(recs) + workers - 1) / workers
	for w := range workers {
		lo, hi := w*per, min((w+1)*per, len(recs))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				check(i)
			}
		})
	}
	wg.Wait()
	return recs
}
