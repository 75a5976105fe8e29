package cli

import (
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
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/camchain/camchain/internal/viewchain"
)

// tamperProxy sits between `camchain watch` and the hub: plain requests
// pass through, and a playback socket is relayed message by message, its
// binary messages (frames) through tamper, which returns what to send on
// for the i-th frame (nothing: dropped). end, if set, decides whether the
// hub's normal close is passed on.
type tamperProxy struct {
	hub    *url.URL
	tamper func(i int, frame []byte) [][]byte
}

func (p *tamperProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		httputil.NewSingleHostReverseProxy(p.hub).ServeHTTP(w, r)
		return
	}
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
	var i int
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
		if typ == websocket.MessageBinary && p.tamper != nil {
			out = p.tamper(i, b)
			i++
		}
		for _, m := range out {
			if err := vc.Write(ctx, typ, m); err != nil {
				return
			}
		}
	}
}

// TestWatchVerifiesAndNamesTampering: `camchain watch` of a recorded range
// of real sample segments verifies, and the file it writes decodes in
// ffmpeg with no error; through a proxy that drops, swaps, replays or
// alters one segment, or cuts the range's end, it exits 1 naming the break.
func TestWatchVerifiesAndNamesTampering(t *testing.T) {
	h, hubURL := startHub(t)
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	rc := newRecordedCamera(t, h, hubURL, 6, start)
	cam := rc.cam
	camHex := cam.Address().Hex()
	rc.toHub(t)
	from, to := start.Format(time.RFC3339), start.Add(time.Hour-time.Minute).Format(time.RFC3339)
	out := filepath.Join(t.TempDir(), "watched.mp4")
	r := runCLI("watch", "--camera", camHex, "--hub", hubURL, "--from", from, "--to", to, "--out", out).must(t, 0, "")
	if !strings.Contains(r.stdout, "verified 6 segment(s), records #0–#5") || !strings.Contains(r.stderr, "codec avc1.4d401e (H.264)") {
		t.Fatalf("watch:\n%s\n%s", r.stdout, r.stderr)
	}
	ff := exec.Command("ffmpeg", "-v", "error", "-i", out, "-f", "null", "-")
	if b, err := ff.CombinedOutput(); err != nil || len(b) != 0 {
		t.Fatalf("ffmpeg decoding the watched file: %v\n%s", err, b)
	}
	probe, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", out).Output()
	if err != nil {
		t.Fatal(err)
	}
	// Every frame of the six segments is in the file: 2 s segments of the
	// 25 fps sample (§6.2).
	const frames = 6 * 50
	if got := strings.TrimSpace(string(probe)); got != strconv.Itoa(frames) {
		t.Errorf("ffprobe counts %s video frames, want %d", got, frames)
	}

	// The same through a tampering proxy. The session is the hub's, under
	// the proxy's URL.
	proxy := &tamperProxy{hub: mustURL(t, hubURL)}
	ps := httptest.NewServer(proxy)
	defer ps.Close()
	copySession(t, hubURL, ps.URL)
	flip := func(b []byte) []byte { c := append([]byte(nil), b...); c[len(c)-100] ^= 1; return c }
	for name, tc := range map[string]struct {
		tamper func(i int, b []byte) [][]byte
		want   string
	}{
		"drop segment 2":    {func(i int, b []byte) [][]byte { return keepUnless(i == 2, b) }, "missing"},
		"swap segments 1,2": {swapper(1), "missing"},
		"replay segment 1":  {func(i int, b []byte) [][]byte { return repeatIf(i == 1, b) }, "replayed"},
		"alter segment 3":   {func(i int, b []byte) [][]byte { return alterIf(i == 3, b, flip) }, "altered"},
		"cut the end":       {func(i int, b []byte) [][]byte { return keepUnless(b[0] == viewchain.FrameEnd, b) }, "truncated"},
	} {
		proxy.tamper = tc.tamper
		r := runCLI("watch", "--camera", camHex, "--hub", ps.URL, "--from", from, "--to", to, "--out", filepath.Join(t.TempDir(), "x.mp4"))
		if r.code != 1 || !strings.Contains(r.stderr, "viewer chain broken") || !strings.Contains(r.stderr, ": "+tc.want+": ") {
			t.Errorf("%s: exit %d\n%s\n%s", name, r.code, r.stdout, r.stderr)
		}
	}
	proxy.tamper = nil
	runCLI("watch", "--camera", camHex, "--hub", ps.URL, "--from", from, "--to", to).must(t, 0, "")

	// Usage errors exit 2.
	runCLI("watch", "--hub", hubURL).must(t, 2, "--camera is required")
	runCLI("watch", "--camera", camHex, "--hub", hubURL, "--to", to).must(t, 2, "--to needs a --from")
	runCLI("watch", "--camera", camHex, "--hub", hubURL, "--stream", "side").must(t, 2, "main or sub")
	runCLI("watch", "--camera", camHex, "--hub", hubURL, "--from", from, "--to", to, "--parts").must(t, 2, "--parts is for live view")
}

func keepUnless(drop bool, b []byte) [][]byte {
	if drop {
		return nil
	}
	return [][]byte{b}
}

func repeatIf(again bool, b []byte) [][]byte {
	if again {
		return [][]byte{b, b}
	}
	return [][]byte{b}
}

func alterIf(yes bool, b []byte, f func([]byte) []byte) [][]byte {
	if yes {
		return [][]byte{f(b)}
	}
	return [][]byte{b}
}

// swapper holds frame i back and sends it after frame i+1.
func swapper(i int) func(int, []byte) [][]byte {
	var held []byte
	return func(j int, b []byte) [][]byte {
		switch j {
		case i:
			held = b
			return nil
		case i + 1:
			return [][]byte{b, held}
		}
		return [][]byte{b}
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// copySession makes the CLI's session for hub usable under another URL
// (the proxy in front of it).
func copySession(t *testing.T, hub, as string) {
	t.Helper()
	from, _ := sessionPath(hub)
	to, _ := sessionPath(as)
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.ReplaceAll(string(b), hub, as))
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
