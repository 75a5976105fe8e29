package hub

import (
	"context"
	"encoding/json"
	"maps"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/verify/verifytest"
)

// TestTimeline: a stream recorded in two runs with a 30 s outage between
// them, the first run checkpointed and its three oldest segments pruned,
// and an alarm: the timeline shows exactly those spans, states, the gap
// and the alarm, in the documented shape; pages by time; a viewer sees
// nothing before its grant's history_from; the sub stream is its own.
func TestTimeline(t *testing.T) {
	start := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	histFrom := start.Add(60 * time.Second) // inside the second run
	a := startAuthzHub(t, func(now uint64) *tx.Grant { return &tx.Grant{HistoryFrom: uint64(histFrom.Unix())} })
	doc := loadOpenAPI(t)
	op := doc.operations(t)["GET /api/v1/devices/{camera}/timeline"]
	if op == nil {
		t.Fatal("GET /api/v1/devices/{camera}/timeline is not documented")
	}

	// seq 0..9 from start (2 s each, ending at +20 s); an outage to +50 s;
	// seq 10..19 from +50 s.
	chain := verifytest.NewChain(a.cam, 0)
	if err := chain.AppendRandom(10, 100, 1, start); err != nil {
		t.Fatal(err)
	}
	if err := chain.AppendRandom(10, 100, 2, start.Add(50*time.Second)); err != nil {
		t.Fatal(err)
	}
	sc, err := a.h.Store().Chain(a.cam.Address(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range chain.Records {
		if err := sc.Append(r, chain.Segments[i]); err != nil {
			t.Fatal(err)
		}
	}
	ck, err := chain.CheckpointMsg(0, 9, uint64(start.Unix()), uint64(start.Add(20*time.Second).Unix()))
	if err != nil {
		t.Fatal(err)
	}
	a.submit(t, ck, a.cam)
	// Retention deletes #0..#2 (they ended over an hour before "now").
	if _, err := sc.PruneOlder(start.Add(time.Hour+6*time.Second+1), time.Hour, 3, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.h.recordAlarm(a.cam.Address(), audit.StorageFull.Kind(), "card full", time.Now()); err != nil {
		t.Fatal(err)
	}

	camHex := a.cam.Address().Hex()
	get := func(tok string, q url.Values, want int) api.Timeline {
		t.Helper()
		m := checkCall(t, doc, op, "timeline", "GET", a.base+"/api/v1/devices/"+camHex+"/timeline?"+q.Encode(), "", tok, want)
		var tl api.Timeline
		b, _ := json.Marshal(m)
		if err := json.Unmarshal(b, &tl); err != nil {
			t.Fatal(err)
		}
		return tl
	}
	window := func(from, to time.Time) url.Values {
		return url.Values{"from": {from.Format(time.RFC3339Nano)}, "to": {to.Format(time.RFC3339Nano)}}
	}
	ts := func(d time.Duration) string { return start.Add(d).UTC().Format(time.RFC3339Nano) }
	type span struct {
		first, last uint64
		state       string
		start, end  string
	}
	spansOf := func(tl api.Timeline) []span {
		var out []span
		for _, s := range tl.Spans {
			if s.Segments != s.LastSeq-s.FirstSeq+1 || s.Bytes != 100*s.Segments || s.Seconds != 2*float64(s.Segments) {
				t.Errorf("span %+v: segments, bytes or seconds do not add up", s)
			}
			out = append(out, span{s.FirstSeq, s.LastSeq, s.State, s.Start, s.End})
		}
		return out
	}
	wantSpans := []span{
		{0, 2, spanPruned, ts(0), ts(6 * time.Second)},
		{3, 9, IntegrityVerified, ts(6 * time.Second), ts(20 * time.Second)},
		{10, 19, IntegrityPending, ts(50 * time.Second), ts(70 * time.Second)},
	}
	all := window(start.Add(-time.Minute), time.Now().Add(time.Minute))

	// The alarm reaches the ledger asynchronously.
	var tl api.Timeline
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		tl = get(a.ownerTok, all, 200)
		if len(tl.Alarms) > 0 || time.Now().After(deadline) {
			break
		}
	}
	if got := spansOf(tl); !equalSpans(got, wantSpans) {
		t.Errorf("spans\n got  %+v\n want %+v", got, wantSpans)
	}
	// The verified span names its checkpoint: the epoch's first, where
	// the ledger committed it; the others name none.
	cks, err := a.h.checkpointsOf(a.cam.Address(), 0, feedchain.StreamMain, 0, 10)
	if err != nil || len(cks) != 1 {
		t.Fatalf("checkpoints on the ledger: %v, %v", cks, err)
	}
	wantCk := api.TimelineCheckpoint{Index: 0, Height: cks[0].Height, Time: rfc3339(cks[0].Time), TxHash: hexHash(cks[0].TxHash[:])}
	for i, s := range tl.Spans {
		switch {
		case s.State == IntegrityVerified && (s.Checkpoint == nil || *s.Checkpoint != wantCk || wantCk.Height == 0 || wantCk.Time == ""):
			t.Errorf("span %d (verified): checkpoint %+v, want %+v", i, s.Checkpoint, wantCk)
		case s.State != IntegrityVerified && s.Checkpoint != nil:
			t.Errorf("span %d (%s): checkpoint %+v, want none", i, s.State, s.Checkpoint)
		}
	}
	if len(tl.Gaps) != 1 || tl.Gaps[0] != (api.TimelineGap{Start: ts(20 * time.Second), End: ts(50 * time.Second), Seconds: 30, AfterSeq: 9, BeforeSeq: 10}) {
		t.Errorf("gaps: %+v, want the 30 s outage after #9", tl.Gaps)
	}
	if len(tl.Alarms) != 1 || tl.Alarms[0].Kind != "camera/storage-full" || !strings.HasPrefix(tl.Alarms[0].Detail, "card full") || tl.Alarms[0].Seq == 0 {
		t.Errorf("alarms: %+v, want the storage-full alarm", tl.Alarms)
	}
	if tl.Stream != "main" || tl.Next != "" || tl.Live {
		t.Errorf("stream %q, next %q, live %v", tl.Stream, tl.Next, tl.Live)
	}

	// A window inside the outage holds nothing, and no alarm.
	if tl := get(a.ownerTok, window(start.Add(21*time.Second), start.Add(49*time.Second)), 200); len(tl.Spans)+len(tl.Gaps)+len(tl.Alarms) != 0 {
		t.Errorf("the outage's window: %+v", tl)
	}
	// One segment's window: the span is that segment alone.
	if got := spansOf(get(a.ownerTok, window(start.Add(51*time.Second), start.Add(52*time.Second)), 200)); !equalSpans(got, []span{{10, 10, IntegrityPending, ts(50 * time.Second), ts(52 * time.Second)}}) {
		t.Errorf("one segment's window: %+v", got)
	}

	// Paging, one span a page: the same spans, and the gap once.
	var paged []span
	gaps := 0
	q := maps.Clone(all)
	q.Set("limit", "1")
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("paging does not end")
		}
		p := get(a.ownerTok, q, 200)
		paged = append(paged, spansOf(p)...)
		gaps += len(p.Gaps)
		if p.Next == "" {
			break
		}
		q.Set("from", p.Next)
	}
	if !equalSpans(paged, wantSpans) || gaps != 1 {
		t.Errorf("paged spans %+v with %d gaps, want %+v and 1", paged, gaps, wantSpans)
	}

	// The viewer's grant reaches back to +60 s: #15.. only.
	v := get(a.viewerTok, all, 200)
	if got := spansOf(v); !equalSpans(got, []span{{15, 19, IntegrityPending, ts(60 * time.Second), ts(70 * time.Second)}}) || v.From != histFrom.UTC().Format(time.RFC3339Nano) {
		t.Errorf("viewer's timeline from %s: %+v", v.From, got)
	}
	get(a.strangerTok, all, 403)

	// The sub stream is its own chain: nothing recorded in it.
	sub := maps.Clone(all)
	sub.Set("stream", "sub")
	if s := get(a.ownerTok, sub, 200); s.Stream != "sub" || len(s.Spans) != 0 {
		t.Errorf("sub stream: %+v", s)
	}

	// Bad windows are refused, saying why.
	for _, bad := range []url.Values{
		{"from": {ts(0)}},
		{"to": {ts(0)}},
		{"from": {"yesterday"}, "to": {ts(0)}},
		window(start, start),
		window(start, start.Add(32*24*time.Hour)),
		{"from": {ts(0)}, "to": {ts(time.Minute)}, "stream": {"side"}},
		{"from": {ts(0)}, "to": {ts(time.Minute)}, "limit": {"0"}},
	} {
		get(a.ownerTok, bad, 400)
	}

	// A checkpoint of #10..#19 from another history (the same first ten
	// records, then other segments): the ledger takes it, the hub's records
	// do not match it, and the span says failed.
	other := verifytest.NewChain(a.cam, 0)
	for i := range 10 {
		r := chain.Records[i]
		if err := other.Append(chain.Segments[i], r.StartTime(), r.Duration, r.Codec); err != nil {
			t.Fatal(err)
		}
	}
	if err := other.AppendRandom(10, 100, 3, start.Add(50*time.Second)); err != nil {
		t.Fatal(err)
	}
	forged, err := other.CheckpointMsg(10, 19, uint64(start.Add(20*time.Second).Unix()), uint64(start.Add(70*time.Second).Unix()))
	if err != nil {
		t.Fatal(err)
	}
	a.submit(t, forged, a.cam)
	failed := get(a.ownerTok, all, 200)
	if got := spansOf(failed); len(got) != 3 || got[2].state != IntegrityFailed {
		t.Errorf("after a checkpoint the hub's records do not match: %+v, want the last span failed", got)
	} else if ck := failed.Spans[2].Checkpoint; ck == nil || ck.Index != 1 || ck.Height <= wantCk.Height {
		t.Errorf("the failed span's checkpoint: %+v, want the epoch's second, after block %d", ck, wantCk.Height)
	}

	// The Go client reads the same.
	c, _ := api.NewClient(a.base)
	c.WithCredentials(api.StaticToken(a.ownerTok))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ct, err := c.Timeline(ctx, camHex, api.TimelineOptions{From: start.Add(-time.Minute), To: time.Now().Add(time.Minute), Epoch: -1})
	if err != nil || len(ct.Spans) != 3 {
		t.Fatalf("client: %+v, %v", ct, err)
	}
}

func equalSpans[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
