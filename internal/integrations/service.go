package integrations

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
)

// Config configures the integrations. Zero fields take defaults.
type Config struct {
	Dir    string           // <data>/integrations
	Key    *keys.PrivateKey // the hub key: signs webhooks; its address names the topics
	Hub    Hub
	Logger *slog.Logger
	// Version is the hub's, reported to Home Assistant and in User-Agent.
	Version string

	// MQTT is the broker URL, mqtt://[user[:pass]@]host[:port] or mqtts://
	// (TLS); empty: no MQTT.
	MQTT MQTTConfig

	// Webhooks are the receivers' URLs (http or https), WebhookSecret the
	// HMAC key they share.
	Webhooks      []string
	WebhookSecret WebhookSecret

	// MetricsAddr is the loopback host:port /metrics is served on; empty:
	// no listener (the metrics are still kept).
	MetricsAddr string

	RetryMin, RetryMax time.Duration // delivery backoff
	StateInterval      time.Duration // how often MQTT state is compared and published
	HeadInterval       time.Duration // the shortest time between two MQTT states that differ only in progress
}

// Service is the running integrations.
type Service struct {
	cfg        Config
	m          *metrics
	tr         tracker
	ob         *Outbox // nil without sinks
	mqtt       *mqttSink
	hooks      []*sink // webhook sinks, in flag order
	metricsLn  net.Listener
	metricsSrv *http.Server

	mu        sync.Mutex
	recent    []string   // ids of recent alarms (dedup without an outbox)
	saveMu    sync.Mutex // one write of cameras.json at a time
	wakeState chan struct{}

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// Validate fills defaults and checks the configuration.
func (c *Config) Validate() error {
	if c.Dir == "" || c.Key == nil || c.Hub == nil {
		return errors.New("integrations: Dir, Key and Hub are required")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.RetryMin == 0 {
		c.RetryMin = DefaultRetryMin
	}
	if c.RetryMax == 0 {
		c.RetryMax = DefaultRetryMax
	}
	c.RetryMax = max(c.RetryMax, c.RetryMin)
	if c.StateInterval == 0 {
		c.StateInterval = DefaultStateInterval
	}
	if c.HeadInterval == 0 {
		c.HeadInterval = DefaultHeadInterval
	}
	if len(c.Webhooks) > maxWebhooks {
		return fmt.Errorf("--webhook: at most %d", maxWebhooks)
	}
	seen := map[string]bool{}
	for _, u := range c.Webhooks {
		if err := checkWebhookURL(u); err != nil {
			return err
		}
		if seen[u] {
			return fmt.Errorf("--webhook %s given twice", redactURL(u))
		}
		seen[u] = true
	}
	if len(c.Webhooks) > 0 && len(c.WebhookSecret) < 16 {
		return errors.New("integrations: webhooks need a secret of at least 16 bytes")
	}
	if err := c.MQTT.validate(); err != nil {
		return err
	}
	if c.MetricsAddr != "" {
		if err := CheckLoopback(c.MetricsAddr); err != nil {
			return err
		}
	}
	return nil
}

// CheckLoopback refuses a metrics address that is not on loopback:
// /metrics has no authentication (docs/SPEC.md §13.5).
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--metrics-addr %q: want host:port", addr)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--metrics-addr %q: must be a loopback address (127.0.0.1, [::1]): /metrics is served without authentication", addr)
	}
	return nil
}

// Start opens the outbox (when there is a sink), starts the deliveries and
// the metrics listener.
func Start(cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, wakeState: make(chan struct{}, 1)}
	s.m = newMetrics(cfg.Hub, s)
	if err := s.loadAlarmState(); err != nil {
		return nil, err
	}
	var sinks []string
	if cfg.MQTT.URL != "" {
		sinks = append(sinks, mqttSinkName)
	}
	for _, u := range cfg.Webhooks {
		sinks = append(sinks, webhookSinkName(u))
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	fail := func(err error) (*Service, error) {
		cancel()
		s.wg.Wait()
		if s.ob != nil {
			s.ob.Close()
		}
		if s.metricsLn != nil {
			s.metricsLn.Close()
		}
		return nil, err
	}
	if len(sinks) > 0 {
		var err error
		if s.ob, err = OpenOutbox(cfg.Dir, sinks, cfg.Logger); err != nil {
			return fail(err)
		}
		if err := s.startFollower(ctx); err != nil {
			return fail(err)
		}
	}
	for _, u := range cfg.Webhooks {
		k := &sink{name: webhookSinkName(u), target: redactURL(u)}
		s.hooks = append(s.hooks, k)
		w := newWebhook(s, u)
		s.wg.Add(1)
		go s.deliver(ctx, k, w.send, nil)
	}
	if cfg.MQTT.URL != "" {
		var err error
		if s.mqtt, err = startMQTT(ctx, s); err != nil {
			return fail(err)
		}
	}
	if cfg.MetricsAddr != "" {
		ln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fail(fmt.Errorf("--metrics-addr %s: %w", cfg.MetricsAddr, err))
		}
		s.metricsLn = ln
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{ErrorLog: slogPrinter{cfg.Logger}}))
		s.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
		go s.metricsSrv.Serve(ln)
	}
	return s, nil
}

