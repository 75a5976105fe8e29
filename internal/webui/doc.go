// Package webui serves camchain's web UI: the files `make ui` builds from
// ui/ (TypeScript, no framework) into dist/, committed and embedded here
// with go:embed, so `go build` needs no Node.js. The hub serves them at /
// on its own origin under a strict Content-Security-Policy: the page loads
// nothing and talks to nothing but that origin (docs/SPEC.md §12).
package webui
