package integrations

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/integrations/mqtttest"
	"github.com/camchain/camchain/internal/keys"
)

// fixedHub is the hub as the integrations read it, with a camera list the
// test sets (the hub's own tests drive the real hub, ledger and cameras;
// these are about what the MQTT side does with what it reads, against a
// real broker).
type fixedHub struct {
	mu   sync.Mutex
	cams []CameraInfo
	next chan struct{} // never closed: no block commits here
}

func newFixedHub(cams ...keys.Address) *fixedHub {
	h := &fixedHub{next: make(chan struct{})}
	for _, c := range cams {
		h.cams = append(h.cams, CameraInfo{Camera: c, Epoch: 1, Retention: 24 * time.Hour, ImprintedAt: time.Now()})
	}
	return h
}

func (h *fixedHub) Cameras() []CameraInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]CameraInfo(nil), h.cams...)
}
func (h *fixedHub) EventsAfter(after uint64, _ int) ([]LedgerEvent, uint64, error) {
	return nil, after, nil
}
func (h *fixedHub) LatestEventSeq() (uint64, error)           { return 0, nil }
func (h *fixedHub) Height() (uint64, <-chan struct{})         { return 1, h.next }
func (h *fixedHub) StoreBytes() int64                         { return 0 }
func (h *fixedHub) RetentionDeleted() (segments, bytes int64) { return 0, 0 }

