// Package integrations carries the hub's states and events to where people
// already look (docs/SPEC.md §13):
//
//   - MQTT (paho): per-camera state as retained topics, every alarm and
//     audit event as it happens, availability by last will, and Home
//     Assistant MQTT discovery, so each camera appears in Home Assistant as
//     a device without any configuration there;
//   - webhooks: each alarm and audit event POSTed as JSON, signed by the
//     hub twice (HMAC-SHA256 with a shared secret, and the hub's
//     secp256k1 key), retried with backoff, at least once and in order;
//   - Prometheus metrics, served on a separate loopback address.
//
// Events go through the outbox, <data>/integrations/outbox.log: appended
// and fsynced before anything is sent, delivered to each sink in order
// from that sink's cursor, kept across restarts until every sink has
// taken them (bounded: MaxOutboxEvents, MaxOutboxBytes).
//
// The hub feeds the package through small hooks: Service.Alarm when it
// records an alarm, link.Observer for the camera link, and the Hub
// interface (cameras, ledger events) that it implements.
package integrations
