package ingest

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"rtsp://admin:s3cret@10.0.0.2:554/Streaming/101": "rtsp://admin:xxxxx@10.0.0.2:554/Streaming/101",
		"rtsp://10.0.0.2/x":   "rtsp://10.0.0.2/x",
		"rtsp://user@h/x":     "rtsp://user@h/x",
		"rtsp://a:p%40ss@h/x": "rtsp://a:xxxxx@h/x",
		"::not a url":         "(unparsable camera URL)",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// An error that quotes the URL, the user info or the password, in any
// escaping, comes out without the password; errors.Is still sees through.
func TestScrubRemovesEveryFormOfThePassword(t *testing.T) {
	u, _ := url.Parse("rtsp://admin:p%40ss%2Fw0rd@h:554/x")
	pw, _ := u.User.Password()
	base := errors.New("boom")
	for _, msg := range []string{u.String(), u.User.String(), pw, url.QueryEscape(pw), "dial " + u.Host + ": " + pw} {
		err := scrub(fmt.Errorf("%s: %w", msg, base), u)
		if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), "p%40ss") {
			t.Errorf("scrub(%q) = %q", msg, err)
		}
		if !errors.Is(err, base) {
			t.Errorf("scrub lost the wrapped error")
		}
	}
}

func TestValidate(t *testing.T) {
	for _, bad := range []*Source{
		{URL: "http://h/x"},
		{URL: "rtsp:///x"},
		{URL: "rtsp://h/x", Transport: "sctp"},
		{URL: "rtsp://h/x", Target: 999e6},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%s %s validated", bad.URL, bad.Transport)
		}
	}
	s := &Source{URL: "rtsp://u:pw@h/x"}
	if err := s.Validate(); err != nil || s.Transport != TCP || s.Target != 2e9 {
		t.Fatalf("defaults: %v, %s %v", err, s.Transport, s.Target)
	}
	bad := &Source{URL: "rtsp://u:pw@h/x", Target: 1}
	if err := bad.Validate(); err == nil || strings.Contains(err.Error(), "pw") {
		t.Fatalf("error %v", err)
	}
}
