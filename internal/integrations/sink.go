package integrations

import (
	"context"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/api"
)

// sink is one destination of the outbox's events: the MQTT broker or a
// webhook receiver, with what the status page shows of it.
type sink struct {
	name, target string
	secrets      []string // scrubbed from error messages

	mu           sync.Mutex
	connected    bool
	lastDelivery time.Time
	lastErr      string
	lastErrAt    time.Time
	delivered    uint64
	failures     uint64
}

func (k *sink) ok(at time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.connected, k.lastDelivery = true, at
	k.delivered++
}

func (k *sink) fail(err error, at time.Time, counts bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.connected = false
	k.lastErr, k.lastErrAt = scrub(err.Error(), k.secrets...), at
	if counts {
		k.failures++
	}
}

func (k *sink) setConnected(c bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.connected = c
}

func rfc(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func (k *sink) view(pending int, dropped uint64) api.IntegrationSink {
	k.mu.Lock()
	defer k.mu.Unlock()
	return api.IntegrationSink{Name: k.name, Target: k.target, Connected: k.connected,
		LastDelivery: rfc(k.lastDelivery), LastError: k.lastErr, LastErrorAt: rfc(k.lastErrAt),
		Delivered: k.delivered, Pending: pending, Dropped: dropped, Failures: k.failures}
}

// deliver sends the outbox's entries to k in order, each until send
// succeeds, with backoff between attempts; the cursor moves only after a
// success. ready, if not nil, is waited on before each attempt (MQTT: the
// broker connection).
func (s *Service) deliver(ctx context.Context, k *sink, send func(ctx context.Context, id string, payload []byte) error, ready func() <-chan struct{}) {
	defer s.wg.Done()
	backoff := s.cfg.RetryMin
	for {
		idx, id, payload, ok := s.ob.Next(k.name)
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-s.ob.Wake(k.name):
				continue
			}
		}
		if ready != nil {
			select {
			case <-ctx.Done():
				return
			case <-ready():
			}
		}
		err := send(ctx, id, payload)
		if err == nil {
			k.ok(time.Now())
			s.m.delivered.WithLabelValues(k.name).Inc()
			if err = s.ob.Done(k.name, idx); err == nil {
				backoff = s.cfg.RetryMin
				continue
			}
		}
		if ctx.Err() != nil {
			return
		}
		k.fail(err, time.Now(), true)
		s.m.failures.WithLabelValues(k.name).Inc()
		s.cfg.Logger.Warn("integrations: delivery failed; retrying", "sink", k.name, "target", k.target, "event", id, "in", backoff, "err", scrub(err.Error(), k.secrets...))
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, s.cfg.RetryMax)
	}
}
