package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain/feedchaintest"
	"github.com/camchain/camchain/internal/integrations"
	"github.com/camchain/camchain/internal/integrations/mqtttest"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/tx"
)

// testCamera is a simulated camera: its keys, its chain in memory and a
// real link client over TLS to the hub.
type testCamera struct {
	key    *keys.PrivateKey
	id     *link.Identity
	chain  *feedchaintest.Chain
	notify chan struct{}
}

type quietAlarms struct{}

func (quietAlarms) Raise(audit.Alarm, string) {}
func (quietAlarms) Pending() []link.Alarm     { return nil }
func (quietAlarms) Sent(int)                  {}

// pairTestCamera imprints a new camera on owner with this hub and records
// its pairing as POST /pairings would.
func pairTestCamera(t *testing.T, h *Hub, owner *keys.PrivateKey) *testCamera {
	t.Helper()
	c := &testCamera{key: recordsTestKey(t), notify: make(chan struct{}, 1)}
	var err error
	if c.id, err = link.NewIdentity(); err != nil {
		t.Fatal(err)
	}
	c.chain = &feedchaintest.Chain{Camera: c.key.Address()}
	m := &tx.Imprint{Camera: c.key.Address(), Owner: owner.Address(), Hub: h.Address()}
	setNonce(m)
	s, err := tx.Sign(h.node.App.EVMChainID(), m, owner, c.key)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := s.Encode()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if res, err := h.node.Submit(ctx, raw); err != nil || res.Code != 0 {
		t.Fatalf("imprint: %v %v", res, err)
	}
	if err := h.savePairing(pairingRecord{Version: 1, Camera: c.key.Address().Hex(), Owner: owner.Address().Hex(), TLSPin: c.id.Pin.String(), PairedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return c
}

// connect runs a link client for the camera until the test ends or stop.
// Its reconnect delay starts at backoff.
func (c *testCamera) connect(t *testing.T, h *Hub, backoff time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	cl := &link.Client{Addr: h.LinkAddr(), Identity: c.id, HubPin: h.linkID.Pin, Hub: h.Address(), Key: c.key,
		Chain: c.chain, Alarms: quietAlarms{}, Notify: c.notify, MinBackoff: backoff, MaxBackoff: 4 * backoff}
	done := make(chan struct{})
	go func() { defer close(done); cl.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// record has the camera record n segments of size bytes.
func (c *testCamera) record(t *testing.T, n, size int) {
	t.Helper()
	for range n {
		data := bytes.Repeat([]byte{byte(c.chain.Len())}, size)
		if _, err := c.chain.Add(c.key, data, time.Now(), 2*time.Second); err != nil {
			t.Fatal(err)
		}
		select {
		case c.notify <- struct{}{}:
		default:
		}
	}
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// webhookReceiver is a real HTTP receiver that fails its first failFirst
// requests with 503 and keeps what it accepted, checking both signatures.
type webhookReceiver struct {
	srv       *httptest.Server
	failFirst int
	check     integrations.WebhookCheck

	mu       sync.Mutex
	attempts int
	ids      []string // accepted, in order of arrival
	bodies   map[string]integrations.Event
	bad      []string
}

func startReceiver(t *testing.T, failFirst int) *webhookReceiver {
	w := &webhookReceiver{failFirst: failFirst, bodies: map[string]integrations.Event{}}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		defer w.mu.Unlock()
		w.attempts++
		if w.attempts <= w.failFirst {
			http.Error(rw, "not yet", http.StatusServiceUnavailable)
			return
		}
		// Both signatures, each on its own: a receiver may check either.
		hm, sg := w.check, w.check
		hm.Hub, sg.Secret = keys.Address{}, nil
		id, err := integrations.VerifyWebhook(hm, r.Header, body)
		if err == nil {
			_, err = integrations.VerifyWebhook(sg, r.Header, body)
		}
		if err != nil {
			w.bad = append(w.bad, err.Error())
			http.Error(rw, "bad signature", http.StatusUnauthorized)
			return
		}
		var e integrations.Event
		json.Unmarshal(body, &e)
		w.ids = append(w.ids, id)
		w.bodies[id] = e
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhookReceiver) accepted() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.ids...)
}

// dedup keeps the first of each id, in order.
func dedup(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// syncBuffer is a log sink the hub writes from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse as the Prometheus text format: %v", err)
	}
	return mfs
}

// metricValue is the value of the series of family name whose labels
// include want (counter, gauge, or a histogram's count).
func metricValue(mfs map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.Metric {
		for k, v := range want {
			found := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// TestIntegrations runs a real hub against a real MQTT broker, a real
// webhook receiver and its own /metrics: Home Assistant discovery, the
// state topics, a clone's alarm, the receiver that fails five times, the
// counters, the status page, the retained state after a restart, and a
// broker that is down while events happen.
func TestIntegrations(t *testing.T) {
	const brokerPass = "s3cret-mqtt-pass"
	broker, err := mqtttest.Start("hub", brokerPass, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broker.Stop() })
	recv := startReceiver(t, 5)
	owner := recordsTestKey(t)
	dir := filepath.Join(t.TempDir(), "hub")
	if _, err := Init(Config{DataDir: dir}, ""); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cfg := Config{DataDir: dir, HTTPAddr: "127.0.0.1:0", LinkAddr: "127.0.0.1:0", Owner: owner.Address(),
		MQTT: integrations.MQTTConfig{URL: broker.URL()}, Webhooks: []string{recv.srv.URL + "/hook/tok3n"}, MetricsAddr: "127.0.0.1:0",
		IntegrationRetryMin: 20 * time.Millisecond, IntegrationRetryMax: 100 * time.Millisecond, IntegrationStateInterval: 50 * time.Millisecond,
		IntegrationHeadInterval: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	h, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { h.Close() }()
	secret, err := os.ReadFile(filepath.Join(dir, "integrations", "webhook.secret"))
	if err != nil {
		t.Fatal(err)
	}
	recv.mu.Lock()
	recv.check = integrations.WebhookCheck{URL: recv.srv.URL + "/hook/tok3n", Secret: integrations.WebhookSecret(bytes.TrimSpace(secret)), Hub: h.Address()}
	recv.mu.Unlock()

	base := "camchain/" + strings.ToLower(h.Address().Hex())
	sub, err := broker.Subscribe("#", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	waitUntil(t, 10*time.Second, "the hub online on MQTT", func() bool {
		m, ok := sub.Last(base + "/status")
		return ok && m.Payload == "online"
	})

	// A camera is paired (an audit event) and records 6 segments.
	cam := pairTestCamera(t, h, owner)
	camBase := base + "/camera/" + strings.ToLower(cam.key.Address().Hex())
	stopCam := cam.connect(t, h, 50*time.Millisecond)
	const segs, segSize = 6, 3000
	cam.record(t, segs, segSize)
	waitUntil(t, 20*time.Second, "6 segments acknowledged", func() bool { return cam.chain.Acked().Valid && cam.chain.Acked().Seq == segs-1 })
	var state map[string]any
	waitUntil(t, 10*time.Second, "the camera's state on MQTT", func() bool {
		m, ok := sub.Last(camBase + "/state")
		if !ok || json.Unmarshal([]byte(m.Payload), &state) != nil {
			return false
		}
		return state["head_seq"] == float64(segs-1) && state["online"] == true && state["recording"] == true && state["link"] == "connected" &&
			state["acked_seq"] == float64(segs-1)
	})
	// The rest of the state: no checkpoint yet, the hub's default retention.
	if state["checkpoints"] != float64(0) || state["last_checkpoint_seq"] != nil || state["retention_seconds"] != float64(DefaultRetention/time.Second) {
		t.Errorf("camera state: checkpoints %v, last_checkpoint_seq %v, retention_seconds %v", state["checkpoints"], state["last_checkpoint_seq"], state["retention_seconds"])
	}
	if m, _ := sub.Last(camBase + "/head"); m.Payload != fmt.Sprint(segs-1) || !strings.Contains(m.Topic, "/head") {
		t.Errorf("head topic: %+v", m)
	}
	checkDiscovery(t, broker, base, camBase)

	// The imprint reaches the audit topic (the ledger's event, as committed).
	waitUntil(t, 10*time.Second, "the imprint on the audit topic", func() bool {
		for _, m := range sub.On(base + "/audit") {
			var e integrations.Event
			if json.Unmarshal([]byte(m.Payload), &e) == nil && e.Kind == audit.Imprint && e.Camera == cam.key.Address().Hex() {
				return true
			}
		}
		return false
	})

	// A clone (same keys and TLS identity) connects while the camera is
	// live: refused, and its alarm is on the alarm topic within a second.
	clone := &testCamera{key: cam.key, id: cam.id, chain: cam.chain.CopyOf(cam.chain.Len()), notify: make(chan struct{}, 1)}
	stopClone := clone.connect(t, h, time.Minute) // one attempt

	var alarm mqtttest.Message
	waitUntil(t, 10*time.Second, "the clone alarm on MQTT", func() bool {
		for _, m := range sub.On(base + "/alarm") {
			var e integrations.Event
			if json.Unmarshal([]byte(m.Payload), &e) == nil && e.Kind == audit.CloneSuspected && e.Camera == cam.key.Address().Hex() {
				alarm = m
				return true
			}
		}
		return false
	})
	stopClone()
	var ae integrations.Event
	json.Unmarshal([]byte(alarm.Payload), &ae)
	recorded, _ := time.Parse(time.RFC3339Nano, ae.Recorded)
	if d := alarm.At.Sub(recorded); d > time.Second || d < 0 {
		t.Errorf("alarm reached the broker %s after the hub recorded it, want under 1 s", d)
	}
	waitUntil(t, 10*time.Second, "the integrity alarm in the state", func() bool {
		m, ok := sub.Last(camBase + "/integrity_alarm")
		return ok && m.Payload == "true"
	})

	// Metrics match what happened. The link counts the clone's refusal
	// after it raised the alarm: wait for it, then read everything once.
	waitUntil(t, 10*time.Second, "the clone's refusal counted", func() bool {
		v, ok := metricValue(scrape(t, h.Integrations().MetricsAddr()), "camchain_link_refusals_total", map[string]string{"code": "busy"})
		return ok && v >= 1
	})
	mfs := scrape(t, h.Integrations().MetricsAddr())
	camLabel := map[string]string{"camera": cam.key.Address().Hex()}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"camchain_link_segments_received_total", camLabel, segs},
		{"camchain_link_segments_acknowledged_total", camLabel, segs},
		{"camchain_link_segment_bytes_total", camLabel, segs * segSize},
		{"camchain_link_ack_latency_seconds", nil, segs},
		{"camchain_link_refusals_total", map[string]string{"code": "busy"}, 1},
		{"camchain_alarms_total", map[string]string{"kind": string(audit.CloneSuspected)}, 1},
		{"camchain_link_sessions_active", nil, 1},
		{"camchain_checkpoint_lag_segments", camLabel, segs},
	} {
		if v, ok := metricValue(mfs, c.name, c.labels); !ok || v != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, v, ok, c.want)
		}
	}
	if v, _ := metricValue(mfs, "camchain_link_sessions_total", nil); v < 1 {
		t.Errorf("camchain_link_sessions_total = %v", v)
	}
	if v, _ := metricValue(mfs, "camchain_ledger_height", nil); v < 1 {
		t.Errorf("camchain_ledger_height = %v", v)
	}
	if v, _ := metricValue(mfs, "camchain_ledger_commit_latency_seconds", nil); v < 1 {
		t.Errorf("camchain_ledger_commit_latency_seconds count = %v, want the imprint at least", v)
	}
	if v, _ := metricValue(mfs, "camchain_store_bytes", nil); v != segs*segSize {
		t.Errorf("camchain_store_bytes = %v, want %d", v, segs*segSize)
	}

	// The webhook receiver failed five times, then took every event, each
	// id at least once, in the outbox's order (the MQTT events' order).
	mqttIDs := func() []string {
		var ids []string
		for _, m := range sub.Messages() {
			if m.Topic == base+"/alarm" || m.Topic == base+"/audit" {
				var e integrations.Event
				json.Unmarshal([]byte(m.Payload), &e)
				ids = append(ids, e.ID)
			}
		}
		return dedup(ids)
	}
	waitUntil(t, 20*time.Second, "every event at the webhook", func() bool {
		got := dedup(recv.accepted())
		return len(got) >= 2 && strings.Join(got, ",") == strings.Join(mqttIDs(), ",")
	})
	recv.mu.Lock()
	if recv.attempts <= 5 || len(recv.bad) > 0 {
		t.Errorf("receiver: %d attempts, bad signatures: %v", recv.attempts, recv.bad)
	}
	recv.mu.Unlock()

	// The status page, for the hub's owner only.
	c, _ := api.NewClient("http://" + h.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c.WithCredentials(api.StaticToken(loginToken(t, ctx, c, owner)))
	st, err := c.Integrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.MQTT == nil || !st.MQTT.Connected || st.MQTT.Delivered < 2 || st.MQTT.LastDelivery == "" || strings.Contains(st.MQTT.Target, brokerPass) ||
		len(st.Webhooks) != 1 || st.Webhooks[0].Failures < 5 || !strings.Contains(st.Webhooks[0].LastError, "503") ||
		strings.Contains(st.Webhooks[0].Target, "tok3n") || st.MetricsAddr == "" {
		t.Errorf("integrations status: %+v mqtt %+v", st, st.MQTT)
	}

	// The broker goes down; events happen (a grant, a clone attempt);
	// the broker comes back: they arrive in order, none lost, and the
	// retained state is published again.
	if err := broker.Stop(); err != nil {
		t.Fatal(err)
	}
	sub.Close()
	viewer := recordsTestKey(t)
	g := &tx.Grant{Camera: cam.key.Address(), Viewer: viewer.Address()}
	setNonce(g)
	sg, _ := tx.Sign(h.node.App.EVMChainID(), g, owner)
	raw, _ := sg.Encode()
	if res, err := h.node.Submit(ctx, raw); err != nil || res.Code != 0 {
		t.Fatalf("grant: %v %v", res, err)
	}
	// Events go out in the order the hub records them: an alarm when it
	// is raised, a ledger event when the hub reads its block. Let the
	// grant's events in first, so that the order below is known.
	waitUntil(t, 10*time.Second, "the grant in the outbox", func() bool { return h.integ.Status().MQTT.Pending >= 3 })
	if err := h.recordAlarm(cam.key.Address(), audit.ChainDivergence.Kind(), "raised while the broker is down", time.Now()); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the outbox to hold the events", func() bool {
		s := h.integ.Status()
		return s.MQTT.Pending >= 4 && !s.MQTT.Connected
	})
	time.Sleep(500 * time.Millisecond) // down for a while: the hub keeps retrying
	before := mqttIDs()
	rec := broker.Recorded()
	fromRestart := rec.Count()
	if err := broker.Restart(); err != nil {
		t.Fatal(err)
	}
	// What the broker received from its restart on (its own subscription
	// sees everything, even what the hub publishes before a client could
	// subscribe).
	sinceRestart := func() []mqtttest.Message { return rec.Messages()[fromRestart:] }
	waitUntil(t, 20*time.Second, "the queued events after the broker came back", func() bool {
		n := 0
		for _, m := range sinceRestart() {
			if m.Topic == base+"/alarm" || m.Topic == base+"/audit" {
				n++
			}
		}
		return h.integ.Status().MQTT.Pending == 0 && n >= 4
	})
	// The ledger's events in its order (seq), then the alarm raised after
	// them; the client enrolment (the status page's login) is filed by the
	// hub and may commit before or after the grant.
	var kinds []string
	var afterIDs []string
	var lastSeq uint64
	for _, m := range sinceRestart() {
		if m.Topic == base+"/alarm" || m.Topic == base+"/audit" {
			var e integrations.Event
			json.Unmarshal([]byte(m.Payload), &e)
			kinds = append(kinds, string(e.Kind))
			afterIDs = append(afterIDs, e.ID)
			if e.Type == integrations.TypeAudit {
				if e.Seq <= lastSeq {
					t.Errorf("audit event seq %d after %d: out of order", e.Seq, lastSeq)
				}
				lastSeq = e.Seq
			}
		}
	}
	sorted := slices.Sorted(slices.Values(kinds[:len(kinds)-1]))
	if len(kinds) != 4 || kinds[3] != string(audit.ChainDivergence.Kind()) || strings.Join(sorted, " ") != "grant granted hub/client-enrolled" {
		t.Fatalf("after the outage: %v", kinds)
	}
	// None lost: with what came before the outage, it is everything the
	// webhook receiver (which never went away) was sent, in its order.
	waitUntil(t, 10*time.Second, "the webhook to take the same events", func() bool {
		return strings.Join(dedup(recv.accepted()), ",") == strings.Join(dedup(append(before, afterIDs...)), ",")
	})
	waitUntil(t, 10*time.Second, "the retained state published again", func() bool {
		for _, m := range sinceRestart() {
			if m.Topic == camBase+"/state" && m.Retained && strings.Contains(m.Payload, fmt.Sprintf(`"head_seq":%d`, segs-1)) {
				return true
			}
		}
		return false
	})

	// The camera commits a checkpoint of its six records: the retained
	// state names it.
	tree := checkpoint.NewTree()
	for seq := range uint64(segs) {
		hsh, _ := cam.chain.HashAt(seq)
		tree.Append(hsh)
	}
	root, err := tree.RootAt(segs)
	if err != nil {
		t.Fatal(err)
	}
	now := uint64(time.Now().Unix())
	cp := &tx.Checkpoint{Camera: cam.key.Address(), PeriodStart: now - 60, PeriodEnd: now - 1, FirstSeq: 0, LastSeq: segs - 1, TreeSize: segs,
		Root: root, ChainHead: cam.chain.Head().Hash, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}
	scp, _ := tx.Sign(h.node.App.EVMChainID(), cp, cam.key)
	raw, _ = scp.Encode()
	if res, err := h.node.Submit(ctx, raw); err != nil || res.Code != 0 {
		t.Fatalf("checkpoint: %v %v", res, err)
	}
	waitUntil(t, 10*time.Second, "the checkpoint in the camera's retained state", func() bool {
		m, ok := broker.Recorded().Last(camBase + "/state")
		var st map[string]any
		return ok && m.Retained && json.Unmarshal([]byte(m.Payload), &st) == nil &&
			st["checkpoints"] == float64(1) && st["last_checkpoint_seq"] == float64(segs-1) && st["last_checkpoint"] != nil
	})

	// Restart the hub with the camera gone: the retained state is right
	// at once (offline, the head from the store, the alarms counted).
	stopCam()
	h.Close()
	h, err = Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the state after a restart", func() bool {
		s3, err := broker.Subscribe(camBase+"/state", nil)
		if err != nil {
			return false
		}
		defer s3.Close()
		time.Sleep(100 * time.Millisecond)
		m, ok := s3.Last(camBase + "/state")
		if !ok || !m.Retained {
			return false
		}
		var st map[string]any
		json.Unmarshal([]byte(m.Payload), &st)
		return st["online"] == false && st["head_seq"] == float64(segs-1) && st["alarms"] == float64(2) && st["integrity_alarm"] == true &&
			st["last_checkpoint_seq"] == float64(segs-1)
	})
	// The camera is reset (the duckling's death): it is no longer this
	// hub's, and Home Assistant is told to forget it (empty retained
	// configs) and its retained state goes.
	n0 := broker.Recorded().Count()
	rs := &tx.Reset{Camera: cam.key.Address()}
	setNonce(rs)
	srs, _ := tx.Sign(h.node.App.EVMChainID(), rs, cam.key)
	raw, _ = srs.Encode()
	if res, err := h.node.Submit(ctx, raw); err != nil || res.Code != 0 {
		t.Fatalf("reset: %v %v", res, err)
	}
	node := "camchain_" + strings.ToLower(cam.key.Address().Hex()[2:])
	waitUntil(t, 10*time.Second, "the reset camera's discovery and state removed", func() bool {
		cleared := map[string]bool{}
		for _, m := range broker.Recorded().Messages()[n0:] {
			if m.Payload == "" && m.Retained {
				cleared[m.Topic] = true
			}
		}
		return cleared["homeassistant/binary_sensor/"+node+"/integrity_alarm/config"] && cleared["homeassistant/sensor/"+node+"/alarms/config"] && cleared[camBase+"/state"]
	})
	if strings.Contains(logs.String(), brokerPass) || strings.Contains(logs.String(), "tok3n") {
		t.Error("the hub's log holds a credential")
	}
}

