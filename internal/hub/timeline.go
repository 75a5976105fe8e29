package hub

import (
	"errors"
	"net/http"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/store"
	clipverify "github.com/camchain/camchain/internal/verify"
)

// The timeline (GET /devices/{camera}/timeline): one stream's recordings
// in a time window as spans of one state, the gaps between them and the
// camera's alarms. It reads the chain's in-memory index (store.RangeTime)
// and the ledger, never the segment files or the records log, so a day of
// a 30-day store costs that day.
const (
	maxTimelineWindow   = 31 * 24 * time.Hour
	defaultTimelineSpan = 1000
	maxTimelineSpans    = 5000
	maxTimelineAlarms   = 500
	timelineEventBatch  = 500
)

// Segment states of a timeline span besides the integrity states.
const (
	spanPruned  = "pruned"
	spanMissing = "missing"
)

func (h *Hub) timeline(r *http.Request) (any, error) {
	d, err := h.lookupDevice(r)
	if err != nil {
		return nil, err
	}
	epoch, err := uintQuery(r, "epoch", d.Epoch)
	if err != nil {
		return nil, err
	}
	stream, err := streamQuery(r)
	if err != nil {
		return nil, err
	}
	limit, err := limitQueryOf(r, defaultTimelineSpan, maxTimelineSpans)
	if err != nil {
		return nil, err
	}
	from, to, err := timeWindow(r)
	if err != nil {
		return nil, err
	}
	hist := historyFrom(r)
	if h := time.Unix(int64(hist), 0); hist != 0 && from.Before(h) {
		from = h // before the viewer's grant reaches back
	}
	out := api.Timeline{Camera: d.Camera.Hex(), Epoch: epoch, Stream: stream.String(),
		From: from.UTC().Format(time.RFC3339Nano), To: to.UTC().Format(time.RFC3339Nano),
		Live: h.linkSrv.Live(d.Camera, stream), Spans: []api.TimelineSpan{}, Gaps: []api.TimelineGap{}, Alarms: []api.TimelineAlarm{}}
	if !to.After(from) {
		return out, nil
	}
	if out.Alarms, out.AlarmsTruncated, err = h.alarmsIn(d.Camera, from, to); err != nil {
		return nil, err
	}
	c, err := h.store.LookupStream(store.ChainRef{Camera: d.Camera, Epoch: epoch, Stream: stream})
	if errors.Is(err, store.ErrNotFound) {
		return out, nil // nothing recorded in that epoch
	}
	if err != nil {
		return nil, err
	}
	ix, err := h.integrityIndex(c)
	if err != nil {
		return nil, err
	}
	var (
		cur     *api.TimelineSpan
		curEnd  time.Time
		started bool
		prev    store.SegmentInfo
	)
	c.RangeTime(from, to, func(si store.SegmentInfo) bool {
		if si.Stream != stream || hist != 0 && si.Start.Unix() < int64(hist) {
			return true // another stream's record in an old main chain; or before the viewer's history
		}
		state, ck := ix.of(si.Seq)
		switch {
		case si.Pruned:
			state, ck = spanPruned, nil
		case si.Missing:
			state, ck = spanMissing, nil
		}
		end := si.Start.Add(si.Duration)
		gap := started && si.Start.Sub(prev.Start.Add(prev.Duration)) > clipverify.GapTolerance
		if gap {
			pe := prev.Start.Add(prev.Duration)
			out.Gaps = append(out.Gaps, api.TimelineGap{Start: pe.UTC().Format(time.RFC3339Nano), End: si.Start.UTC().Format(time.RFC3339Nano),
				Seconds: si.Start.Sub(pe).Seconds(), AfterSeq: prev.Seq, BeforeSeq: si.Seq})
		}
		if cur == nil || gap || cur.State != state || !sameCheckpoint(cur.Checkpoint, ck) {
			if len(out.Spans) == limit {
				next := si.Start
				if pe := prev.Start.Add(prev.Duration); pe.After(next) {
					next = pe
				}
				out.Next = next.UTC().Format(time.RFC3339Nano)
				return false
			}
			out.Spans = append(out.Spans, api.TimelineSpan{Start: si.Start.UTC().Format(time.RFC3339Nano), FirstSeq: si.Seq, State: state, Checkpoint: timelineCheckpoint(ck)})
			cur = &out.Spans[len(out.Spans)-1]
			curEnd = end
		}
		cur.LastSeq = si.Seq
		cur.Segments++
		cur.Bytes += si.Size
		cur.Seconds += si.Duration.Seconds()
		if end.After(curEnd) {
			curEnd = end
		}
		cur.End = curEnd.UTC().Format(time.RFC3339Nano)
		prev, started = si, true
		return true
	})
	return out, nil
}

