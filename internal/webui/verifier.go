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

// VerifierPage returns the offline verifier with bundle inside (standard
// base64): a file a stranger opens in a browser, from disk, to check the
// bundle with no network and nothing to install.
func VerifierPage(bundle []byte) ([]byte, error) {
	i := bytes.Index(verifierPage, []byte(bundleMarker))
	if i < 0 || bytes.Count(verifierPage, []byte(bundleMarker)) != 1 {
		return nil, fmt.Errorf("webui: the embedded verifier has no single bundle marker (run make ui)")
	}
	out := make([]byte, 0, len(verifierPage)+base64.StdEncoding.EncodedLen(len(bundle)))
	out = append(out, verifierPage[:i]...)
	out = base64.StdEncoding.AppendEncode(out, bundle)
	return append(out, verifierPage[i+len(bundleMarker):]...), nil
}