func startBroker(t *testing.T) *mqtttest.Broker {
	t.Helper()
	b, err := mqtttest.Start("hub", "broker-password-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Stop() })
	return b
}

func startService(t *testing.T, dir string, key *keys.PrivateKey, hub Hub, broker *mqtttest.Broker) *Service {
	t.Helper()
	s, err := Start(Config{Dir: dir, Key: key, Hub: hub, Version: "test",
		MQTT: MQTTConfig{URL: broker.URL()}, StateInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// retainedFor is what a new subscriber is sent, retained, about a camera
// (its discovery configs and its state topics).
func retainedFor(t *testing.T, broker *mqtttest.Broker, cam keys.Address) []string {
	t.Helper()
	sub, err := broker.Subscribe("#", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	time.Sleep(300 * time.Millisecond) // retained messages come at once
	var out []string
	for _, m := range sub.Messages() {
		if m.Retained && m.Payload != "" && (strings.Contains(m.Topic, nodeID(cam)) || strings.Contains(m.Topic, strings.ToLower(cam.Hex()))) {
			out = append(out, m.Topic)
		}
	}
	return out
}

// A camera that stops being bound to the hub while the hub is stopped (a
// reset or a transfer committed meanwhile) loses its Home Assistant device
// and its retained state at the hub's next start; one still bound keeps
// them.
func TestCameraThatLeftWhileTheHubWasStoppedIsRemoved(t *testing.T) {
	broker := startBroker(t)
	key, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	var stays, leaves keys.Address
	stays[19], leaves[19] = 1, 2
	dir := t.TempDir()
	s := startService(t, dir, key, newFixedHub(stays, leaves), broker)
	waitFor(t, 10*time.Second, "both cameras announced", func() bool {
		return len(retainedFor(t, broker, stays)) > 0 && len(retainedFor(t, broker, leaves)) > 0
	})
	announced := len(retainedFor(t, broker, leaves))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if announced < len(haEntities())+2 { // its configs, its state, its fields
		t.Fatalf("the leaving camera had only %d retained topics before", announced)
	}

	s = startService(t, dir, key, newFixedHub(stays), broker)
	defer s.Close()
	waitFor(t, 10*time.Second, "the camera that left removed", func() bool {
		return len(retainedFor(t, broker, leaves)) == 0
	})
	if got := retainedFor(t, broker, stays); len(got) < len(haEntities())+2 {
		t.Fatalf("the camera still bound lost its entities: %v", got)
	}
}

// The broker down for a minute while alarms keep coming: every alarm is
// kept on disk, and when the broker returns the hub reconnects by itself
// and publishes all of them, in the order they were raised, none lost.
func TestBrokerDownForAMinuteLosesNothing(t *testing.T) {
	broker := startBroker(t)
	key, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	var cam keys.Address
	cam[19] = 7
	s := startService(t, t.TempDir(), key, newFixedHub(cam), broker)
	defer s.Close()
	waitFor(t, 10*time.Second, "connected", func() bool { return s.Status().MQTT.Connected })

	if err := broker.Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the hub to see the broker gone", func() bool { return !s.Status().MQTT.Connected })
	const outage = time.Minute
	var want []string
	start := time.Now()
	for i := 0; time.Since(start) < outage; i++ {
		detail := fmt.Sprintf("alarm %d during the outage", i)
		if err := s.Alarm(cam, audit.CloneSuspected, detail, time.Now()); err != nil {
			t.Fatal(err)
		}
		want = append(want, detail)
		time.Sleep(2 * time.Second)
	}
	if p := s.Status().MQTT.Pending; p != len(want) {
		t.Fatalf("%d events pending in the outbox after the outage, want %d", p, len(want))
	}
	rec := broker.Recorded()
	from := rec.Count()
	if err := broker.Restart(); err != nil {
		t.Fatal(err)
	}
	alarmTopic := newTopics("camchain", "homeassistant", key.Address()).event(TypeAlarm)
	var got []string
	// The client's reconnect backoff is capped at mqttMaxReconnect.
	waitFor(t, mqttMaxReconnect+20*time.Second, "every queued alarm after the broker came back", func() bool {
		got = got[:0]
		seen := map[string]bool{} // delivery is at least once: a repeat is no loss
		for _, m := range rec.Messages()[from:] {
			if m.Topic != alarmTopic {
				continue
			}
			var e Event
			if err := json.Unmarshal([]byte(m.Payload), &e); err != nil {
				t.Fatalf("alarm payload: %v", err)
			}
			if !seen[e.ID] {
				seen[e.ID] = true
				got = append(got, e.Detail)
			}
		}
		return len(got) >= len(want) && s.Status().MQTT.Pending == 0
	})
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("after a minute's outage the broker got\n%v\nwant, in order\n%v", got, want)
	}
}

// A camera's progress alone (a new head and acknowledged record every
// segment) is published at most every HeadInterval — a message burst and a
// Home Assistant recorder row per segment otherwise — while any other
// change goes at once, and the last progress is never lost: once the head
// stops, the retained state and fields hold it.
func TestProgressAloneIsThrottled(t *testing.T) {
	broker := startBroker(t)
	key, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	var cam keys.Address
	cam[19] = 9
	hub := newFixedHub(cam)
	const headEvery = 1500 * time.Millisecond
	s, err := Start(Config{Dir: t.TempDir(), Key: key, Hub: hub, Version: "test",
		MQTT: MQTTConfig{URL: broker.URL()}, StateInterval: 50 * time.Millisecond, HeadInterval: headEvery})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tp := newTopics("camchain", "homeassistant", key.Address())
	stateTopic, headTopic, onlineTopic := tp.cameraState(cam), tp.field(cam, "head"), tp.field(cam, "online")
	rec := broker.Recorded()
	count := func(from int, topic string) (n int, last string) {
		for _, m := range rec.Messages()[from:] {
			if m.Topic == topic {
				n, last = n+1, m.Payload
			}
		}
		return n, last
	}
	waitFor(t, 10*time.Second, "the camera's first state", func() bool { n, _ := count(0, stateTopic); return n > 0 })

	setHead := func(seq uint64) {
		hub.mu.Lock()
		hub.cams[0].Head = feedchain.Head{Valid: true, Seq: seq}
		hub.mu.Unlock()
	}
	from := rec.Count()
	start := time.Now()
	var seq uint64
	for time.Since(start) < 3*time.Second {
		setHead(seq)
		seq++
		time.Sleep(100 * time.Millisecond)
	}
	window := time.Since(start)
	last := seq - 1
	states, _ := count(from, stateTopic)
	heads, _ := count(from, headTopic)
	// One per HeadInterval (the first at once, the state last published
	// before the window), and a round's slack.
	limit := int(window/headEvery) + 2
	if states > limit || heads > limit || states == 0 {
		t.Fatalf("%d heads in %v: %d states and %d head fields published, want 1 to %d (one per %v)", seq, window, states, heads, limit, headEvery)
	}

	// The last head is the retained one once progress stops (before any
	// other change would carry it).
	waitFor(t, headEvery+5*time.Second, "the last head retained", func() bool {
		_, h := count(0, headTopic)
		_, st := count(0, stateTopic)
		return h == fmt.Sprint(last) && strings.Contains(st, fmt.Sprintf(`"head_seq":%d`, last))
	})

	// Any other change is published at once.
	from = rec.Count()
	hub.mu.Lock()
	hub.cams[0].Online = true
	hub.mu.Unlock()
	t0 := time.Now()
	waitFor(t, headEvery/2, "online published within half a head interval", func() bool {
		_, v := count(from, onlineTopic)
		return v == "true"
	})
	t.Logf("%d heads in %v: %d states, %d head fields; online published after %v", seq, window, states, heads, time.Since(t0))
}