// checkDiscovery checks the Home Assistant discovery messages against the
// MQTT discovery schema: one retained config per entity under
// homeassistant/<component>/<node>/<object>/config, with unique_id,
// device, state_topic and availability, whose topics hold what they say.
func checkDiscovery(t *testing.T, broker *mqtttest.Broker, base, camBase string) {
	t.Helper()
	s, err := broker.Subscribe("homeassistant/#", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitUntil(t, 5*time.Second, "discovery messages", func() bool { return s.Count() >= 8 })
	seen := map[string]bool{}
	components := map[string]int{}
	for _, m := range s.Messages() {
		parts := strings.Split(m.Topic, "/")
		if len(parts) != 5 || parts[0] != "homeassistant" || parts[4] != "config" {
			t.Errorf("discovery topic %q: want homeassistant/<component>/<node>/<object>/config", m.Topic)
			continue
		}
		if !m.Retained {
			t.Errorf("%s: not retained", m.Topic)
		}
		var c struct {
			Name          string `json:"name"`
			UniqueID      string `json:"unique_id"`
			StateTopic    string `json:"state_topic"`
			ValueTemplate string `json:"value_template"`
			Device        struct {
				Identifiers  []string `json:"identifiers"`
				Name         string   `json:"name"`
				Manufacturer string   `json:"manufacturer"`
			} `json:"device"`
			Availability []struct {
				Topic               string `json:"topic"`
				PayloadAvailable    string `json:"payload_available"`
				PayloadNotAvailable string `json:"payload_not_available"`
			} `json:"availability"`
			DeviceClass string `json:"device_class"`
		}
		dec := json.NewDecoder(strings.NewReader(m.Payload))
		if err := dec.Decode(&c); err != nil {
			t.Errorf("%s: %v", m.Topic, err)
			continue
		}
		comp := parts[1]
		components[comp]++
		if comp != "sensor" && comp != "binary_sensor" {
			t.Errorf("%s: component %q", m.Topic, comp)
		}
		if c.UniqueID == "" || seen[c.UniqueID] || c.Name == "" || c.ValueTemplate == "" {
			t.Errorf("%s: unique_id %q (seen %v), name %q, template %q", m.Topic, c.UniqueID, seen[c.UniqueID], c.Name, c.ValueTemplate)
		}
		seen[c.UniqueID] = true
		if c.StateTopic != camBase+"/state" || len(c.Device.Identifiers) == 0 || c.Device.Name == "" || c.Device.Manufacturer != "camchain" {
			t.Errorf("%s: state_topic %q, device %+v", m.Topic, c.StateTopic, c.Device)
		}
		if len(c.Availability) != 1 || c.Availability[0].Topic != base+"/status" || c.Availability[0].PayloadAvailable != "online" || c.Availability[0].PayloadNotAvailable != "offline" {
			t.Errorf("%s: availability %+v", m.Topic, c.Availability)
		}
		if strings.HasSuffix(m.Topic, "/integrity_alarm/config") && (comp != "binary_sensor" || c.DeviceClass != "problem") {
			t.Errorf("integrity alarm: %s %q", comp, c.DeviceClass)
		}
	}
	if components["binary_sensor"] < 3 || components["sensor"] < 4 {
		t.Errorf("entities: %v", components)
	}
	for _, obj := range []string{"online", "recording", "integrity_alarm", "last_checkpoint_age", "alarms"} {
		found := false
		for id := range seen {
			if strings.HasSuffix(id, "_"+obj) {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s entity", obj)
		}
	}
}
