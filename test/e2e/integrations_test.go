package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/integrations"
	"github.com/camchain/camchain/internal/integrations/mqtttest"
	"github.com/camchain/camchain/internal/keys"
)

// A real cloned camera (a copy of the agent's data directory) against a
// real camchaind with --mqtt, --webhook and --metrics-addr: its clone
// alarm is on the MQTT alarm topic within a second of the hub recording
// it, the signed webhook carries it, /metrics counts the refusal, and no
// credential is in the hub's output; killed with -9, the hub's last will
// marks it offline (retained).
func TestClonedCameraAlarmReachesMQTTAndWebhooks(t *testing.T) {
	const pass = "e2e-broker-pass"
	broker, err := mqtttest.Start("camchain", pass, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broker.Stop() })
	sub, err := broker.Subscribe("camchain/#", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var mu sync.Mutex
	var hooked []integrations.Event
	var check integrations.WebhookCheck
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if _, err := integrations.VerifyWebhook(check, r.Header, body); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var e integrations.Event
		json.Unmarshal(body, &e)
		hooked = append(hooked, e)
	}))
	defer recv.Close()
	hookURL := recv.URL + "/camchain/hook-token"
	metricsAddr := freeAddr(t)

	h := initHub(t)
	h.run(t, "--mqtt", broker.URL(), "--webhook", hookURL, "--metrics-addr", metricsAddr, "--log-level", "debug")
	st, err := h.client(t).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	hub, _ := keys.ParseAddress(st.HubAddress)
	secret, err := os.ReadFile(filepath.Join(h.data, "integrations", "webhook.secret"))
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	check = integrations.WebhookCheck{URL: hookURL, Secret: integrations.WebhookSecret(bytes.TrimSpace(secret)), Hub: hub}
	mu.Unlock()
	base := "camchain/" + strings.ToLower(st.HubAddress)

	orig := filepath.Join(t.TempDir(), "agent")
	a := runAgent(t, orig, "--speed", "10")
	camera := pair(t, h, a, newWallet(t))
	waitFor(t, 20*time.Second, "upload", func() bool { return seqOf(a.status(t).Acked) >= 3 })
	waitFor(t, 10*time.Second, "the camera online on MQTT", func() bool {
		m, ok := sub.Last(base + "/camera/" + strings.ToLower(camera) + "/online")
		return ok && m.Payload == "true"
	})
	a.stop()
	clone := filepath.Join(t.TempDir(), "clone")
	if out, err := exec.Command("cp", "-a", orig, clone).CombinedOutput(); err != nil {
		t.Fatalf("copy: %v %s", err, out)
	}
	a = runAgent(t, orig, "--speed", "10")
	waitFor(t, 20*time.Second, "original reconnects", func() bool { return a.status(t).Link == "connected" })
	c := runAgent(t, clone, "--speed", "10")
	var alarm mqtttest.Message
	var ev integrations.Event
	waitFor(t, 30*time.Second, "the clone alarm on the MQTT alarm topic", func() bool {
		for _, m := range sub.On(base + "/alarm") {
			if json.Unmarshal([]byte(m.Payload), &ev) == nil && ev.Kind == audit.CloneSuspected && strings.EqualFold(ev.Camera, camera) {
				alarm = m
				return true
			}
		}
		return false
	})
	recorded, err := time.Parse(time.RFC3339Nano, ev.Recorded)
	if err != nil {
		t.Fatal(err)
	}
	if d := alarm.At.Sub(recorded); d < 0 || d > time.Second {
		t.Errorf("the alarm reached the MQTT subscriber %s after the hub recorded it; want within 1 s", d)
	}
	waitFor(t, 10*time.Second, "the clone alarm at the webhook", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range hooked {
			if e.ID == ev.ID {
				return true
			}
		}
		return false
	})
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	var busy, clones float64
	for _, m := range mfs["camchain_link_refusals_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "code" && l.GetValue() == "busy" {
				busy = m.GetCounter().GetValue()
			}
		}
	}
	for _, m := range mfs["camchain_alarms_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetValue() == string(audit.CloneSuspected) {
				clones = m.GetCounter().GetValue()
			}
		}
	}
	if busy < 1 || clones < 1 {
		t.Errorf("metrics: refusals{busy} %v, alarms{clone-suspected} %v", busy, clones)
	}
	c.stop()
	a.stop()
	// The hub dies without a word (kill -9): the broker publishes its last
	// will, so Home Assistant shows every entity unavailable.
	if m, ok := sub.Last(base + "/status"); !ok || m.Payload != "online" {
		t.Fatalf("hub status before the kill: %+v", m)
	}
	n0 := sub.Count()
	h.kill()
	waitFor(t, 10*time.Second, "the hub's last will (offline, retained) after kill -9", func() bool {
		msgs := sub.Messages()
		for _, m := range msgs[min(n0, len(msgs)):] {
			if m.Topic == base+"/status" && m.Payload == "offline" {
				return true
			}
		}
		return false
	})
	late, err := broker.Subscribe(base+"/status", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	waitFor(t, 5*time.Second, "offline retained for a subscriber that comes later", func() bool {
		m, ok := late.Last(base + "/status")
		return ok && m.Retained && m.Payload == "offline"
	})
	if out := h.output(); strings.Contains(out, pass) || strings.Contains(out, "hook-token") {
		t.Errorf("a credential is in the hub's output:\n%s", out)
	}
}
