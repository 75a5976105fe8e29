package agent

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/ingest"
	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/media"
)

// TestPartsFlag: --parts reaches an RTSP source; the built-in sample
// (paced segment by segment) and a part longer than the segment are
// refused with what to do.
func TestPartsFlag(t *testing.T) {
	var none func(feedchain.Stream, string)
	log := slog.New(slog.DiscardHandler)
	var cfg Config
	f := SourceFlags{Source: "rtsp://127.0.0.1:8554/cam", Segment: 2 * time.Second, Parts: 200 * time.Millisecond}
	if err := f.apply(&cfg, log, &none); err != nil {
		t.Fatal(err)
	}
	if s, ok := cfg.Source.(*ingest.Source); !ok || s.Parts != 200*time.Millisecond {
		t.Fatalf("source %#v: parts not set", cfg.Source)
	}
	for _, tc := range []struct {
		f    SourceFlags
		want string
	}{
		{SourceFlags{Source: SampleSourceName, Parts: time.Second}, "--parts needs an RTSP --source"},
		{SourceFlags{Source: "rtsp://127.0.0.1:8554/cam", Segment: 2 * time.Second, Parts: 3 * time.Second}, "part length 3s outside"},
	} {
		var cfg Config
		if err := tc.f.apply(&cfg, log, &none); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.f, err, tc.want)
		}
	}
}

// TestPartsAreSignedIntoTheChain: the agent signs each part of the open
// segment as part of the record after its head, chained to the part
// before it; a part whose predecessor did not go out is not sent; after a
// segment the card had no room for, no more parts of its sequence number
// go out (the next segment takes it).
func TestPartsAreSignedIntoTheChain(t *testing.T) {
	a, err := Open(Config{DataDir: t.TempDir(), Source: nopSource{}, MaxBytes: 4000})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	cam := a.Address()
	got := func() *link.LivePart {
		select {
		case lp := <-a.parts[feedchain.StreamMain]:
			return &lp
		default:
			return nil
		}
	}
	seg := bytes.Repeat([]byte{7}, 1500)
	a.part(feedchain.StreamMain, media.Part{Index: 0, Offset: 0, Data: seg[:1000], InitLen: 10})
	a.part(feedchain.StreamMain, media.Part{Index: 1, Offset: 1000, Data: seg[1000:]})
	p0, p1 := got(), got()
	if p0 == nil || p1 == nil {
		t.Fatal("parts not offered to the link")
	}
	for i, lp := range []*link.LivePart{p0, p1} {
		if err := feedchain.VerifyPart(lp.Part); err != nil {
			t.Fatal(err)
		}
		if err := feedchain.VerifyPartData(lp.Part, lp.Data); err != nil {
			t.Fatal(err)
		}
		if lp.Part.Seq != 0 || lp.Part.Index != uint32(i) {
			t.Fatalf("part %d: of record %d index %d", i, lp.Part.Seq, lp.Part.Index)
		}
	}
	if err := feedchain.VerifyPartNext(cam, 0, feedchain.StreamMain, feedchain.Head{}, p0.Part, p1.Part); err != nil {
		t.Fatal(err)
	}
	a.part(feedchain.StreamMain, media.Part{Index: 3, Offset: 3000, Data: seg[:10]})
	if lp := got(); lp != nil {
		t.Fatalf("part 3 after part 1 went out: %+v", lp.Part)
	}
	// The segment is recorded: the next part 0 is of record 1, after it.
	if err := a.record(feedchain.StreamMain, media.Segment{Data: seg, Start: time.Now(), Duration: 2 * time.Second, Codec: "avc1.4d401e"}); err != nil {
		t.Fatal(err)
	}
	head := a.Chain().Head()
	a.part(feedchain.StreamMain, media.Part{Index: 0, Data: seg[:100]})
	if lp := got(); lp == nil || lp.Part.Seq != 1 || lp.Part.Prev != head.Hash {
		t.Fatalf("part 0 after record 0: %+v", lp)
	}
	// The card is full (4000 bytes, nothing acknowledged): the segment is
	// dropped, and its sequence number gets no more parts.
	if err := a.record(feedchain.StreamMain, media.Segment{Data: bytes.Repeat([]byte{8}, 3000), Start: time.Now(), Duration: 2 * time.Second, Codec: "avc1.4d401e"}); err != nil {
		t.Fatal(err)
	}
	if a.Chain().Head() != head {
		t.Fatal("a segment over the budget was stored")
	}
	a.part(feedchain.StreamMain, media.Part{Index: 0, Data: seg[:100]})
	if lp := got(); lp != nil {
		t.Fatalf("a part of the dropped segment's sequence number went out: %+v", lp.Part)
	}
}
