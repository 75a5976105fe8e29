package hub

import (
	"context"
	"fmt"

	"github.com/camchain/camchain/internal/objstore"
	"github.com/camchain/camchain/internal/store"
)

// RecordingsDisk is the --recordings value for the data directory's
// store (<data>/recordings).
const RecordingsDisk = "disk"

// recordingsPlan is where Config.Recordings says the hub keeps its copy
// of recordings.
type recordingsPlan struct {
	disk   bool
	bucket *objstore.Location
}

// parseRecordings checks Config.Recordings: "disk", one s3://bucket/prefix,
// or both; nothing means disk alone.
func parseRecordings(vals []string) (recordingsPlan, error) {
	if len(vals) == 0 {
		return recordingsPlan{disk: true}, nil
	}
	var p recordingsPlan
	for _, v := range vals {
		switch {
		case v == RecordingsDisk:
			if p.disk {
				return p, fmt.Errorf("--recordings %s given twice", v)
			}
			p.disk = true
		case objstore.IsURL(v):
			if p.bucket != nil {
				return p, fmt.Errorf("--recordings: one bucket at most (%s and %s)", p.bucket, v)
			}
			loc, err := objstore.ParseURL(v)
			if err != nil {
				return p, fmt.Errorf("--recordings: %w", err)
			}
			p.bucket = &loc
		default:
			return p, fmt.Errorf("--recordings %q: want %q or s3://bucket/prefix", v, RecordingsDisk)
		}
	}
	return p, nil
}

// storeOptions opens the bucket the plan names, if any, and returns the
// recording store's options.
func (h *Hub) storeOptions(ctx context.Context) (store.Options, error) {
	opts := store.Options{MaxAge: h.cfg.Retention, Logger: h.cfg.Logger}
	p, err := parseRecordings(h.cfg.Recordings)
	if err != nil {
		return opts, err
	}
	if p.bucket != nil {
		b, err := objstore.Open(ctx, objstore.Config{Location: *p.bucket, Endpoint: h.cfg.S3Endpoint})
		if err != nil {
			return opts, fmt.Errorf("recordings: %w", err)
		}
		opts.Objects, opts.ObjectsOnly = b, !p.disk
		h.cfg.Logger.Info("recordings: object store", "location", p.bucket.String(), "also_on_disk", p.disk)
	}
	return opts, nil
}

// segmentsOnDisk reports whether segment files fill the recordings' disk
// (emergency deletion watches it only then).
func (h *Hub) segmentsOnDisk() bool {
	p, err := parseRecordings(h.cfg.Recordings)
	return err != nil || p.disk
}
