package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/evidence/evidencetest"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/testutil/interop"
	"github.com/camchain/camchain/internal/verify/verifytest"
	"github.com/camchain/camchain/internal/webui"
	"github.com/camchain/camchain/internal/witness"
)

// verifierPage is one page for ui/test/verifier.test.mjs to open: the
// offline verifier with a bundle inside, the trust to give it in its URL
// fragment, and what `camchain evidence verify` said of that bundle.
type verifierPage struct {
	Name     string           `json:"name"`
	File     string           `json:"file"`
	Fragment string           `json:"fragment"`
	Expect   string           `json:"expect"`           // the CLI's error_kind, or "ok"
	Pinned   bool             `json:"pinned"`           // the CLI verified against a pin
	Report   *evidence.Report `json:"report,omitempty"` // the CLI's report
	Play     bool             `json:"play,omitempty"`   // play clip 0 and check it decodes
}

// TestHTMLVerifierInChromium opens the offline evidence verifier
// (`camchain evidence export --html`'s page) from file:// in Debian's
// Chromium with every network request refused, on bundles a real hub made
// of real video — genuine, unpinned, wrongly pinned, tampered — and on
// every case of internal/evidence's vectors, and checks that the page's
// verdict is the one the real `camchain evidence verify --json` gives on
// the same bundle (its report too, field for field, when it verifies), and
// that a verified clip plays.
func TestHTMLVerifierInChromium(t *testing.T) {
	ui, chromium := browserTestDeps(t)
	ctx := context.Background()
	hubDir := filepath.Join(t.TempDir(), "hub")
	h, err := evidencetest.StartHub(hubDir)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	cam, err := evidencetest.NewCamera(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	// Six segments of the built-in sample (H.264 fMP4), under two checkpoints.
	sample := verifytest.NewChain(cam.Key, 0)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := sample.AppendSample(6, t0); err != nil {
		t.Fatal(err)
	}
	if err := cam.RecordData(sample.Segments[:4], t0, 2*time.Second, sample.Records[0].Codec); err != nil {
		t.Fatal(err)
	}
	if err := cam.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cam.RecordData(sample.Segments[4:], t0.Add(8*time.Second), 2*time.Second, sample.Records[0].Codec); err != nil {
		t.Fatal(err)
	}
	if err := cam.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	genuine, err := cam.Export(ctx, t0, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	// The sub stream's chain, its own checkpoint series and witness log.
	sub := cam.Sub()
	if err := sub.Record(3, t0, 2*time.Second, 300); err != nil {
		t.Fatal(err)
	}
	if err := sub.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	subBundle, err := sub.Export(ctx, t0, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	pin, err := evidencetest.PinnedValidatorsHash(hubDir)
	if err != nil {
		t.Fatal(err)
	}
	pinHex := hex.EncodeToString(pin)

	dir := t.TempDir()
	var pages []verifierPage
	// page writes the verifier with bundle inside and asks the real CLI
	// what it makes of the bundle under the same trust.
	page := func(name string, bundle []byte, pinned string, witnesses []string, play bool) {
		t.Helper()
		cbor := filepath.Join(dir, name+".cbor")
		html, err := webui.VerifierPage(bundle)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cbor, bundle, 0o600); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, name+".html")
		if err := os.WriteFile(file, html, 0o600); err != nil {
			t.Fatal(err)
		}
		args := []string{"evidence", "verify", cbor, "--json"}
		frag := []string{}
		if pinned != "" {
			args = append(args, "--validators-hash", pinned)
			frag = append(frag, "pin="+pinned)
		} else {
			args = append(args, "--no-pin")
		}
		for _, w := range witnesses {
			args = append(args, "--witness", w)
			frag = append(frag, "witness="+strings.ReplaceAll(w, "+", "%2B"))
		}
		code, out, errs := camchain(args...)
		var res struct {
			SelfConsistent bool             `json:"self_consistent"`
			Kind           string           `json:"error_kind"`
			Report         *evidence.Report `json:"report"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%s: camchain evidence verify --json (exit %d): %v\n%s%s", name, code, err, out, errs)
		}
		p := verifierPage{Name: name, File: file, Fragment: strings.Join(frag, "&"), Expect: res.Kind, Report: res.Report, Pinned: pinned != "", Play: play}
		if res.Kind == "" || (pinned == "" && res.SelfConsistent) { // --no-pin: all but the pin verified
			p.Expect = "ok"
		}
		// The CLI and the library agree (the CLI is what a person runs).
		_, goErr := evidence.VerifyBytes(bundle, evidence.Options{PinnedValidatorsHash: mustHex(t, pinned), Now: time.Now(), Witnesses: parseWitnesses(t, witnesses)})
		if k := evidence.KindOf(goErr); k != p.Expect {
			t.Fatalf("%s: the CLI says %s, evidence.VerifyBytes %s", name, p.Expect, k)
		}
		pages = append(pages, p)
	}

	page("genuine", genuine, pinHex, nil, true)
	page("genuine-unpinned", genuine, "", nil, false)
	page("wrong-pin", genuine, strings.Repeat("ab", 32), nil, false)
	page("sub-stream", subBundle, pinHex, nil, false)
	flip := func(at int, x byte) []byte {
		b := bytes.Clone(genuine)
		b[at] ^= x
		return b
	}
	decoded, err := evidence.Decode(genuine)
	if err != nil {
		t.Fatal(err)
	}
	at := func(part []byte) int {
		i := bytes.Index(genuine, part)
		if i < 0 {
			t.Fatal("a part of the bundle is not in its bytes")
		}
		return i
	}
	page("segment-altered", flip(at(decoded.Clips[3].Segment)+len(decoded.Clips[3].Segment)/2, 0x10), pinHex, nil, false)
	page("record-altered", flip(at(decoded.Clips[1].Record)+40, 0x01), pinHex, nil, false)
	page("header-altered", flip(at(decoded.Checkpoints[1].Header)+len(decoded.Checkpoints[1].Header)/2, 0x01), pinHex, nil, false)
	page("commit-altered", flip(at(decoded.Checkpoints[0].NextHeader)+len(decoded.Checkpoints[0].NextHeader)-3, 0x01), pinHex, nil, false)
	page("trailing-byte", append(bytes.Clone(genuine), 0), pinHex, nil, false)
	page("truncated", genuine[:len(genuine)-100], pinHex, nil, false)

	// A sealed camera's bundle (SPEC §10.8): the sample's segments sealed
	// under a content key; without keys the page verifies and plays
	// nothing; with clip 0's key revealed it plays clip 0 from its
	// plaintext; with a wrong key it fails as the CLI does (reveal).
	sealedCam, err := evidencetest.NewCamera(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := e2ee.NewContentKey(sealedCam.Key.Address(), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	var sealedSegs [][]byte
	for i, seg := range sample.Segments[:2] {
		sk, _ := ck.Segment(feedchain.StreamMain, uint64(i))
		s, err := sk.Seal(0, seg)
		if err != nil {
			t.Fatal(err)
		}
		sealedSegs = append(sealedSegs, s)
	}
	if err := sealedCam.RecordData(sealedSegs, t0, 2*time.Second, sample.Records[0].Codec); err != nil {
		t.Fatal(err)
	}
	if err := sealedCam.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	sealedBundle, err := sealedCam.Export(ctx, t0, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := evidence.Decode(sealedBundle)
	if err != nil {
		t.Fatal(err)
	}
	sk0, _ := ck.Segment(feedchain.StreamMain, 0)
	sb.Reveals = []evidence.Reveal{{Seq: 0, Serial: 1, Key: sk0.Bytes()}}
	revealedBundle, err := sb.Encode()
	if err != nil {
		t.Fatal(err)
	}
	sb.Reveals[0].Key = bytes.Repeat([]byte{9}, 32)
	wrongKey, _ := sb.Encode()
	page("sealed", sealedBundle, pinHex, nil, false)
	page("revealed", revealedBundle, pinHex, nil, true)
	page("revealed-wrong-key", wrongKey, pinHex, nil, false)

	// Every case of the Go vectors, as a page.
	root, err := interop.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bundle-v1", "bundle-v2", "bundle-v3"} {
		data, err := os.ReadFile(filepath.Join(root, "internal", "evidence", "testdata", name+".cbor"))
		if err != nil {
			t.Fatal(err)
		}
		var vec struct {
			Witness string `json:"witness"`
			Cases   []struct {
				Pin     string `json:"pinned_validators_hash"`
				Variant string `json:"variant"` // bundle-v3's attacks: a bundle file of its own
				Trust   bool   `json:"trust_witness"`
				Append  string `json:"append"`
				Flip    *struct {
					Offset int  `json:"offset"`
					Xor    byte `json:"xor"`
				} `json:"flip"`
			} `json:"cases"`
		}
		raw, err := os.ReadFile(filepath.Join(root, "internal", "evidence", "testdata", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &vec); err != nil {
			t.Fatal(err)
		}
		for i, c := range vec.Cases {
			b := bytes.Clone(data)
			if c.Variant != "" {
				if b, err = os.ReadFile(filepath.Join(root, "internal", "evidence", "testdata", c.Variant)); err != nil {
					t.Fatal(err)
				}
			}
			if c.Flip != nil {
				b[c.Flip.Offset] ^= c.Flip.Xor
			}
			if c.Append != "" {
				b = append(b, mustHex(t, c.Append)...)
			}
			var ws []string
			if c.Trust {
				ws = []string{vec.Witness}
			}
			page(fmt.Sprintf("%s-%02d", name, i), b, c.Pin, ws, false)
		}
	}

	list := filepath.Join(dir, "pages.json")
	enc, _ := json.Marshal(pages)
	if err := os.WriteFile(list, enc, 0o600); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, "node", "--test", "--test-concurrency=1", "test/verifier.test.mjs")
	cmd.Dir = ui
	cmd.Env = append(os.Environ(), "PAGES="+list, "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test test/verifier.test.mjs: %v\n%s", err, out)
	}
	t.Logf("node --test test/verifier.test.mjs:\n%s", out)
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseWitnesses(t *testing.T, vkeys []string) []witness.Key {
	t.Helper()
	var out []witness.Key
	for _, v := range vkeys {
		k, err := witness.ParseKey(v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, k)
	}
	return out
}
