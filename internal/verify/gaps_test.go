package verify

import (
	"testing"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
)

func TestFindGaps(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	rec := func(seq uint64, stream feedchain.Stream, start time.Duration) *feedchain.Record {
		return &feedchain.Record{Seq: seq, Stream: stream, Start: t0.Add(start).UnixNano(), Duration: time.Second}
	}
	recs := []*feedchain.Record{
		rec(0, feedchain.StreamMain, 0),
		rec(1, feedchain.StreamSub, 0),
		rec(2, feedchain.StreamMain, time.Second+100*time.Millisecond), // a clock step: no gap
		rec(3, feedchain.StreamSub, time.Second),
		rec(4, feedchain.StreamMain, 5*time.Second), // the camera was away 2.9 s
		rec(5, feedchain.StreamSub, 5*time.Second),  // and the sub stream 3 s
	}
	gaps := FindGaps(recs)
	if len(gaps) != 2 {
		t.Fatalf("gaps %v", gaps)
	}
	if g := gaps[0]; g.Stream != "main" || g.AfterSeq != 2 || g.BeforeSeq != 4 || g.Length != 2900*time.Millisecond {
		t.Errorf("main gap %+v", g)
	}
	if g := gaps[1]; g.Stream != "sub" || g.AfterSeq != 3 || g.BeforeSeq != 5 || g.Length != 3*time.Second {
		t.Errorf("sub gap %+v", g)
	}
	if len(FindGaps(recs[:4])) != 0 {
		t.Error("a gap without an outage")
	}
}
