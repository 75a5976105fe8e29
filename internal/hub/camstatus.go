package hub

import (
	"errors"
	"net/http"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/store"
)

// recordingFresh: a camera counts as recording while its latest segment
// ended this recently (segments are about 2 s; a few may be in flight).
const recordingFresh = 30 * time.Second

// lastSegmentEnd is when the chain's newest segment ended.
func lastSegmentEnd(c *store.Chain) (time.Time, bool) {
	head := c.Head()
	if !head.Valid {
		return time.Time{}, false
	}
	si, ok := c.Info(head.Seq)
	if !ok {
		return time.Time{}, false
	}
	return si.Start.Add(si.Duration), true
}

// recording: the camera is connected and its newest segment is fresh.
func recording(online bool, lastEnd time.Time) bool {
	return online && time.Since(lastEnd) < recordingFresh
}

// cameraStatus is GET /devices/{camera}/status: link state, the hub's
// chain head, the ledger's latest checkpoint and policy, the hub's
// retention and, for the owner, the recent alarms.
func (h *Hub) cameraStatus(r *http.Request) (any, error) {
	d, err := h.lookupDevice(r)
	if err != nil {
		return nil, err
	}
	keep, policy, err := h.retentionPolicy(d.Camera, d.Epoch)
	if err != nil {
		return nil, err
	}
	enc, err := h.node.App.EncryptionNow(d.Camera, d.Epoch)
	if err != nil {
		return nil, err
	}
	out := api.CameraStatus{Camera: d.Camera.Hex(), Epoch: d.Epoch, CheckpointPeriod: d.Period(),
		RetentionSeconds: uint64(keep / time.Second), RetentionPolicy: policy, Encryption: enc != nil && enc.On}
	for _, c := range h.linkSrv.LiveCameras() {
		if c == d.Camera {
			out.Online = true
		}
	}
	c, err := h.store.Lookup(d.Camera, d.Epoch)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		if head := c.Head(); head.Valid {
			seq := head.Seq
			out.HeadSeq, out.HeadHash = &seq, hexHash(head.Hash[:])
			if rec, err := c.Record(seq); err == nil {
				out.Codec = rec.Codec
			}
			if end, ok := lastSegmentEnd(c); ok {
				out.LastSegmentEnd = end.UTC().Format(time.RFC3339)
				out.Recording = recording(out.Online, end)
			}
		}
	}
	if d.Checkpoints > 0 {
		cks, err := h.node.App.Checkpoints(d.Camera, d.Epoch, d.Checkpoints-1, 1)
		if err != nil {
			return nil, err
		}
		if len(cks) == 1 && cks[0].Msg.PeriodEnd > historyFrom(r) {
			v := checkpointView(cks[0])
			out.LastCheckpoint = &v
		}
	}
	for _, st := range feedchain.Streams() {
		sc, err := h.store.LookupStream(store.ChainRef{Camera: d.Camera, Epoch: d.Epoch, Stream: st})
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return nil, err
		case sc.Head().Valid:
			out.Streams = append(out.Streams, st.String())
		}
	}
	if a := accessOf(r); a != nil && a.owner {
		evs, err := h.node.App.Events(ledger.EventFilter{Camera: d.Camera, Limit: api.AlarmWindow})
		if err != nil {
			return nil, err
		}
		sum := &api.AlarmSummary{}
		for _, e := range evs { // newest first
			if !e.Kind.IsAlarm() {
				continue
			}
			if sum.Count == 0 {
				sum.LastKind, sum.LastTime = string(e.Kind), rfc3339(e.Time)
			}
			sum.Count++
		}
		out.Alarms = sum
	}
	return out, nil
}

// checkpointView is a ledger checkpoint as the API shows it.
func checkpointView(c ledger.CheckpointRecord) api.Checkpoint {
	m := c.Msg
	return api.Checkpoint{
		Camera: m.Camera.Hex(), Epoch: m.Epoch, Index: c.Index,
		PeriodStart: rfc3339(m.PeriodStart), PeriodEnd: rfc3339(m.PeriodEnd),
		FirstSeq: m.FirstSeq, LastSeq: m.LastSeq, TreeSize: m.TreeSize, PrevTreeLen: c.PrevTreeLen,
		Root: hexHash(m.Root[:]), ChainHead: hexHash(m.ChainHead[:]),
		Height: c.Height, Time: rfc3339(c.Time), TxHash: hexHash(c.TxHash[:]),
	}
}
