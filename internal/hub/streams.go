package hub

import (
	"net/http"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/store"
)

// Each of a camera's streams is its own chain (SPEC §6.5): the per-camera
// lists (records, recordings, checkpoints, evidence) take ?stream=main|sub,
// main by default, and address the chain store.ChainRef names.

// streamQuery reads ?stream=: "main" (the default) or "sub".
func streamQuery(r *http.Request) (feedchain.Stream, error) {
	v := r.URL.Query().Get("stream")
	if v == "" {
		return feedchain.StreamMain, nil
	}
	s, err := feedchain.ParseStream(v)
	if err != nil {
		return 0, api.Errorf(api.ErrBadRequest, "stream=%q: want main or sub", v)
	}
	return s, nil
}

// ref is the chain a device page addresses.
func (p *devicePage) ref() store.ChainRef {
	return store.ChainRef{Camera: p.dev.Camera, Epoch: p.epoch, Stream: p.stream}
}

// checkpointsOf returns the ledger's checkpoints of one stream's chain,
// oldest first, from index from, at most limit.
func (h *Hub) checkpointsOf(cam keys.Address, epoch uint64, stream feedchain.Stream, from uint64, limit int) ([]ledger.CheckpointRecord, error) {
	return h.node.App.StreamCheckpoints(cam, epoch, stream, from, limit)
}

// subCheckpointsSummary is the Device view's summary of the sub stream's
// checkpoints in the camera's epoch; nil when it has none.
func (h *Hub) subCheckpointsSummary(d *ledger.Device) (*api.CheckpointsSummary, error) {
	st, err := h.node.App.StreamHead(d.Camera, d.Epoch, feedchain.StreamSub)
	if err != nil || st.Checkpoints == 0 {
		return nil, err
	}
	return &api.CheckpointsSummary{Count: st.Checkpoints, LastSeq: st.LastSeq, LastPeriodEnd: rfc3339(st.LastPeriodEnd)}, nil
}
