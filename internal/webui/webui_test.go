package webui

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/pairing"
	"github.com/camchain/camchain/internal/testutil/interop"
)

// TestCommittedBuildIsFresh rebuilds the UI from ui/ with the pinned
// toolchain and fails when the committed dist/ differs: a source change
// without `make ui` (or a hand edit of dist/) cannot land.
func TestCommittedBuildIsFresh(t *testing.T) {
	root, err := interop.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ui := filepath.Join(root, "ui")
	if _, err := os.Stat(filepath.Join(ui, "node_modules", "esbuild", "package.json")); err != nil {
		t.Fatalf("the UI toolchain is not installed (%v): run `npm ci --prefix ui` (or `make deps`)", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("Node.js is not on PATH: %v", err)
	}
	out, verOut := t.TempDir(), t.TempDir()
	cmd := exec.Command(node, "build.mjs", "--out", out, "--verifier-out", verOut)
	cmd.Dir = ui
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	want := readDir(t, out)
	got := readDir(t, filepath.Join(root, "internal", "webui", "dist"))
	for name, b := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("dist/%s is missing from the committed build: run `make ui` and commit internal/webui/dist", name)
		case !bytes.Equal(g, b):
			t.Errorf("dist/%s differs from a fresh build of ui/: run `make ui` and commit internal/webui/dist", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("dist/%s is not produced by the build of ui/ (stale file): run `make ui`", name)
		}
	}
	fresh, err := os.ReadFile(filepath.Join(verOut, "verify.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, verifierPage) {
		t.Error("verifier/verify.html differs from a fresh build of ui/: run `make ui` and commit internal/webui/verifier")
	}
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range es {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

// TestBuildLoadsNothingElsewhere: the page names only its own files, and
// no built file carries a URL to another origin.
func TestBuildLoadsNothingElsewhere(t *testing.T) {
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	index := string(h.assets["/"].plain)
	refs := regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(index, -1)
	if len(refs) < 2 {
		t.Fatalf("index.html references %d files, want the script and the stylesheet", len(refs))
	}
	for _, m := range refs {
		if h.assets[m[1]] == nil {
			t.Errorf("index.html references %q, which the UI does not serve", m[1])
		}
	}
	url := regexp.MustCompile(`(?i)(?:https?:|wss?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	for p, a := range h.assets {
		if m := url.Find(a.plain); m != nil {
			t.Errorf("%s carries a URL to another origin: %q", p, m)
		}
	}
}

func TestHandler(t *testing.T) {
	fsys := fstest.MapFS{
		"d/index.html":     {Data: []byte(`<!doctype html><script src="/app-1.js"></script>` + strings.Repeat(" ", 200))},
		"d/app-1.js":       {Data: []byte(strings.Repeat("console.log(1);", 100))},
		"d/sub/ignored.js": {Data: []byte("x")},
	}
	h, err := newHandler(fsys, "d")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(h.Paths(), " "); got != "/ /app-1.js" {
		t.Fatalf("paths %q", got)
	}
	do := func(method, path string, hdr ...string) *http.Response {
		r := httptest.NewRequest(method, path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Result()
	}
	// index: no-cache, the strict CSP, gzip when asked.
	res := do("GET", "/", "Accept-Encoding", "gzip, br")
	if res.StatusCode != 200 || res.Header.Get("Content-Security-Policy") != CSP || res.Header.Get("Cache-Control") != "no-cache" ||
		res.Header.Get("Content-Encoding") != "gzip" || res.Header.Get("X-Frame-Options") != "DENY" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("index: %d %v", res.StatusCode, res.Header)
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(zr)
	if !bytes.Equal(b, fsys["d/index.html"].Data) {
		t.Fatalf("gunzipped index differs")
	}
	// Plain for a client that does not take gzip, or refuses it.
	for _, ae := range []string{"", "identity", "gzip;q=0", "br"} {
		res = do("GET", "/app-1.js", "Accept-Encoding", ae)
		b, _ = io.ReadAll(res.Body)
		if res.Header.Get("Content-Encoding") != "" || !bytes.Equal(b, fsys["d/app-1.js"].Data) {
			t.Fatalf("Accept-Encoding %q: encoding %q", ae, res.Header.Get("Content-Encoding"))
		}
	}
	if cc := do("GET", "/app-1.js").Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Fatalf("hashed asset Cache-Control %q", cc)
	}
	// Revalidation, HEAD, and what is not served.
	etag := res.Header.Get("ETag")
	if r := do("GET", "/app-1.js", "If-None-Match", etag); r.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", r.StatusCode)
	}
	if r := do("HEAD", "/"); r.StatusCode != 200 || r.ContentLength <= 0 {
		t.Fatalf("HEAD: %d %d", r.StatusCode, r.ContentLength)
	}
	for _, p := range []string{"/index.html", "/sub/ignored.js", "/app-2.js", "/../d/app-1.js"} {
		if r := do("GET", p); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, r.StatusCode)
		}
	}
	if r := do("POST", "/"); r.StatusCode != http.StatusNotFound {
		t.Errorf("POST /: %d", r.StatusCode)
	}
	if _, err := newHandler(fstest.MapFS{"d/app.js": {Data: []byte("x")}}, "d"); err == nil {
		t.Fatal("a build without index.html was accepted")
	}
}

// TestUIAgainstVectors runs ui/test/unit.test.mjs: the page's EIP-712
// digests, wallet JSON and transaction bytes against the ledger's domain-v2
// vectors, its signature recovery and normalisation, its reading of a
// pairing code made here, and its decoders against malformed input.
func TestUIAgainstVectors(t *testing.T) {
	root, err := interop.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ui := filepath.Join(root, "ui")
	if _, err := os.Stat(filepath.Join(ui, "node_modules", "esbuild", "package.json")); err != nil {
		t.Fatalf("the UI toolchain is not installed (%v): run `npm ci --prefix ui` (or `make deps`)", err)
	}
	cam, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	code, err := pairing.NewCode(cam.Address(), "192.0.2.7:4433", link.Pin{9, 9, 9}, 3, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "--test", "test/unit.test.mjs")
	cmd.Dir = ui
	cmd.Env = append(os.Environ(), "PAIRING_CODE="+code.String(), "PAIRING_CAMERA="+cam.Address().Hex(),
		"PAIRING_ADDR="+code.Addr, "PAIRING_EPOCH="+strconv.FormatUint(code.Epoch, 10), "PAIRING_EXPIRY="+strconv.FormatInt(code.Expiry, 10))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test test/unit.test.mjs: %v\n%s", err, out)
	}
}
