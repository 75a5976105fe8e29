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
// <script class="bundle" type="application/octet-stream"> element, which
// the browser never runs.
const bundleMarker = "@@BUNDLE@@"

// bundleOpen opens an element that holds a piece of the bundle.
const bundleOpen = `<script class="bundle" type="application/octet-stream">`

// bundleClose closes it.
const bundleClose = "</script>"

// EmbeddedBundle is the bundle a page of VerifierPage holds: its pieces'
// bytes, in the order of their elements.
func EmbeddedBundle(page []byte) ([]byte, error) {
	var out []byte
	n := 0
	for {
		i := bytes.Index(page, []byte(bundleOpen))
		if i < 0 {
			break
		}
		text := page[i+len(bundleOpen):]
		j := bytes.Index(text, []byte(bundleClose))
		if j < 0 {
			return nil, fmt.Errorf("webui: bundle element %d is not closed", n)
		}
		b, err := base64.StdEncoding.DecodeString(string(bytes.ReplaceAll(text[:j], []byte("\n"), nil)))
		if err != nil {
			return nil, fmt.Errorf("webui: bundle element %d: %w", n, err)
		}
		out = append(out, b...)
		page, n = text[j+len(bundleClose):], n+1
	}
	if n == 0 {
		return nil, fmt.Errorf("webui: no bundle element in the page")
	}
	return out, nil
}

// VerifierPage returns the offline verifier with bundle inside (standard
// base64 of successive pieces of bundlePieceBytes, each in an element of
// its own, one a line): a file a stranger opens in a browser, from disk, to check the
// bundle with no network and nothing to install.
func VerifierPage(bundle []byte) ([]byte, error) {
	i := bytes.Index(verifierPage, []byte(bundleMarker))
	if i < 0 || bytes.Count(verifierPage, []byte(bundleMarker)) != 1 {
		return nil, fmt.Errorf("webui: the embedded verifier has no single bundle marker (run make ui)")
	}
	if !bytes.HasSuffix(verifierPage[:i], []byte(bundleOpen)) || !bytes.HasPrefix(verifierPage[i+len(bundleMarker):], []byte(bundleClose)) {
		return nil, fmt.Errorf("webui: the verifier's bundle marker is not alone in its element (run make ui)")
	}
	n := base64.StdEncoding.EncodedLen(len(bundle))
	pieces := (len(bundle) + bundlePieceBytes - 1) / bundlePieceBytes
	out := make([]byte, 0, len(verifierPage)+n+pieces*(len(bundleClose)+1+len(bundleOpen)))
	out = append(out, verifierPage[:i]...)
	for len(bundle) > 0 {
		k := min(len(bundle), bundlePieceBytes)
		out = base64.StdEncoding.AppendEncode(out, bundle[:k])
		if bundle = bundle[k:]; len(bundle) > 0 {
			out = append(out, bundleClose+"\n"+bundleOpen...)
		}
	}
	return append(out, verifierPage[i+len(bundleMarker):]...), nil
}

// bundlePieceBytes is the size of the bundle's pieces, one an element:
// 65,536 characters of base64. Chromium appends the text of one element
// to the text it holds so far each time its parser yields, so a bundle of
// tens of megabytes in one element is copied over and over while the page
// loads (on an 80 MB page, the parse after the last byte arrived went from
// 0.4–1.8 s in one element of 64 KiB lines to 0.02–0.05 s in elements of
// 64 KiB); the page decodes each piece into its place in one buffer.
const bundlePieceBytes = 48 << 10
