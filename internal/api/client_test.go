package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/apitls"
)

// fakeHub answers every request with handler and records what it got.
type fakeHub struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []string // "METHOD path?query"
}

func newFakeHub(t *testing.T, handler http.HandlerFunc) *fakeHub {
	t.Helper()
	h := &fakeHub{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.reqs = append(h.reqs, r.Method+" "+r.URL.RequestURI())
		h.mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *fakeHub) last() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.reqs) == 0 {
		return ""
	}
	return h.reqs[len(h.reqs)-1]
}

func mustClient(t *testing.T, base string) *Client {
	t.Helper()
	c, err := NewClient(base)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewClientRefusesBadURLs(t *testing.T) {
	for _, bad := range []string{"", "127.0.0.1:8080", "ftp://hub:21", "http://", "http//hub", "://x"} {
		if _, err := NewClient(bad); err == nil {
			t.Errorf("NewClient(%q) accepted", bad)
		}
	}
	c := mustClient(t, "https://hub.example:8443/")
	if c.Base() != "https://hub.example:8443" {
		t.Errorf("Base = %q, want the URL without its trailing slash", c.Base())
	}
}

// Requests go under the API prefix with their paging query, camera
// addresses path-escaped.
func TestClientPathsAndQueries(t *testing.T) {
	h := newFakeHub(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"items":[]}`)) })
	c := mustClient(t, h.URL)
	ctx := context.Background()
	for _, tc := range []struct {
		call func() error
		want string
	}{
		{func() error { _, err := c.Recordings(ctx, "0xab", -1, 0, 0); return err }, "GET " + Prefix + "/devices/0xab/recordings"},
		{func() error { _, err := c.Recordings(ctx, "0xab", 2, 5, 10); return err }, "GET " + Prefix + "/devices/0xab/recordings?epoch=2&from=5&limit=10"},
		{func() error { _, err := c.Checkpoints(ctx, "a/b", 0, 0, 1); return err }, "GET " + Prefix + "/devices/a%2Fb/checkpoints?epoch=0&limit=1"},
		{func() error {
			_, err := c.Audit(ctx, AuditQuery{Camera: "0xcd", Principal: "0xef", Before: 9, Limit: 3})
			return err
		}, "GET " + Prefix + "/audit?before=9&camera=0xcd&limit=3&principal=0xef"},
		{func() error { _, err := c.NonceUse(ctx, "0x01", 42); return err }, "GET " + Prefix + "/nonces/0x01/42"},
		{func() error { _, err := c.Submit(ctx, []byte{0xde, 0xad}); return err }, "POST " + Prefix + "/txs"},
	} {
		if err := tc.call(); err != nil {
			t.Fatalf("%s: %v", tc.want, err)
		}
		if got := h.last(); got != tc.want {
			t.Errorf("request %q, want %q", got, tc.want)
		}
	}
}

// A hub's error envelope comes back as an *Error whose code callers match;
// anything else that is not 2xx names the status; a malformed or
// oversized success body is an error, never a half-decoded value.
func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("error envelope", func(t *testing.T) {
		h := newFakeHub(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(HTTPStatus(ErrNotFound))
			w.Write([]byte(`{"error":{"code":"not_found","message":"no such camera"}}`))
		})
		_, err := mustClient(t, h.URL).Device(ctx, "0xab")
		var e *Error
		if !errors.As(err, &e) || e.Code != ErrNotFound || e.Message != "no such camera" || CodeOf(err) != ErrNotFound {
			t.Fatalf("err = %#v", err)
		}
	})
	t.Run("refusal with its result", func(t *testing.T) {
		h := newFakeHub(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(HTTPStatus(ErrRefused))
			w.Write([]byte(`{"error":{"code":"refused","message":"unauthorized","result":{"code_name":"unauthorized"}}}`))
		})
		_, err := mustClient(t, h.URL).Submit(ctx, []byte{1})
		var e *Error
		if !errors.As(err, &e) || e.Code != ErrRefused || e.Result == nil || e.Result.CodeName != "unauthorized" {
			t.Fatalf("err = %#v", err)
		}
	})
	t.Run("not the envelope", func(t *testing.T) {
		h := newFakeHub(t, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
		})
		_, err := mustClient(t, h.URL).Status(ctx)
		if err == nil || !strings.Contains(err.Error(), "502") || CodeOf(err) != ErrInternal {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("malformed success", func(t *testing.T) {
		h := newFakeHub(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"items": [`)) })
		if _, err := mustClient(t, h.URL).Grants(ctx, "0xab"); err == nil || !strings.Contains(err.Error(), "malformed") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("oversized success", func(t *testing.T) {
		h := newFakeHub(t, func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"items":[],"pad":"`))
			w.Write([]byte(strings.Repeat("x", MaxResponseBytes)))
			w.Write([]byte(`"}`))
		})
		if _, err := mustClient(t, h.URL).Grants(ctx, "0xab"); err == nil {
			t.Fatal("a response over MaxResponseBytes decoded")
		}
	})
	t.Run("no hub", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		_, err = mustClient(t, "http://"+addr).Status(ctx)
		if err == nil || !strings.Contains(err.Error(), "cannot reach the hub") {
			t.Fatalf("err = %v", err)
		}
	})
}