// timelineCheckpoint is what a span says of the checkpoint that decided
// its state; nil for none (pending, pruned, missing).
func timelineCheckpoint(ck *ledger.CheckpointRecord) *api.TimelineCheckpoint {
	if ck == nil {
		return nil
	}
	return &api.TimelineCheckpoint{Index: ck.Index, Height: ck.Height, Time: rfc3339(ck.Time), TxHash: hexHash(ck.TxHash[:])}
}

// sameCheckpoint says whether a span's checkpoint is ck (both none, or the
// same index in the epoch).
func sameCheckpoint(have *api.TimelineCheckpoint, ck *ledger.CheckpointRecord) bool {
	if have == nil || ck == nil {
		return have == nil && ck == nil
	}
	return have.Index == ck.Index
}

// timeWindow parses the required from and to (RFC 3339), to after from
// and at most maxTimelineWindow later.
func timeWindow(r *http.Request) (from, to time.Time, err error) {
	q := r.URL.Query()
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		v := q.Get(t.name)
		if v == "" {
			return from, to, api.Errorf(api.ErrBadRequest, "%s is required: an RFC 3339 time (2026-12-02T00:00:00Z)", t.name)
		}
		if *t.dst, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return from, to, api.Errorf(api.ErrBadRequest, "%s=%q: want an RFC 3339 time (2026-12-02T00:00:00Z)", t.name, v)
		}
	}
	if !to.After(from) {
		return from, to, api.Errorf(api.ErrBadRequest, "to must be after from")
	}
	if to.Sub(from) > maxTimelineWindow {
		return from, to, api.Errorf(api.ErrBadRequest, "the window is %v; at most %v per request: page by time", to.Sub(from).Round(time.Second), maxTimelineWindow)
	}
	return from, to, nil
}

// alarmsIn returns the camera's alarms on the ledger with a block time in
// [from, to), oldest first, at most maxTimelineAlarms of them (the newest;
// truncated then says so).
func (h *Hub) alarmsIn(cam keys.Address, from, to time.Time) (out []api.TimelineAlarm, truncated bool, err error) {
	out = []api.TimelineAlarm{}
	var before uint64
	for {
		evs, err := h.node.App.Events(ledger.EventFilter{Camera: cam, Before: before, Limit: timelineEventBatch})
		if err != nil {
			return nil, false, err
		}
		for _, e := range evs { // newest first
			at := time.Unix(int64(e.Time), 0)
			if !at.Before(to) {
				continue
			}
			if at.Before(from) {
				return reverse(out), truncated, nil
			}
			if !e.Kind.IsAlarm() {
				continue
			}
			if len(out) == maxTimelineAlarms {
				return reverse(out), true, nil
			}
			out = append(out, api.TimelineAlarm{Time: rfc3339(e.Time), Kind: string(e.Kind), Detail: e.Detail, Seq: e.Seq, TxHash: hexHash(e.TxHash[:])})
		}
		if len(evs) < timelineEventBatch {
			return reverse(out), truncated, nil
		}
		before = evs[len(evs)-1].Seq
	}
}

func reverse[T any](s []T) []T {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
	return s
}
