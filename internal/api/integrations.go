package api

import (
	"context"
	"net/http"
)

// Integrations is GET /api/v1/integrations: what the hub sends its states
// and events to, and how that goes. Targets are shown with credentials
// redacted.
type Integrations struct {
	MQTT     *IntegrationSink  `json:"mqtt,omitempty"`
	Webhooks []IntegrationSink `json:"webhooks"`
	// MetricsAddr is the loopback address /metrics is served on, if any.
	MetricsAddr string `json:"metrics_addr,omitempty"`
}

// IntegrationSink is one MQTT broker or webhook receiver.
type IntegrationSink struct {
	Name   string `json:"name"`   // "mqtt", "webhook-<12 hex>" (the outbox sink)
	Target string `json:"target"` // the URL, password and query redacted
	// Connected: MQTT, connected to the broker now; webhook, its last
	// attempt succeeded.
	Connected    bool   `json:"connected"`
	LastDelivery string `json:"last_delivery,omitempty"` // RFC 3339
	LastError    string `json:"last_error,omitempty"`
	LastErrorAt  string `json:"last_error_at,omitempty"`
	Delivered    uint64 `json:"delivered"` // events delivered since the hub started
	Pending      int    `json:"pending"`   // events in the outbox it has not taken
	Dropped      uint64 `json:"dropped"`   // events dropped from the full outbox before it took them
	Failures     uint64 `json:"failures"`  // failed attempts since the hub started (each retried)
}

// Integrations returns the hub's integrations status (the hub's owner only).
func (c *Client) Integrations(ctx context.Context) (*Integrations, error) {
	var s Integrations
	return &s, c.do(ctx, http.MethodGet, "/integrations", nil, nil, &s)
}
