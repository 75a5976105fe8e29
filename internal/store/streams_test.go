package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/store/layout"
)

// Each stream of a camera is its own chain: its own directory
// (<camera>/<epoch>.sub), sequence numbers and hash links; the main
// stream's is the directory every store had. A record of one stream is
// refused by another's chain, and the listing names each chain's stream.
func TestEachStreamIsItsOwnChain(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	main := newCamera(t, 2)
	sub := &camera{k: main.k, epoch: 2, every: main.every, stream: feedchain.StreamSub}
	mc := mustChain(t, s, main)
	sc, err := s.StreamChain(ChainRef{Camera: main.addr(), Epoch: 2, Stream: feedchain.StreamSub})
	if err != nil {
		t.Fatal(err)
	}
	if mc == sc {
		t.Fatal("the main and sub streams share a *Chain")
	}
	appendN(t, mc, main, 3, 100)
	subRecs, _ := appendN(t, sc, sub, 5, 40)
	if mc.Len() != 3 || sc.Len() != 5 {
		t.Fatalf("lengths main %d sub %d, want 3 and 5", mc.Len(), sc.Len())
	}
	if _, err := os.Stat(filepath.Join(dir, mc.ID().dirName(), "seg", "0000000000000002.mp4")); err != nil {
		t.Fatal(err)
	}
	subDir := filepath.Join(dir, filepath.Base(filepath.Dir(filepath.Join(dir, mc.ID().dirName()))), "2.sub")
	if _, err := os.Stat(filepath.Join(subDir, "seg", "0000000000000004.mp4")); err != nil {
		t.Fatalf("the sub stream's segment 4 is not under <camera>/2.sub: %v", err)
	}
	si, _ := sc.Info(4)
	if si.Stream != feedchain.StreamSub || si.Clock != feedchain.ClockRTCP {
		t.Fatalf("sub segment info says stream %v clock %v", si.Stream, si.Clock)
	}
	if mi, _ := mc.Info(0); mi.Stream != feedchain.StreamMain || mi.Clock != feedchain.ClockUnknown {
		t.Fatalf("main (v1) segment info says stream %v clock %v", mi.Stream, mi.Clock)
	}

	// A sub record does not extend the main chain, even at the right seq
	// with the right prev, and a main record does not extend the sub one.
	wrong := *subRecs[0]
	wrong.Seq, wrong.Prev = 3, mc.Head().Hash
	if err := wrong.Sign(main.k); err != nil {
		t.Fatal(err)
	}
	var le *feedchain.LinkError
	if err := mc.Append(&wrong, segment(0, 40)); !errors.As(err, &le) || le.Field != "stream" {
		t.Fatalf("main chain took a sub record: %v", err)
	}
	mrec := main.unsigned(segment(9, 10))
	mrec.Seq, mrec.Prev = 5, sc.Head().Hash
	if err := mrec.Sign(main.k); err != nil {
		t.Fatal(err)
	}
	if err := sc.Append(mrec, segment(9, 10)); !errors.As(err, &le) || le.Field != "stream" {
		t.Fatalf("sub chain took a main record: %v", err)
	}

	ids, err := s.Chains()
	want := []ChainRef{Main(main.addr(), 2), {Camera: main.addr(), Epoch: 2, Stream: feedchain.StreamSub}}
	if err != nil || len(ids) != 2 || ids[0] != want[0] || ids[1] != want[1] {
		t.Fatalf("Chains() = %v, %v; want %v", ids, err, want)
	}
	if _, err := s.LookupStream(ChainRef{Camera: main.addr(), Epoch: 2, Stream: 7}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an unknown stream: %v", err)
	}

	// Both survive a reopen, each verified on its own.
	s.Close()
	s = openStore(t, dir, Options{})
	sc2, err := s.LookupStream(ChainRef{Camera: main.addr(), Epoch: 2, Stream: feedchain.StreamSub})
	if err != nil || sc2.Len() != 5 || sc2.Head() != sub.head {
		t.Fatalf("reopened sub chain: %v, head %v want %v", err, sc2.Head(), sub.head)
	}
	mc2, err := s.Lookup(main.addr(), 2)
	if err != nil || mc2.Len() != 3 || mc2.Head() != main.head {
		t.Fatalf("reopened main chain: %v", err)
	}
}

// A main chain written before each stream had its own chain may hold sub
// records interleaved with the main ones: it still opens whole.
func TestAnInterleavedMainChainStillOpens(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	cam := newCamera(t, 0)
	c := mustChain(t, s, cam)
	appendN(t, c, cam, 2, 30)
	// What an older agent appended with --sub-source: write it as that
	// agent's store did (the log), bypassing today's Append check.
	cam.stream = feedchain.StreamSub
	r := cam.next(t, segment(2, 20))
	if err := os.WriteFile(c.segPath(2), segment(2, 20), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(c.logPath(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(layout.AppendEntry(nil, r.Marshal())); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s.Close()
	s = openStore(t, dir, Options{})
	c = mustChain(t, s, cam)
	if c.Len() != 3 || c.Head() != cam.head {
		t.Fatalf("interleaved main chain reopened with %d records, head %v", c.Len(), c.Head())
	}
	if si, _ := c.Info(2); si.Stream != feedchain.StreamSub {
		t.Fatalf("record 2's stream %v", si.Stream)
	}
}
