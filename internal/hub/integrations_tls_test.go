package hub

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/integrations"
	"github.com/camchain/camchain/internal/integrations/mqtttest"
)

// selfSigned makes a certificate for 127.0.0.1 and writes it as PEM.
func selfSigned(t *testing.T, path string) tls.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "broker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}

// mqtts://: the hub publishes over TLS to a broker whose certificate it
// was told to trust (--mqtt-ca), and sends nothing to one it was not.
func TestIntegrationsMQTTOverTLS(t *testing.T) {
	dir := t.TempDir()
	cert := selfSigned(t, filepath.Join(dir, "broker.pem"))
	selfSigned(t, filepath.Join(dir, "other.pem"))
	broker, err := mqtttest.Start("hub", "tls-pass", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broker.Stop() })
	if !strings.HasPrefix(broker.URL(), "mqtts://") {
		t.Fatalf("broker URL %s", broker.URL())
	}
	start := func(ca string) *Hub {
		return startTestHubWith(t, func(c *Config) {
			c.MQTT = integrations.MQTTConfig{URL: broker.URL(), CAFile: filepath.Join(dir, ca)}
			c.IntegrationRetryMin, c.IntegrationRetryMax, c.IntegrationStateInterval = 20*time.Millisecond, 100*time.Millisecond, 50*time.Millisecond
			c.IntegrationHeadInterval = 50 * time.Millisecond
		})
	}
	statusOf := func(h *Hub) (string, bool) {
		for _, m := range broker.Recorded().Messages() {
			if m.Topic == "camchain/"+strings.ToLower(h.Address().Hex())+"/status" {
				return m.Payload, true
			}
		}
		return "", false
	}
	trusted := start("broker.pem")
	waitUntil(t, 10*time.Second, "the hub online over TLS", func() bool {
		p, ok := statusOf(trusted)
		return ok && p == "online" && trusted.integ.Status().MQTT.Connected
	})
	untrusted := start("other.pem")
	time.Sleep(time.Second) // it retries every 20-100 ms meanwhile
	if p, ok := statusOf(untrusted); ok || untrusted.integ.Status().MQTT.Connected {
		t.Fatalf("a hub that does not trust the broker's certificate published %q (connected %v)", p, untrusted.integ.Status().MQTT.Connected)
	}
}
