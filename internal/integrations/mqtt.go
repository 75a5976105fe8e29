package integrations

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/keys"
)

const mqttSinkName = "mqtt"

// MQTTConfig configures the MQTT client.
type MQTTConfig struct {
	// URL is mqtt://[user[:password]@]host[:port] (port 1883) or mqtts://
	// (TLS, port 8883). It is never logged or shown with its password.
	URL string
	// PasswordFile, if set, holds the password (instead of the URL).
	PasswordFile string
	// CAFile: PEM certificates to trust for mqtts:// (default: the system's).
	CAFile string
	// Prefix of the topic tree (default "camchain") and Home Assistant's
	// discovery prefix (default "homeassistant").
	Prefix, DiscoveryPrefix string
}

func (c *MQTTConfig) validate() error {
	if c.URL == "" {
		return nil
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "mqtt" && u.Scheme != "mqtts") || u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return fmt.Errorf("--mqtt %s: want mqtt://[user[:password]@]host[:port] or mqtts://…", redactURL(c.URL))
	}
	if c.Prefix == "" {
		c.Prefix = "camchain"
	}
	if c.DiscoveryPrefix == "" {
		c.DiscoveryPrefix = "homeassistant"
	}
	for _, p := range []string{c.Prefix, c.DiscoveryPrefix} {
		if strings.ContainsAny(p, "#+\x00") || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
			return fmt.Errorf("MQTT topic prefix %q: no wildcards, no leading or trailing /", p)
		}
	}
	return nil
}

// broker returns paho's broker address, user and password.
func (c *MQTTConfig) broker() (addr, user, pass string, tlsOn bool, err error) {
	u, _ := url.Parse(c.URL)
	tlsOn = u.Scheme == "mqtts"
	port := u.Port()
	if port == "" {
		port = "1883"
		if tlsOn {
			port = "8883"
		}
	}
	scheme := "tcp"
	if tlsOn {
		scheme = "ssl"
	}
	addr = scheme + "://" + net.JoinHostPort(u.Hostname(), port)
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	if c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return "", "", "", false, fmt.Errorf("--mqtt-password-file: %w", err)
		}
		pass = strings.TrimRight(string(b), "\r\n")
	}
	return addr, user, pass, tlsOn, nil
}

// mqttSink is the MQTT client: events from the outbox, state and
// discovery straight from the hub's state.
type mqttSink struct {
	sink
	s      *Service
	t      topics
	client paho.Client

	connMu sync.Mutex
	up     chan struct{} // closed while connected
	onConn chan struct{} // a (re)connection happened
	haUp   chan struct{} // Home Assistant announced itself

	// published state (owned by the state loop)
	last map[keys.Address]publishedState
	// stale are cameras announced before the hub last stopped that it has
	// not published since (loaded from announcedFile): if one is no longer
	// bound here, its entities are removed like any camera that leaves.
	stale map[keys.Address]bool
	// saved is the announced set as announcedFile last recorded it.
	saved string
}

type publishedState struct {
	cmp    string    // the state's JSON without its age and progress
	at     time.Time // when the state topic was last published
	fields map[string]string
}

func startMQTT(ctx context.Context, s *Service) (*mqttSink, error) {
	c := s.cfg.MQTT
	addr, user, pass, tlsOn, err := c.broker()
	if err != nil {
		return nil, err
	}
	m := &mqttSink{
		sink: sink{name: mqttSinkName, target: redactURL(c.URL), secrets: []string{pass}},
		s:    s, t: newTopics(c.Prefix, c.DiscoveryPrefix, s.cfg.Key.Address()),
		up: make(chan struct{}), onConn: make(chan struct{}, 1), haUp: make(chan struct{}, 1),
		last: map[keys.Address]publishedState{},
	}
	if m.stale, err = loadAnnounced(s.announcedPath()); err != nil {
		return nil, err
	}
	m.saved = announcedKey(m.stale)
	hub := strings.ToLower(s.cfg.Key.Address().Hex())
	o := paho.NewClientOptions().
		AddBroker(addr).
		SetClientID("camchaind-"+hub[2:14]).
		SetCleanSession(true).
		SetWill(m.t.status(), "offline", 1, true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(s.cfg.RetryMin).
		SetMaxReconnectInterval(max(min(s.cfg.RetryMax, mqttMaxReconnect), s.cfg.RetryMin)).
		SetConnectTimeout(mqttTimeout).
		SetKeepAlive(30 * time.Second).
		SetOrderMatters(false).
		SetOnConnectHandler(func(paho.Client) { m.connected() }).
		SetConnectionLostHandler(func(_ paho.Client, err error) { m.lost(err) })
	if user != "" {
		o.SetUsername(user)
	}
	if pass != "" {
		o.SetPassword(pass)
	}
	if tlsOn {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("--mqtt-ca: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--mqtt-ca %s: no PEM certificate in it", c.CAFile)
			}
		}
		o.SetTLSConfig(tc)
	}
	m.client = paho.NewClient(o)
	// With ConnectRetry the client keeps trying in the background; the
	// hub starts whether or not the broker is up.
	m.client.Connect()
	s.cfg.Logger.Info("integrations: MQTT", "broker", m.target, "topics", m.t.base)
	s.wg.Add(2)
	go s.deliver(ctx, &m.sink, m.sendEvent, m.ready)
	go m.stateLoop(ctx)
	return m, nil
}