type slogPrinter struct{ l *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.l.Error("metrics", "err", fmt.Sprint(v...)) }

// MetricsAddr is the bound metrics address ("" when not served).
func (s *Service) MetricsAddr() string {
	if s.metricsLn == nil {
		return ""
	}
	return s.metricsLn.Addr().String()
}

// Observer is the link observer that feeds the metrics and camera states.
func (s *Service) Observer() link.Observer { return observer{s} }

// CommitObserved records how long a submitted transaction took to commit.
func (s *Service) CommitObserved(d time.Duration) { s.m.commitLatency.Observe(d.Seconds()) }

// Alarm is told of every security alarm the hub records, before the hub
// acknowledges it: it is counted, shown in the camera's state, and put in
// the outbox (fsynced) for every sink. A resend of an alarm already taken
// is ignored.
func (s *Service) Alarm(cam keys.Address, kind audit.Kind, detail string, at time.Time) error {
	if s == nil { // the hub is still starting
		return nil
	}
	e := NewAlarm(s.cfg.Key.Address(), cam, kind, detail, at, time.Now())
	if !s.firstSeen(e.ID) {
		return nil
	}
	s.m.alarm(kind)
	var err error
	if s.ob != nil {
		_, err = s.ob.Append(e)
	}
	if cam != (keys.Address{}) {
		s.tr.alarm(cam, kind, time.Now())
		err = errors.Join(err, s.saveAlarmState())
	}
	s.poke()
	return err
}

func (s *Service) firstSeen(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.recent {
		if r == id {
			return false
		}
	}
	s.recent = append(s.recent, id)
	if len(s.recent) > dedupWindow {
		s.recent = s.recent[1:]
	}
	return true
}

// poke asks the state publisher to look now.
func (s *Service) poke() {
	select {
	case s.wakeState <- struct{}{}:
	default:
	}
}

// sinkState is a sink's figures for the status page and the metrics.
type sinkState = api.IntegrationSink

func (s *Service) sinkStates() []sinkState {
	var out []sinkState
	view := func(k *sink) sinkState {
		var p int
		var d uint64
		if s.ob != nil {
			p, d = s.ob.Pending(k.name)
		}
		return k.view(p, d)
	}
	if s.mqtt != nil {
		out = append(out, view(&s.mqtt.sink))
	}
	for _, k := range s.hooks {
		out = append(out, view(k))
	}
	return out
}

// Status is the integrations status page (GET /api/v1/integrations).
func (s *Service) Status() api.Integrations {
	st := api.Integrations{Webhooks: []api.IntegrationSink{}, MetricsAddr: s.MetricsAddr()}
	for _, v := range s.sinkStates() {
		if v.Name == mqttSinkName {
			v := v
			st.MQTT = &v
			continue
		}
		st.Webhooks = append(st.Webhooks, v)
	}
	return st
}

// Close stops the deliveries, the MQTT client and the metrics listener.
func (s *Service) Close() error {
	s.stop()
	var err error
	if s.metricsSrv != nil {
		err = s.metricsSrv.Close()
	}
	s.wg.Wait()
	if s.mqtt != nil {
		s.mqtt.close()
	}
	if s.ob != nil {
		err = errors.Join(err, s.ob.Close())
	}
	return err
}

// alarmState is <dir>/cameras.json: the alarm counts of each camera, so
// that its state is right after a restart.
type alarmState struct {
	Alarms        uint64     `json:"alarms"`
	LastAlarm     audit.Kind `json:"last_alarm,omitempty"`
	LastAlarmAt   int64      `json:"last_alarm_at,omitempty"`
	LastIntegrity int64      `json:"last_integrity_alarm_at,omitempty"`
}

func (s *Service) alarmStatePath() string { return filepath.Join(s.cfg.Dir, "cameras.json") }

func (s *Service) loadAlarmState() error {
	b, err := os.ReadFile(s.alarmStatePath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var m map[string]alarmState
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%s: %w", s.alarmStatePath(), err)
	}
	for k, v := range m {
		cam, err := keys.ParseAddress(k)
		if err != nil {
			continue
		}
		s.tr.update(cam, func(l *live) {
			l.alarms, l.lastAlarm = v.Alarms, v.LastAlarm
			if v.LastAlarmAt > 0 {
				l.lastAlarmAt = time.Unix(v.LastAlarmAt, 0)
			}
			if v.LastIntegrity > 0 {
				l.lastIntegrity = time.Unix(v.LastIntegrity, 0)
			}
		})
	}
	return nil
}

func (s *Service) saveAlarmState() error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	m := map[string]alarmState{}
	s.tr.mu.Lock()
	for cam, l := range s.tr.cam {
		if l.alarms == 0 {
			continue
		}
		st := alarmState{Alarms: l.alarms, LastAlarm: l.lastAlarm}
		if !l.lastAlarmAt.IsZero() {
			st.LastAlarmAt = l.lastAlarmAt.Unix()
		}
		if !l.lastIntegrity.IsZero() {
			st.LastIntegrity = l.lastIntegrity.Unix()
		}
		m[cam.Hex()] = st
	}
	s.tr.mu.Unlock()
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(s.alarmStatePath(), append(b, '\n'), 0o600)
}
