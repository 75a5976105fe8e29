package integrations

import (
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// Hub is what the integrations read from the hub (the hub implements it).
type Hub interface {
	// Cameras returns every camera bound to this hub, as the ledger and
	// the recording store have it now.
	Cameras() []CameraInfo
	// EventsAfter returns the committed audit events with seq > after that
	// concern this hub (its cameras, or filed by it), oldest first, at
	// most limit of them, and the highest seq it looked at (events of
	// other hubs advance it too).
	EventsAfter(after uint64, limit int) (evs []LedgerEvent, last uint64, err error)
	// LatestEventSeq is the seq of the newest audit event on the ledger.
	LatestEventSeq() (uint64, error)
	// Height returns the last committed block height and a channel closed
	// when the next block commits.
	Height() (uint64, <-chan struct{})
	// StoreBytes is the segment bytes the recording store holds.
	StoreBytes() int64
	// RetentionDeleted is what retention deleted from the store since it
	// was opened: segments and their bytes.
	RetentionDeleted() (segments, bytes int64)
}

// CameraInfo is one camera's state from the ledger and the store.
type CameraInfo struct {
	Camera keys.Address
	Epoch  uint64
	// Head is the newest record the hub holds in the current epoch.
	Head feedchain.Head
	// Checkpoints in this epoch, the last one's LastSeq and PeriodEnd.
	Checkpoints       uint64
	LastCheckpointSeq uint64
	LastCheckpointEnd time.Time
	// ImprintedAt: checkpoint lag counts from here while there is none.
	ImprintedAt time.Time
	// Retention is how long the hub keeps its recordings.
	Retention time.Duration
	// Online: a link session is live; Recording: and its newest segment
	// is fresh (the hub's rule, the same as GET /devices/{camera}/status).
	Online, Recording bool
}
