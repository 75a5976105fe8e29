package api

import (
	"context"
	"net/http"
	"net/url"
)

// Each of a camera's streams is its own chain (SPEC §6.5). These are the
// per-camera lists of one stream's chain: stream "main" (or "") or "sub";
// Records, Recordings and Checkpoints are the main stream's.

// StreamRecords is Records of the camera's stream.
func (c *Client) StreamRecords(ctx context.Context, camera, stream string, epoch int64, from uint64, limit int) (*RecordList, error) {
	var r RecordList
	return &r, c.do(ctx, http.MethodGet, "/devices/"+url.PathEscape(camera)+"/records", streamPage(stream, epoch, from, limit), nil, &r)
}

// StreamRecordings is Recordings of the camera's stream.
func (c *Client) StreamRecordings(ctx context.Context, camera, stream string, epoch int64, from uint64, limit int) (*Recordings, error) {
	var r Recordings
	return &r, c.do(ctx, http.MethodGet, "/devices/"+url.PathEscape(camera)+"/recordings", streamPage(stream, epoch, from, limit), nil, &r)
}

// StreamCheckpoints is Checkpoints of the camera's stream.
func (c *Client) StreamCheckpoints(ctx context.Context, camera, stream string, epoch int64, from uint64, limit int) (List[Checkpoint], error) {
	var l List[Checkpoint]
	return l, c.do(ctx, http.MethodGet, "/devices/"+url.PathEscape(camera)+"/checkpoints", streamPage(stream, epoch, from, limit), nil, &l)
}

func streamPage(stream string, epoch int64, from uint64, limit int) url.Values {
	q := pageQuery(epoch, from, limit)
	if stream != "" && stream != "main" {
		q.Set("stream", stream)
	}
	return q
}
