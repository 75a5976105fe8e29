package webui

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"fmt"
)

// verifierPage is the offline evidence verifier `make ui` builds from
// ui/src/verifier.ts (docs/SPEC.md §10.6): one HTML file, its script and
// stylesheet inline and allowed by their hashes in its own
// Content-Security-Policy, which allows no connection at all.
//
//go:embed verifier/verify.html
var verifierPage []byte

// bundleMarker is where the page holds its bundle: the text of its
// <script id="bundle" type="application/octet-stream"> element, which the
// browser never runs.
const bundleMarker = "@@BUNDLE@@"

// bundleOpen opens the element that holds the bundle.
const bundleOpen = `<script id="bundle" type="application/octet-stream">`

// EmbeddedBundle is the bundle a page of VerifierPage holds.
func EmbeddedBundle(page []byte) ([]byte, error) {
	i := bytes.Index(page, []byte(bundleOpen))
	if i < 0 {
		return nil, fmt.Errorf("webui: no bundle element in the page")
	}
	text := page[i+len(bundleOpen):]
	j := bytes.Index(text, []byte("</script>"))
	if j < 0 {
		return nil, fmt.Errorf("webui: the bundle element is not closed")
	}
	return base64.StdEncoding.DecodeString(string(bytes.ReplaceAll(text[:j], []byte("\n"), nil)))
}

// VerifierPage returns the offline verifier with bundle inside (standard
// base64, in lines of bundleLineChars): a file a stranger opens in a browser, from disk, to check the
// bundle with no network and nothing to install.
func VerifierPage(bundle []byte) ([]byte, error) {
	i := bytes.Index(verifierPage, []byte(bundleMarker))
	if i < 0 || bytes.Count(verifierPage, []byte(bundleMarker)) != 1 {
		return nil, fmt.Errorf("webui: the embedded verifier has no single bundle marker (run make ui)")
	}
	n := base64.StdEncoding.EncodedLen(len(bundle))
	out := make([]byte, 0, len(verifierPage)+n+n/bundleLineChars+1)
	out = append(out, verifierPage[:i]...)
	for len(bundle) > 0 {
		k := min(len(bundle), bundleLineChars/4*3)
		out = base64.StdEncoding.AppendEncode(out, bundle[:k])
		if bundle = bundle[k:]; len(bundle) > 0 {
			out = append(out, '\n')
		}
	}
	return append(out, verifierPage[i+len(bundleMarker):]...), nil
}

// bundleLineChars is the length of the page's base64 lines: Chromium
// parses a megabytes-long text in 64 KiB lines some 20 % faster than as
// one line (measured on an 80 MB page), and base64 decoders skip the
// newlines.
const bundleLineChars = 64 << 10
