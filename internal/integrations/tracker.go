package integrations

import (
	"sync"
	"time"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
)

// Link states a camera's "link" field takes on the hub's side: the link's
// own state names (one vocabulary with the agent's), or a refusal.
const (
	LinkConnected    = string(link.StateConnected)
	LinkDisconnected = string(link.StateDisconnected) // no session (never connected since the hub started, or ended)
	// LinkRefusedPrefix + a link.RefuseCode: the last session was refused.
	LinkRefusedPrefix = "refused:"
)

// live is what the hub sees of one camera as it happens (link.Observer).
type live struct {
	online     bool
	link       string
	acked      uint64
	ackedValid bool
	// alarms (persisted in alarms.json so that they survive a restart)
	alarms        uint64
	lastAlarm     audit.Kind
	lastAlarmAt   time.Time
	lastIntegrity time.Time
}

// tracker holds the live state of every camera.
type tracker struct {
	mu  sync.Mutex
	cam map[keys.Address]*live
}

func (t *tracker) get(c keys.Address) *live {
	if t.cam == nil {
		t.cam = map[keys.Address]*live{}
	}
	l := t.cam[c]
	if l == nil {
		l = &live{link: LinkDisconnected}
		t.cam[c] = l
	}
	return l
}

func (t *tracker) update(c keys.Address, fn func(*live)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fn(t.get(c))
}

func (t *tracker) snapshot(c keys.Address) live {
	t.mu.Lock()
	defer t.mu.Unlock()
	return *t.get(c)
}

func (t *tracker) sessionStarted(c keys.Address) {
	t.update(c, func(l *live) { l.online, l.link = true, LinkConnected })
}

func (t *tracker) sessionEnded(c keys.Address) {
	t.update(c, func(l *live) {
		l.online = false
		if l.link == LinkConnected {
			l.link = LinkDisconnected
		}
	})
}

func (t *tracker) refused(c keys.Address, code link.RefuseCode) {
	if c == (keys.Address{}) {
		return
	}
	t.update(c, func(l *live) {
		// A refused second session (a clone) does not change the live
		// one's state.
		if !(l.online && code == link.RefuseBusy) {
			l.link = LinkRefusedPrefix + string(code)
		}
	})
}

func (t *tracker) acknowledged(c keys.Address, seq uint64) {
	t.update(c, func(l *live) { l.acked, l.ackedValid = seq, true })
}

func (t *tracker) alarm(c keys.Address, k audit.Kind, at time.Time) {
	t.update(c, func(l *live) {
		l.alarms++
		l.lastAlarm, l.lastAlarmAt = k, at
		if integrityAlarm(k) {
			l.lastIntegrity = at
		}
	})
}
