package hub

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/camchain/camchain/internal/webui"
)

// TestHubServesTheUI: the page and its files at / on the API's origin,
// under the strict CSP; an unknown path is still the API's JSON 404.
func TestHubServesTheUI(t *testing.T) {
	h := startTestHub(t)
	base := "http://" + h.Addr()
	res, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") ||
		res.Header.Get("Content-Security-Policy") != webui.CSP || !strings.Contains(string(body), `<div id="app">`) {
		t.Fatalf("GET /: %d %v\n%s", res.StatusCode, res.Header, body)
	}
	ui, _ := webui.New()
	for _, p := range ui.Paths() {
		r, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 200 || r.Header.Get("Content-Security-Policy") != webui.CSP {
			t.Errorf("GET %s: %d", p, r.StatusCode)
		}
	}
	r, err := http.Get(base + "/nope.js")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 404 || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /nope.js: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
}
