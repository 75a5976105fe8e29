package integrations

import "time"

// Caps of the outbox and of what goes out (docs/SPEC.md §13).
const (
	// MaxEventBytes caps one event's JSON: a detail is at most
	// tx.MaxDetailBytes, and the rest is addresses and times.
	MaxEventBytes = 8 << 10
	// MaxOutboxEvents and MaxOutboxBytes bound the events kept on disk for
	// sinks that have not taken them yet (a broker down for days, a
	// webhook receiver gone). Past either, the oldest pending events are
	// dropped, counted in camchain_integration_events_dropped_total; every
	// alarm and audit event is on the ledger as well.
	MaxOutboxEvents = 20000
	MaxOutboxBytes  = 16 << 20
	// outboxCompactAt: a fully delivered log over this size is rewritten
	// empty.
	outboxCompactAt = 1 << 20
	// dedupWindow: an event whose id is among the last dedupWindow
	// appended is not appended again (a camera resends an alarm it saw no
	// acknowledgement for; the ledger follower re-reads after a crash).
	dedupWindow = 256
	// maxWebhooks caps --webhook.
	maxWebhooks = 16
)

// Timing defaults (Config fields override them, tests shorten them).
const (
	DefaultRetryMin      = time.Second
	DefaultRetryMax      = 5 * time.Minute
	DefaultStateInterval = time.Second
	// DefaultHeadInterval: a camera's state whose only change is its
	// progress (head and acknowledged record) is republished at most this
	// often. A camera makes a record every 2 s; published each time, the
	// head and acked topics and the state were three messages a segment
	// (150 a second for 100 cameras) and a Home Assistant recorder row a
	// segment for the chain-head sensor.
	DefaultHeadInterval = 30 * time.Second
	// ageRefresh: a state whose only change is the checkpoint age is
	// republished this often.
	ageRefresh = time.Minute
	// IntegrityHold: the "integrity alarm" binary sensor stays on this
	// long after a camera's last integrity alarm.
	IntegrityHold = 24 * time.Hour
	// mqttMaxReconnect caps the broker reconnect backoff: a broker back
	// after an outage is found within this long.
	mqttMaxReconnect = 30 * time.Second
	webhookTimeout   = 10 * time.Second
	mqttTimeout      = 10 * time.Second
	// WebhookMaxSkew is how far a receiver should let Camchain-Timestamp
	// be from its clock (VerifyWebhook).
	WebhookMaxSkew = 5 * time.Minute
)
