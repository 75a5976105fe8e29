package integrations

import (
	"strings"
	"testing"
)

// What the status page and the log show of a URL holds no secret.
func TestRedactURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"mqtt://hub:s3cret@10.0.0.5:1883", "mqtt://hub:xxxxx@10.0.0.5:1883"},
		{"mqtts://broker.example", "mqtts://broker.example"},
		{"https://ha.local:8123/api/webhook/TOKEN123", "https://ha.local:8123/…"},
		{"https://hooks.example/h?token=TOKEN123#frag", "https://hooks.example/…"},
		{"https://hooks.example/?token=TOKEN123", "https://hooks.example"},
		{"https://u:TOKEN123@hooks.example/", "https://u:xxxxx@hooks.example"},
		{"not a url TOKEN123", "(unparsable URL)"},
	} {
		got := redactURL(c.in)
		if got != c.want || strings.Contains(got, "TOKEN123") || strings.Contains(got, "s3cret") {
			t.Errorf("redactURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := scrub("dial mqtt://hub:s3cret@x: refused", "s3cret", ""); strings.Contains(got, "s3cret") {
		t.Errorf("scrub left the secret: %q", got)
	}
}

// Bad configurations are refused with messages that hold no credential.
func TestConfigRefusals(t *testing.T) {
	for _, c := range []MQTTConfig{
		{URL: "http://u:s3cret@h:1883"}, {URL: "mqtt://u:s3cret@h:1883/topic"}, {URL: "mqtt://u:s3cret@h?x=1"},
		{URL: "mqtt://u:s3cret@h", Prefix: "a/#"},
	} {
		err := c.validate()
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%+v: %v", c.Prefix, err)
		}
	}
	for _, a := range []string{"0.0.0.0:9464", "192.168.1.5:9464", ":9464", "example.com:9464"} {
		if CheckLoopback(a) == nil {
			t.Errorf("metrics address %s accepted: /metrics has no login", a)
		}
	}
	for _, a := range []string{"127.0.0.1:9464", "[::1]:9464", "localhost:0"} {
		if err := CheckLoopback(a); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
	if err := checkWebhookURL("ftp://x/TOKEN123"); err == nil || strings.Contains(err.Error(), "TOKEN123") {
		t.Errorf("webhook URL check: %v", err)
	}
}