func (m *mqttSink) connected() {
	m.connMu.Lock()
	select {
	case <-m.up:
	default:
		close(m.up)
	}
	m.connMu.Unlock()
	m.setConnected(true)
	select {
	case m.onConn <- struct{}{}:
	default:
	}
}

func (m *mqttSink) lost(err error) {
	m.connMu.Lock()
	select {
	case <-m.up:
		m.up = make(chan struct{})
	default:
	}
	m.connMu.Unlock()
	m.fail(fmt.Errorf("connection to the broker lost: %w", err), time.Now(), false)
	m.s.cfg.Logger.Warn("integrations: MQTT connection lost; reconnecting", "broker", m.target, "err", scrub(err.Error(), m.secrets...))
}

func (m *mqttSink) ready() <-chan struct{} {
	m.connMu.Lock()
	defer m.connMu.Unlock()
	return m.up
}

func wait(t paho.Token) error {
	if !t.WaitTimeout(mqttTimeout) {
		return errors.New("broker did not acknowledge in time")
	}
	return t.Error()
}

// sendEvent publishes one outbox event (QoS 1) and waits for the broker.
func (m *mqttSink) sendEvent(_ context.Context, id string, payload []byte) error {
	var e struct {
		Type EventType `json:"type"`
	}
	if err := json.Unmarshal(payload, &e); err != nil || (e.Type != TypeAlarm && e.Type != TypeAudit) {
		return nil // not an event this version knows: skipped, not retried forever
	}
	return wait(m.client.Publish(m.t.event(e.Type), 1, false, payload))
}

// stateLoop publishes, on each (re)connection, the hub's status, the
// discovery and the full state of every camera, then every change.
func (m *mqttSink) stateLoop(ctx context.Context) {
	defer m.s.wg.Done()
	tick := time.NewTicker(m.s.cfg.StateInterval)
	defer tick.Stop()
	for {
		force := false
		select {
		case <-ctx.Done():
			return
		case <-m.onConn:
			force = true
			if err := m.announce(); err != nil {
				m.fail(err, time.Now(), false)
				continue
			}
		case <-m.haUp:
			force = true
		case <-tick.C:
		case <-m.s.wakeState:
		}
		if !m.client.IsConnectionOpen() {
			continue
		}
		if err := m.publishStates(force); err != nil {
			m.s.cfg.Logger.Warn("integrations: MQTT state not published", "err", scrub(err.Error(), m.secrets...))
		}
	}
}

// announce publishes "online" and subscribes to Home Assistant's status.
func (m *mqttSink) announce() error {
	if err := wait(m.client.Publish(m.t.status(), 1, true, "online")); err != nil {
		return err
	}
	return wait(m.client.Subscribe(m.t.haStatus(), 1, func(_ paho.Client, msg paho.Message) {
		if string(msg.Payload()) == "online" {
			select {
			case m.haUp <- struct{}{}:
			default:
			}
		}
	}))
}

