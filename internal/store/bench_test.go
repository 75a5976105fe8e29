package store

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/store/layout"
)

// BenchmarkAppend stores 1 MiB segments with their records, fsyncs
// included: the MB/s a hub or an agent can durably record per chain.
// Signing is the camera's work and is done before the timer starts.
func BenchmarkAppend(b *testing.B) {
	const size = 1 << 20
	cam := newCamera(b, 1)
	data := segment(0, size)
	recs := make([]*feedchain.Record, b.N)
	for i := range recs {
		recs[i] = cam.next(b, data)
	}
	s := openStore(b, b.TempDir(), Options{})
	c := mustChain(b, s, cam)
	b.SetBytes(size)
	b.ResetTimer()
	for i := range b.N {
		if err := c.Append(recs[i], data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen measures loading a chain of 10,000 records: reading the
// log and verifying every signature (on all cores).
func BenchmarkOpen(b *testing.B) {
	const n = 10_000
	dir := b.TempDir()
	cam := newCamera(b, 1)
	s := openStore(b, dir, Options{})
	mustChain(b, s, cam)
	s.Close()
	log := layout.LogHeader()
	for i := range n {
		data := segment(uint64(i), 1)
		log = append(log, layout.AppendEntry(nil, cam.next(b, data).Marshal())...)
		os.WriteFile(filepath.Join(chainDir(dir, cam), layout.SegDirName, layout.SegName(uint64(i))), data, 0o644)
	}
	os.WriteFile(filepath.Join(chainDir(dir, cam), layout.LogName), log, 0o644)
	b.ResetTimer()
	for range b.N {
		s, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if c, err := s.Chain(cam.addr(), cam.epoch); err != nil || c.Len() != n {
			b.Fatal(err)
		}
		s.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/record")
}
