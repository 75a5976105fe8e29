package webui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed dist
var dist embed.FS

// CSP is the Content-Security-Policy of every UI response: scripts, styles,
// images and connections from the hub's own origin only (media also from
// blob: URLs, the player's MediaSource); no inline script
// or style, no eval, no plugins, no framing, no form posts, no <base>.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; media-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// asset is one built file, held plain and gzipped.
type asset struct {
	name, ctype, etag string
	plain, gz         []byte
	immutable         bool // a content-hashed name: cache forever
}

// Handler serves the embedded UI.
type Handler struct {
	assets map[string]*asset // by URL path
}

// New loads and compresses the embedded build once.
func New() (*Handler, error) {
	return newHandler(dist, "dist")
}

func newHandler(fsys fs.FS, root string) (*Handler, error) {
	h := &Handler{assets: map[string]*asset{}}
	entries, err := fs.ReadDir(fsys, root)
	if err != nil {
		return nil, fmt.Errorf("webui: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := fs.ReadFile(fsys, path.Join(root, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("webui: %w", err)
		}
		a := &asset{name: e.Name(), plain: b, ctype: mime.TypeByExtension(path.Ext(e.Name())),
			immutable: e.Name() != "index.html"}
		if a.ctype == "" {
			a.ctype = "application/octet-stream"
		}
		sum := sha256.Sum256(b)
		a.etag = `"` + hex.EncodeToString(sum[:16]) + `"`
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		if gz.Len() < len(b) {
			a.gz = gz.Bytes()
		}
		url := "/" + e.Name()
		if e.Name() == "index.html" {
			url = "/"
		}
		h.assets[url] = a
	}
	if h.assets["/"] == nil {
		return nil, fmt.Errorf("webui: the build has no index.html (run make ui)")
	}
	return h, nil
}

// Paths lists the URL paths the UI serves, for route registration.
func (h *Handler) Paths() []string {
	out := make([]string, 0, len(h.assets))
	for p := range h.assets {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// ServeHTTP serves one asset of Paths, gzipped when the client takes it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := h.assets[r.URL.Path]
	if a == nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	SecurityHeaders(hd)
	hd.Set("Content-Type", a.ctype)
	hd.Set("ETag", a.etag)
	hd.Set("Vary", "Accept-Encoding")
	if a.immutable {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	if match := r.Header.Get("If-None-Match"); match != "" && match == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.plain
	if a.gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		hd.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	hd.Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

// SecurityHeaders sets the headers every UI response carries.
func SecurityHeaders(hd http.Header) {
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=(), payment=()")
}

// acceptsGzip reports whether an Accept-Encoding value takes gzip with a
// non-zero quality.
func acceptsGzip(v string) bool {
	for _, part := range strings.Split(v, ",") {
		tok, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(tok), "gzip") {
			continue
		}
		q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
		if !ok {
			return true
		}
		f, err := strconv.ParseFloat(q, 64)
		return err == nil && f > 0
	}
	return false
}
