package webui

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/testutil/interop"
	"github.com/camchain/camchain/internal/witness"
)

// The page's verifier (ui/src/evidence.ts) gives Go's verdict on Go's
// bundles: ui/test/evidence.test.mjs checks every case of
// internal/evidence's vectors (kinds and whole reports), and here each
// vector bundle is also corrupted at bytes spread over all of it — one bit
// flipped each time, and cuts — with the verdict of evidence.VerifyBytes on
// each written down for the page to match.
func TestEvidenceVerifierAgreesWithGo(t *testing.T) {
	root, err := interop.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ui := filepath.Join(root, "ui")
	if _, err := os.Stat(filepath.Join(ui, "node_modules", "esbuild", "package.json")); err != nil {
		t.Fatalf("the UI toolchain is not installed (%v): run `npm ci --prefix ui` (or `make deps`)", err)
	}
	type diffCase struct {
		Bundle   string `json:"bundle"`
		Offset   int    `json:"offset"`
		Xor      byte   `json:"xor"`
		Truncate int    `json:"truncate,omitempty"`
		Witness  string `json:"witness,omitempty"`
		Pin      string `json:"pin"`
		Now      string `json:"now"`
		Expect   string `json:"expect"`
	}
	var cases []diffCase
	kinds := map[string]int{}
	for _, name := range []string{"bundle-v1", "bundle-v2", "bundle-v3"} {
		data, err := os.ReadFile(filepath.Join(root, "internal", "evidence", "testdata", name+".cbor"))
		if err != nil {
			t.Fatal(err)
		}
		var vec struct {
			Now     string `json:"now"`
			Witness string `json:"witness"`
			Cases   []struct {
				Pin string `json:"pinned_validators_hash"`
			} `json:"cases"`
		}
		raw, err := os.ReadFile(filepath.Join(root, "internal", "evidence", "testdata", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &vec); err != nil {
			t.Fatal(err)
		}
		now, err := time.Parse(time.RFC3339, vec.Now)
		if err != nil {
			t.Fatal(err)
		}
		pin, _ := hex.DecodeString(vec.Cases[0].Pin)
		opts := evidence.Options{PinnedValidatorsHash: pin, Now: now}
		if vec.Witness != "" {
			k, err := witness.ParseKey(vec.Witness)
			if err != nil {
				t.Fatal(err)
			}
			opts.Witnesses = []witness.Key{k}
		}
		verdict := func(b []byte) string {
			_, err := evidence.VerifyBytes(b, opts)
			return evidence.KindOf(err)
		}
		add := func(c diffCase, b []byte) {
			c.Bundle, c.Pin, c.Now, c.Witness, c.Expect = name, hex.EncodeToString(pin), vec.Now, vec.Witness, verdict(b)
			kinds[c.Expect]++
			cases = append(cases, c)
		}
		const spread = 61 // bytes flipped per bundle
		for i := range spread {
			off := i * len(data) / spread
			b := bytes.Clone(data)
			x := byte(1) << (i % 8)
			b[off] ^= x
			add(diffCase{Offset: off, Xor: x}, b)
		}
		for _, n := range []int{len(data) - 1, len(data) / 2, 40} {
			add(diffCase{Offset: -1, Truncate: n}, data[:n])
		}
	}
	t.Logf("%d corrupted bundles, Go's verdicts: %v", len(cases), kinds)
	if len(kinds) < 8 {
		t.Fatalf("the corruptions reach only %d kinds of failure: %v", len(kinds), kinds)
	}
	f := filepath.Join(t.TempDir(), "cases.json")
	enc, _ := json.Marshal(cases)
	if err := os.WriteFile(f, enc, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "--test", "test/evidence.test.mjs")
	cmd.Dir = ui
	cmd.Env = append(os.Environ(), "EVIDENCE_CASES="+f)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test test/evidence.test.mjs: %v\n%s", err, out)
	}
}

// VerifierPage puts the bundle, base64 of 48 KiB pieces one an element,
// in place of the marker and leaves the rest of the page as built.
func TestVerifierPage(t *testing.T) {
	bundle := make([]byte, 200<<10)
	copy(bundle, "\x87\x71camchain-evidence\x01 any bytes")
	for i := 40; i < len(bundle); i++ {
		bundle[i] = byte(i * 7)
	}
	page, err := VerifierPage(bundle)
	if err != nil {
		t.Fatal(err)
	}
	got, err := EmbeddedBundle(page)
	if err != nil || !bytes.Equal(got, bundle) || bytes.Contains(page, []byte(bundleMarker)) {
		t.Fatalf("the bundle is not where the page reads it: %v", err)
	}
	start := bytes.Index(page, []byte(bundleOpen))
	end := bytes.LastIndex(page, []byte(bundleOpen))
	end += bytes.Index(page[end:], []byte(bundleClose)) + len(bundleClose)
	lines := bytes.Split(page[start:end], []byte("\n"))
	if len(lines) != 5 {
		t.Fatalf("%d bundle elements, want 5", len(lines))
	}
	for k, l := range lines {
		text, ok := bytes.CutPrefix(l, []byte(bundleOpen))
		if text, ok2 := bytes.CutSuffix(text, []byte(bundleClose)); !ok || !ok2 || (k < 4 && len(text) != 65536) || (k == 4 && len(text) != base64.StdEncoding.EncodedLen(len(bundle)%bundlePieceBytes)) {
			t.Fatalf("element %d is %.80q…: want a whole element of 65,536 characters, the last of its piece's", k, l)
		}
	}
	if len(page) != len(verifierPage)-len(bundleMarker)+base64.StdEncoding.EncodedLen(len(bundle)-len(bundle)%bundlePieceBytes)+base64.StdEncoding.EncodedLen(len(bundle)%bundlePieceBytes)+4*len(bundleClose+"\n"+bundleOpen) {
		t.Fatalf("the page has %d bytes, want the template's with the bundle instead of the marker", len(page))
	}
	// A page whose pieces are in another order holds another bundle.
	swapped := bytes.Replace(page, lines[0], lines[1], 1)
	if got, err := EmbeddedBundle(swapped); err != nil || bytes.Equal(got, bundle) {
		t.Fatalf("a page with a piece changed reads as the bundle: %v", err)
	}
	for _, s := range []string{"http://", "https://", "connect-src", "<link", " src="} {
		if bytes.Contains(page, []byte(s)) && s != "connect-src" {
			t.Errorf("the page holds %q: it must load nothing", s)
		}
	}
	if !bytes.Contains(page, []byte(`content="default-src 'none'; script-src 'sha256-`)) {
		t.Error("the page's CSP does not start from default-src 'none' with a hashed script")
	}
}
