package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/camchain/camchain/internal/viewchain"
)

// TestWatchLiveParts: a real RTSP camera fed by ffmpeg, the agent
// streaming parts (--parts 200ms), the hub, and `camchain watch --parts`:
// parts arrive and verify before their segments close, every segment's
// record seals its parts, and the file decodes with no error. Through a
// proxy that drops, reorders or alters one part, watch exits 1 naming the
// break.
func TestWatchLiveParts(t *testing.T) {
	cam := runTestcam(t)
	publish(t, "rtsp://"+cam.addr+"/main", "640x360", h264AAC)
	h := initHub(t)
	h.run(t)
	a := runAgent(t, filepath.Join(t.TempDir(), "agent"), "--source", "rtsp://"+cam.addr+"/main", "--segment", "1s", "--parts", "200ms")
	owner := newWallet(t)
	// E2EE off: watch --parts writes what ffmpeg and ffprobe decode and
	// count frames of; TestE2EE watches sealed parts with the owner's key.
	camera := pairClear(t, h, a, owner)
	if rc, _, errs := camchain(append([]string{"login", "--hub", h.url()}, owner.flags()...)...); rc != 0 {
		t.Fatalf("login: %s", errs)
	}
	waitFor(t, 40*time.Second, "segments acknowledged", func() bool { return seqOf(a.status(t).Acked) >= 1 })

	out := filepath.Join(t.TempDir(), "live.mp4")
	rc, stdout, stderr := camchain("watch", "--camera", camera, "--hub", h.url(), "--parts", "--segments", "4", "--out", out, "--timeout", "60s")
	if rc != 0 || !strings.Contains(stdout, "verified 4 segment(s)") || !strings.Contains(stdout, "part(s) checked before their segment closed") {
		t.Fatalf("watch --parts: exit %d\n%s%s", rc, stdout, stderr)
	}
	// 1 s segments in 200 ms parts: about 5 parts each, for the 3 or more
	// segments after the first (stored) one.
	var nparts int
	if i := strings.Index(stdout, "part(s) checked"); i > 0 {
		f := strings.Fields(stdout[:i])
		nparts, _ = strconv.Atoi(f[len(f)-1])
	}
	if nparts < 10 {
		t.Fatalf("only %d parts checked:\n%s", nparts, stdout)
	}
	if b, err := exec.Command("ffmpeg", "-v", "error", "-i", out, "-f", "null", "-").CombinedOutput(); err != nil || len(b) != 0 {
		t.Fatalf("ffmpeg decoding the file watched with parts: %v\n%s", err, b)
	}
	probe, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", out).Output()
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := strconv.Atoi(strings.TrimSpace(string(probe))); n < 3*20 {
		t.Fatalf("the file has %s frames, want at least 60", probe)
	}

	// Through a tampering proxy, with the CLI's session under its URL.
	proxy := &partProxy{hub: mustParse(t, "http://"+h.http)}
	ps := httptest.NewServer(proxy)
	defer ps.Close()
	copyLogin(t, h.url(), ps.URL)
	for name, tc := range map[string]struct {
		tamper func(k int, b []byte) [][]byte // k: the part's number in the session
		want   string
	}{
		"drop a part":      {func(k int, b []byte) [][]byte { return unless(k == 2, b) }, "missing"},
		"reorder parts":    {holdOne(2), "missing"},
		"alter a part":     {func(k int, b []byte) [][]byte { return alterPart(k == 3, b) }, "altered"},
		"replay a part":    {func(k int, b []byte) [][]byte { return twiceIf(k == 1, b) }, "replayed"},
		"cut a part short": {func(k int, b []byte) [][]byte { return cutIf(k == 2, b) }, "altered"},
	} {
		proxy.set(tc.tamper)
		rc, stdout, stderr := camchain("watch", "--camera", camera, "--hub", ps.URL, "--parts", "--segments", "3", "--timeout", "60s")
		if rc != 1 || !strings.Contains(stderr, "viewer chain broken") || !strings.Contains(stderr, ": "+tc.want+": ") {
			t.Errorf("%s: exit %d\n%s%s", name, rc, stdout, stderr)
		}
	}
}

// partProxy relays plain requests to the hub and a playback socket
// message by message, its part frames through tamper.
type partProxy struct {
	hub    *url.URL
	mu     sync.Mutex
	tamper func(k int, b []byte) [][]byte
}

func (p *partProxy) set(f func(int, []byte) [][]byte) {
	p.mu.Lock()
	p.tamper = f
	p.mu.Unlock()
}

func (p *partProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		httputil.NewSingleHostReverseProxy(p.hub).ServeHTTP(w, r)
		return
	}
	p.mu.Lock()
	tamper := p.tamper
	p.mu.Unlock()
	ctx := r.Context()
	up := *p.hub
	up.Scheme, up.Path, up.RawQuery = "ws", r.URL.Path, r.URL.RawQuery
	hs, _, err := websocket.Dial(ctx, up.String(), &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": r.Header.Values("Authorization")}})
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer hs.CloseNow()
	hs.SetReadLimit(viewchain.MaxFrame)
	vc, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer vc.CloseNow()
	k := 0
	for {
		typ, b, err := hs.Read(ctx)
		if err != nil {
			if code := websocket.CloseStatus(err); code != -1 {
				var ce websocket.CloseError
				errors.As(err, &ce)
				vc.Close(code, ce.Reason)
			}
			return
		}
		out := [][]byte{b}
		if typ == websocket.MessageBinary && len(b) > 0 && b[0] == viewchain.FramePart && tamper != nil {
			out = tamper(k, b)
			k++
		}
		for _, m := range out {
			if err := vc.Write(ctx, typ, m); err != nil {
				return
			}
		}
	}
}

func unless(drop bool, b []byte) [][]byte {
	if drop {
		return nil
	}
	return [][]byte{b}
}

func twiceIf(yes bool, b []byte) [][]byte {
	if yes {
		return [][]byte{b, b}
	}
	return [][]byte{b}
}

func alterPart(yes bool, b []byte) [][]byte {
	if !yes {
		return [][]byte{b}
	}
	c := append([]byte(nil), b...)
	c[len(c)-1] ^= 1 // the part's last byte
	return [][]byte{c}
}

func cutIf(yes bool, b []byte) [][]byte {
	if yes {
		return [][]byte{b[:len(b)-1]}
	}
	return [][]byte{b}
}

// holdOne holds part k back and sends it after part k+1.
func holdOne(k int) func(int, []byte) [][]byte {
	var held []byte
	return func(j int, b []byte) [][]byte {
		switch j {
		case k:
			held = b
			return nil
		case k + 1:
			return [][]byte{b, held}
		}
		return [][]byte{b}
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// copyLogin makes the CLI's login session for hub usable under another
// URL (the proxy in front of it): sessions live in
// $CAMCHAIN_HOME/sessions, named by the hub URL's hash.
func copyLogin(t *testing.T, hub, as string) {
	t.Helper()
	path := func(u string) string {
		sum := sha256.Sum256([]byte(u))
		return filepath.Join(os.Getenv("CAMCHAIN_HOME"), "sessions", hex.EncodeToString(sum[:8])+".json")
	}
	b, err := os.ReadFile(path(hub))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path(as), []byte(strings.ReplaceAll(string(b), hub, as)), 0o600); err != nil {
		t.Fatal(err)
	}
}