// Evidence downloads at most maxBytes and refuses more.
func TestEvidenceBound(t *testing.T) {
	body := strings.Repeat("b", 1000)
	h := newFakeHub(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) })
	c := mustClient(t, h.URL)
	q := EvidenceQuery{From: time.Unix(100, 0), To: time.Unix(200, 0), Epoch: 1}
	got, err := c.Evidence(context.Background(), "0xab", q, 1000)
	if err != nil || string(got) != body {
		t.Fatalf("within the bound: %d bytes, %v", len(got), err)
	}
	if want := "GET " + Prefix + "/devices/0xab/evidence?epoch=1&from=1970-01-01T00%3A01%3A40Z&to=1970-01-01T00%3A03%3A20Z"; h.last() != want {
		t.Errorf("request %q, want %q", h.last(), want)
	}
	if _, err := c.Evidence(context.Background(), "0xab", q, 999); err == nil || !strings.Contains(err.Error(), "more than 999 bytes") {
		t.Fatalf("over the bound: %v", err)
	}
}

// Every error code has its status, in one table; an unknown code is a 500.
func TestHTTPStatus(t *testing.T) {
	for code, want := range map[ErrorCode]int{
		ErrBadRequest: 400, ErrNotFound: 404, ErrConflict: 409, ErrRefused: 422,
		ErrUnavailable: 503, ErrTimeout: 504, ErrInternal: 500, "no-such-code": 500,
	} {
		if got := HTTPStatus(code); got != want {
			t.Errorf("HTTPStatus(%q) = %d, want %d", code, got, want)
		}
	}
	if e := Errorf(ErrConflict, "camera %s is busy", "0xab"); e.Error() != "conflict: camera 0xab is busy" {
		t.Errorf("Errorf = %q", e.Error())
	}
	if CodeOf(errors.New("plain")) != ErrInternal {
		t.Error("a plain error is not internal")
	}
}

// WithDialer carries every connection, to an address the system's network
// does not have (a tailnet's), and keeps the pin.
func TestClientWithDialer(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"hub_address":"0x0000000000000000000000000000000000000001"}`))
	}))
	defer srv.Close()
	pin := apitls.Of(srv.Certificate().Raw)
	var mu sync.Mutex
	var dialed []string
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dialed = append(dialed, addr)
		mu.Unlock()
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}
	c, err := NewClient("https://100.64.0.9#sha256=" + pin.String())
	if err != nil {
		t.Fatal(err)
	}
	c.WithDialer(dial)
	if _, err := c.Status(context.Background()); err != nil {
		t.Fatalf("status through the dialer: %v", err)
	}
	if len(dialed) != 1 || dialed[0] != "100.64.0.9:443" {
		t.Fatalf("dialed %q, want [100.64.0.9:443]", dialed)
	}
	wrong, _ := NewClient("https://100.64.0.9#sha256=" + strings.Repeat("ab", 32))
	_, err = wrong.WithDialer(dial).Status(context.Background())
	var pe *apitls.PinError
	if !errors.As(err, &pe) {
		t.Fatalf("a wrong pin through the dialer: %v, want a PinError", err)
	}
}
