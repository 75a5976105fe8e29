package hub

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/integrations"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
)

// The hub's side of internal/integrations (MQTT, webhooks, metrics): what
// it reads of the ledger and the store, and how it starts.

func (c *Config) integrationsDir() string { return filepath.Join(c.DataDir, "integrations") }

// webhookSecretFile is where the webhooks' HMAC secret is kept.
func (c *Config) webhookSecretFile() string {
	if c.WebhookSecretFile != "" {
		return c.WebhookSecretFile
	}
	return filepath.Join(c.integrationsDir(), "webhook.secret")
}

// startIntegrations starts the integrations (after the store is open,
// before the link serves).
func (h *Hub) startIntegrations() error {
	cfg := integrations.Config{
		Dir: h.cfg.integrationsDir(), Key: h.key, Hub: integrationSource{h}, Logger: h.cfg.Logger, Version: Version,
		MQTT: h.cfg.MQTT, Webhooks: h.cfg.Webhooks, MetricsAddr: h.cfg.MetricsAddr,
		RetryMin: h.cfg.IntegrationRetryMin, RetryMax: h.cfg.IntegrationRetryMax, StateInterval: h.cfg.IntegrationStateInterval,
		HeadInterval: h.cfg.IntegrationHeadInterval,
	}
	if len(h.cfg.Webhooks) > 0 {
		s, err := loadOrCreateWebhookSecret(h.cfg.webhookSecretFile(), h.cfg)
		if err != nil {
			return err
		}
		cfg.WebhookSecret = s
	}
	var err error
	if h.integ, err = integrations.Start(cfg); err != nil {
		return err
	}
	h.node.OnCommit(h.integ.CommitObserved)
	return nil
}

// loadOrCreateWebhookSecret reads the shared secret, making a random one
// (32 bytes, as 64 hex digits) at the first start with a webhook.
func loadOrCreateWebhookSecret(path string, cfg Config) (integrations.WebhookSecret, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && cfg.WebhookSecretFile == "" {
		var r [32]byte
		if _, err := rand.Read(r[:]); err != nil {
			return nil, err
		}
		b = []byte(hex.EncodeToString(r[:]) + "\n")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := atomicfile.Create(path, b, 0o600); err != nil {
			return nil, err
		}
		cfg.Logger.Warn("webhook secret created; give it to your webhook receivers", "file", path)
	} else if err != nil {
		return nil, fmt.Errorf("webhook secret: %w", err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if len(s) < 16 {
		return nil, fmt.Errorf("webhook secret %s: at least 16 bytes", path)
	}
	return integrations.WebhookSecret(s), nil
}

// integrations serves GET /integrations.
func (h *Hub) integrations(*http.Request) (any, error) { return h.integ.Status(), nil }

// Integrations returns the integrations service (its metrics address).
func (h *Hub) Integrations() *integrations.Service { return h.integ }

// integrationSource is integrations.Hub over the ledger and the store.
type integrationSource struct{ h *Hub }

func unixTime(s uint64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(int64(s), 0)
}

// Cameras lists the cameras bound to this hub that it knows: paired
// through it, or with a chain in its store.
func (s integrationSource) Cameras() []integrations.CameraInfo {
	h := s.h
	seen := map[keys.Address]bool{}
	var cams []keys.Address
	add := func(c keys.Address) {
		if !seen[c] {
			seen[c] = true
			cams = append(cams, c)
		}
	}
	if refs, err := h.store.Chains(); err == nil {
		for _, r := range refs {
			add(r.Camera)
		}
	}
	if es, err := os.ReadDir(filepath.Join(h.cfg.DataDir, "pairings")); err == nil {
		for _, e := range es {
			name, _, ok := strings.Cut(e.Name(), "-")
			if !ok {
				continue
			}
			if c, err := keys.ParseAddress(name); err == nil {
				add(c)
			}
		}
	}
	slices.SortFunc(cams, func(a, b keys.Address) int { return strings.Compare(string(a[:]), string(b[:])) })
	live := map[keys.Address]bool{}
	for _, c := range h.linkSrv.LiveCameras() {
		live[c] = true
	}
	out := make([]integrations.CameraInfo, 0, len(cams))
	for _, c := range cams {
		d, err := h.node.App.Device(c)
		if err != nil || d == nil || !d.Owned() || d.Hub != h.key.Address() {
			continue
		}
		ci := integrations.CameraInfo{Camera: c, Epoch: d.Epoch, Checkpoints: d.Checkpoints,
			LastCheckpointSeq: d.LastSeq, LastCheckpointEnd: unixTime(d.LastPeriodEnd),
			ImprintedAt: unixTime(d.ImprintedAt), Retention: h.cfg.Retention, Online: live[c]}
		if ch, err := h.store.Lookup(c, d.Epoch); err == nil {
			ci.Head = ch.Head()
			if end, ok := lastSegmentEnd(ch); ok {
				ci.Recording = recording(ci.Online, end)
			}
		}
		out = append(out, ci)
	}
	return out
}

// EventsAfter reads the ledger's audit log forward from after: the events
// of cameras bound to this hub and those this hub filed.
func (s integrationSource) EventsAfter(after uint64, limit int) ([]integrations.LedgerEvent, uint64, error) {
	app := s.h.node.App
	latest, err := s.LatestEventSeq()
	if err != nil || latest <= after {
		return nil, after, err
	}
	// Events lists newest first below a bound: read the window
	// (after, after+limit] and turn it around.
	top := min(latest, after+uint64(limit))
	evs, err := app.Events(ledger.EventFilter{Before: top + 1, Limit: int(top - after)})
	if err != nil {
		return nil, after, err
	}
	me := s.h.key.Address()
	var out []integrations.LedgerEvent
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i]
		if e.Seq <= after {
			continue
		}
		if e.Hub != me {
			if e.Camera == (keys.Address{}) {
				continue
			}
			if d, err := app.Device(e.Camera); err != nil || d == nil || d.Hub != me {
				continue
			}
		}
		out = append(out, integrations.LedgerEvent{Seq: e.Seq, Height: e.Height, Time: e.Time, Kind: e.Kind,
			Camera: e.Camera, Actor: e.Actor, Owner: e.Owner, Subject: e.Subject, Detail: e.Detail, TxHash: e.TxHash})
	}
	return out, top, nil
}

// LatestEventSeq is the newest audit event's seq (0: none yet).
func (s integrationSource) LatestEventSeq() (uint64, error) {
	evs, err := s.h.node.App.Events(ledger.EventFilter{Limit: 1})
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	return evs[0].Seq, nil
}

func (s integrationSource) Height() (uint64, <-chan struct{}) { return s.h.node.App.Height() }

func (s integrationSource) StoreBytes() int64 { return s.h.store.Stored() }

func (s integrationSource) RetentionDeleted() (int64, int64) { return s.h.store.Deleted() }

// hubOwnerAccess: the caller is the hub's owner (--owner).
func (h *Hub) hubOwnerAccess(addr keys.Address) error {
	if h.cfg.Owner == (keys.Address{}) {
		return api.Errorf(api.ErrForbidden, "this hub has no owner: start camchaind with --owner ADDRESS to let that wallet read its operational status")
	}
	if addr != h.cfg.Owner {
		return api.Errorf(api.ErrForbidden, "%s is not this hub's owner", addr.Hex())
	}
	return nil
}
