// Package mqtttest runs a real MQTT broker (mochi-mqtt) on loopback for
// tests and benchmarks, and a real MQTT client (paho) that records what it
// receives.
package mqtttest

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Broker is an MQTT broker on a fixed loopback address, which can be
// stopped and started again on it (retained messages are kept in memory:
// a restart forgets them, as a broker without persistence does).
type Broker struct {
	Addr       string // host:port
	User, Pass string
	TLS        *tls.Config // non-nil: the listener speaks TLS

	mu  sync.Mutex
	srv *mqtt.Server
	// rec is subscribed inside the broker to every topic from the moment
	// it starts: it misses nothing published while the broker is up, even
	// right after a restart, before any client could subscribe.
	rec *Subscriber
}

// Start starts a broker on a free loopback port that admits user/pass only.
func Start(user, pass string, tlsCfg *tls.Config) (*Broker, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	b := &Broker{Addr: addr, User: user, Pass: pass, TLS: tlsCfg, rec: &Subscriber{}}
	return b, b.Restart()
}

// Restart starts the broker again on its address (after Stop).
func (b *Broker) Restart() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		return fmt.Errorf("mqtttest: broker already running")
	}
	var srv *mqtt.Server
	var err error
	for range 50 { // the port may still be held by the previous listener's sockets
		if srv, err = b.newServer(); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	if err := srv.Serve(); err != nil {
		return err
	}
	b.srv = srv
	return nil
}

func (b *Broker) newServer() (*mqtt.Server, error) {
	srv := mqtt.New(&mqtt.Options{Logger: slog.New(slog.DiscardHandler), InlineClient: true})
	if err := srv.AddHook(new(auth.Hook), &auth.Options{Ledger: &auth.Ledger{
		Auth: auth.AuthRules{{Username: auth.RString(b.User), Password: auth.RString(b.Pass), Allow: true}},
	}}); err != nil {
		return nil, err
	}
	l := listeners.NewTCP(listeners.Config{ID: "tcp", Address: b.Addr, TLSConfig: b.TLS})
	if err := srv.AddListener(l); err != nil {
		return nil, err
	}
	if err := srv.Subscribe("#", 1, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		b.rec.add(Message{Topic: pk.TopicName, Payload: string(pk.Payload), Retained: pk.FixedHeader.Retain, At: time.Now()})
	}); err != nil {
		return nil, err
	}
	return srv, nil
}

// Stop closes the broker and every connection to it.
func (b *Broker) Stop() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv == nil {
		return nil
	}
	err := b.srv.Close()
	b.srv = nil
	return err
}

// URL is the broker's mqtt:// (or mqtts://) URL with the credentials.
func (b *Broker) URL() string {
	scheme := "mqtt"
	if b.TLS != nil {
		scheme = "mqtts"
	}
	return fmt.Sprintf("%s://%s:%s@%s", scheme, b.User, b.Pass, b.Addr)
}

// Message is one message a Subscriber received.
type Message struct {
	Topic    string
	Payload  string
	Retained bool
	At       time.Time
}

// Subscriber is a real MQTT client subscribed to one filter, keeping every
// message it receives.
type Subscriber struct {
	c    paho.Client
	mu   sync.Mutex
	msgs []Message
}

// Subscribe connects a new client to b and subscribes to filter (QoS 1).
// Retained messages come first, as the broker sends them.
func (b *Broker) Subscribe(filter string, tlsCfg *tls.Config) (*Subscriber, error) {
	s := &Subscriber{}
	scheme := "tcp"
	if b.TLS != nil {
		scheme = "ssl"
	}
	o := paho.NewClientOptions().AddBroker(scheme + "://" + b.Addr).SetUsername(b.User).SetPassword(b.Pass).
		SetClientID(fmt.Sprintf("sub-%d", time.Now().UnixNano())).SetCleanSession(true).SetAutoReconnect(false).
		SetOrderMatters(true)
	if tlsCfg != nil {
		o.SetTLSConfig(tlsCfg)
	}
	s.c = paho.NewClient(o)
	if t := s.c.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		return nil, fmt.Errorf("mqtttest: connect: %v", t.Error())
	}
	t := s.c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
		s.add(Message{Topic: m.Topic(), Payload: string(m.Payload()), Retained: m.Retained(), At: time.Now()})
	})
	if !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		s.c.Disconnect(0)
		return nil, fmt.Errorf("mqtttest: subscribe: %v", t.Error())
	}
	return s, nil
}

// Recorded is everything published to the broker while it was up, in
// order, across restarts (the broker's own subscription to "#").
func (b *Broker) Recorded() *Subscriber { return b.rec }

func (s *Subscriber) add(m Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
}

// Messages returns what was received so far.
func (s *Subscriber) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Last returns the newest message on topic.
func (s *Subscriber) Last(topic string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.msgs) - 1; i >= 0; i-- {
		if s.msgs[i].Topic == topic {
			return s.msgs[i], true
		}
	}
	return Message{}, false
}

// On returns the messages on topics with the given prefix, in order.
func (s *Subscriber) On(prefix string) []Message {
	var out []Message
	for _, m := range s.Messages() {
		if strings.HasPrefix(m.Topic, prefix) {
			out = append(out, m)
		}
	}
	return out
}

// Count is how many messages were received.
func (s *Subscriber) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// Close disconnects.
func (s *Subscriber) Close() {
	if s.c != nil {
		s.c.Disconnect(100)
	}
}
