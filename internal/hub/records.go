package hub

import (
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/store"
)

// Paging of GET /devices/{camera}/records. Records are small (at most
// feedchain.MaxRecordSize bytes, twice that in hex), so a page may hold
// many more than the other lists: 5000 of them are under 2.6 MB, below
// api.MaxResponseBytes.
const (
	defaultRecordsLimit = 1000
	maxRecordsLimit     = 5000
)

// records serves the feed-chain records this hub stores for a camera, as
// the camera signed them (feedchain Marshal bytes). A client needs no trust
// in the hub for them: each is signed by the camera, and the tree rebuilt
// from them must match the camera-signed checkpoints on the ledger
// (camchain verify).
func (h *Hub) records(r *http.Request) (any, error) {
	p, err := h.devicePageQuery(r, defaultRecordsLimit, maxRecordsLimit)
	if err != nil {
		return nil, err
	}
	d, epoch, from, limit := p.dev, p.epoch, p.from, uint64(p.limit)
	out := api.RecordList{Camera: d.Camera.Hex(), Epoch: epoch, Stream: p.stream.String(), Items: []string{}}
	c, err := h.store.LookupStream(p.ref())
	if errors.Is(err, store.ErrNotFound) {
		return out, nil // nothing recorded in that epoch
	}
	if err != nil {
		return nil, err
	}
	n := c.Len()
	hist := historyFrom(r)
	for seq := from; seq < n; seq++ {
		if uint64(len(out.Items)) == limit {
			out.Next = strconv.FormatUint(seq, 10)
			break
		}
		rec, err := c.Record(seq)
		if err != nil {
			return nil, err
		}
		if rec.Start/1e9 < int64(hist) {
			continue // before the viewer's grant reaches back
		}
		out.Items = append(out.Items, "0x"+hex.EncodeToString(rec.Marshal()))
	}
	return out, nil
}