// publishStates publishes what changed since the last time (everything,
// with discovery, when force).
func (m *mqttSink) publishStates(force bool) error {
	now := time.Now()
	var toks []paho.Token
	pub := func(topic string, payload []byte) {
		toks = append(toks, m.client.Publish(topic, 1, true, payload))
	}
	type sent struct {
		cam keys.Address
		ps  publishedState
	}
	var done []sent
	for _, ci := range m.s.cfg.Hub.Cameras() {
		prev, seen := m.last[ci.Camera]
		if force || !seen {
			d, err := m.t.discovery(ci.Camera, m.s.cfg.Version)
			if err != nil {
				return err
			}
			for topic, b := range d {
				pub(topic, b)
			}
		}
		st := m.s.stateOf(ci, now)
		// The age alone changes every second and the progress (head and
		// acknowledged record) at every segment: compare without them,
		// and publish a state that changed only in them every ageRefresh
		// and HeadInterval at most. A state that is published carries
		// everything, and every field that changed goes with it.
		cmp := st
		cmp.LastCheckpointAge, cmp.HeadSeq, cmp.Head, cmp.AckedSeq = 0, nil, "", nil
		cmpJS, err := json.Marshal(cmp)
		if err != nil {
			return err
		}
		ps := publishedState{cmp: string(cmpJS), at: now, fields: st.fields()}
		since := now.Sub(prev.at)
		progressed := ps.fields["head"] != prev.fields["head"] || ps.fields["acked"] != prev.fields["acked"]
		if !(force || !seen || ps.cmp != prev.cmp || (progressed && since >= m.s.cfg.HeadInterval) || since >= ageRefresh) {
			done = append(done, sent{ci.Camera, prev})
			continue
		}
		js, err := json.Marshal(st)
		if err != nil {
			return err
		}
		pub(m.t.cameraState(ci.Camera), js)
		for name, v := range ps.fields {
			if force || !seen || prev.fields[name] != v {
				pub(m.t.field(ci.Camera, name), []byte(v))
			}
		}
		done = append(done, sent{ci.Camera, ps})
	}
	// A camera no longer bound here (reset, released, moved to another
	// hub): its entities and state are removed (an empty retained message
	// deletes a retained one, and a discovery config).
	current := map[keys.Address]bool{}
	for _, d := range done {
		current[d.cam] = true
	}
	var gone []keys.Address
	remove := func(cam keys.Address, fields map[string]string) error {
		gone = append(gone, cam)
		d, err := m.t.discovery(cam, m.s.cfg.Version)
		if err != nil {
			return err
		}
		for topic := range d {
			pub(topic, nil)
		}
		pub(m.t.cameraState(cam), nil)
		for name := range fields {
			pub(m.t.field(cam, name), nil)
		}
		return nil
	}
	for cam, prev := range m.last {
		if !current[cam] {
			if err := remove(cam, prev.fields); err != nil {
				return err
			}
		}
	}
	// One that left while the hub was stopped: every field it can have.
	for cam := range m.stale {
		if _, ok := m.last[cam]; !ok && !current[cam] {
			if err := remove(cam, cameraState{}.fields()); err != nil {
				return err
			}
		}
	}
	var errs error
	for _, t := range toks {
		errs = errors.Join(errs, wait(t))
	}
	if errs != nil {
		return errs // nothing recorded as published: all of it again next time
	}
	for _, d := range done {
		m.last[d.cam] = d.ps
	}
	for _, cam := range gone {
		delete(m.last, cam)
	}
	clear(m.stale) // each one now published or removed
	return m.saveAnnounced()
}

// announcedFile (in the integrations directory) lists the cameras whose
// Home Assistant entities this hub has announced, so that one which leaves
// while the hub is stopped is removed at the next start.
const announcedFile = "mqtt-announced.json"

func (s *Service) announcedPath() string { return filepath.Join(s.cfg.Dir, announcedFile) }

func loadAnnounced(path string) (map[keys.Address]bool, error) {
	out := map[keys.Address]bool{}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("%s: %w (delete the file to start afresh: cameras that left while the hub was stopped then keep their Home Assistant entities)", path, err)
	}
	for _, a := range list {
		cam, err := keys.ParseAddress(a)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out[cam] = true
	}
	return out, nil
}

// announcedKey is the set in a canonical form: a JSON array of the
// sorted addresses (hex needs no escaping).
func announcedKey[V any](set map[keys.Address]V) string {
	list := make([]string, 0, len(set))
	for cam := range set {
		list = append(list, `"`+cam.Hex()+`"`)
	}
	slices.Sort(list)
	return "[" + strings.Join(list, ",") + "]"
}

// saveAnnounced records the cameras published now, when that changed.
func (m *mqttSink) saveAnnounced() error {
	k := announcedKey(m.last)
	if k == m.saved {
		return nil
	}
	if err := atomicfile.Write(m.s.announcedPath(), []byte(k+"\n"), 0o600); err != nil {
		return err
	}
	m.saved = k
	return nil
}

func (m *mqttSink) close() {
	if m.client.IsConnectionOpen() {
		// A clean disconnect sends no last will: say offline ourselves.
		wait(m.client.Publish(m.t.status(), 1, true, "offline"))
	}
	m.client.Disconnect(250)
}
