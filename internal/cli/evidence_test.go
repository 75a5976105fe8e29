package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/evidence/evidencetest"
	"github.com/camchain/camchain/internal/webui"
)

// Export a bundle from a real hub, then verify it with the hub gone: as
// is, pinned to the genesis validator set, pinned to another, corrupted.
func TestEvidenceExportAndVerify(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "hub")
	h, err := evidencetest.StartHub(dir)
	if err != nil {
		t.Fatal(err)
	}
	hubOpen := true
	defer func() {
		if hubOpen {
			h.Close()
		}
	}()
	cam, err := evidencetest.NewCamera(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := cam.Record(4, t0, 2*time.Second, 500); err != nil {
		t.Fatal(err)
	}
	if err := cam.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cam.Record(2, t0.Add(8*time.Second), 2*time.Second, 500); err != nil { // not under a checkpoint
		t.Fatal(err)
	}
	camHex, url := cam.Key.Address().Hex(), cam.URL
	cliLogin(t, url, cam.Owner)
	at := func(d time.Duration) string { return t0.Add(d).Format(time.RFC3339) }
	file := filepath.Join(t.TempDir(), "evidence.cbor")

	// The pin, from the ledger's genesis file.
	r := runCLI("evidence", "validators-hash", filepath.Join(dir, "ledger", "config", "genesis.json")).must(t, 0, "")
	pin := strings.TrimSpace(r.stdout)
	want, err := evidencetest.PinnedValidatorsHash(dir)
	if err != nil || pin != fmt.Sprintf("%X", want) {
		t.Fatalf("validators-hash printed %q, want %X (%v)", pin, want, err)
	}

	// Export.
	export := func(a ...string) []string {
		return append([]string{"evidence", "export", "--camera", camHex, "--hub", url}, a...)
	}
	r = runCLI(export("--from", at(0), "--to", at(8*time.Second), "-o", file)...).must(t, 0, "")
	if !strings.Contains(r.stdout, "wrote "+file) || !strings.Contains(r.stdout, "4 clip(s)") || !strings.Contains(r.stdout, "not pinned") {
		t.Fatalf("export output:\n%s", r.stdout)
	}
	runCLI(export("--from", at(0), "--to", at(8*time.Second), "-o", file)...).must(t, 2, "exists")
	runCLI(export("--from", at(0), "--to", at(8*time.Second), "-o", file, "--force", "--validators-hash", pin)...).must(t, 0, "")
	// --html: the same bundle, inside the offline verifier page.
	page := filepath.Join(t.TempDir(), "evidence.html")
	r = runCLI(export("--from", at(0), "--to", at(8*time.Second), "-o", file, "--force", "--html", page)...).must(t, 0, "")
	if !strings.Contains(r.stdout, "wrote "+page) {
		t.Fatalf("export --html output:\n%s", r.stdout)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	exported, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if embedded, err := webui.EmbeddedBundle(html); err != nil || !bytes.Equal(embedded, exported) {
		t.Fatalf("the page does not hold exactly the exported bundle (%v)", err)
	}
	runCLI(export("--from", at(0), "--to", at(8*time.Second), "-o", filepath.Join(t.TempDir(), "x.cbor"), "--html", page)...).must(t, 2, "exists")
	other := filepath.Join(t.TempDir(), "other.cbor")
	otherPage := filepath.Join(t.TempDir(), "other.html")
	runCLI(export("--from", at(0), "--to", at(time.Minute), "-o", other)...).must(t, 1, "not yet covered")
	runCLI(export("--from", at(0), "--to", at(8*time.Second), "-o", other, "--html", otherPage, "--validators-hash", strings.Repeat("00", 32))...).
		must(t, 1, "does not verify, so nothing was written")
	for _, f := range []string{other, otherPage} {
		if _, err := os.Stat(f); err == nil {
			t.Fatalf("a refused export wrote %s", f)
		}
	}
	runCLI(export("--from", "yesterday", "--to", at(time.Minute), "-o", other)...).must(t, 2, "--from")
	runCLI(export("--from", at(0), "--to", at(8*time.Second), "-o", other, "--stream", "thumbnail")...).must(t, 2, "--stream")

	// The sub stream: its own chain, its own checkpoints, its own bundle.
	sub := cam.Sub()
	if err := sub.Record(3, t0, 2*time.Second, 200); err != nil {
		t.Fatal(err)
	}
	subFile := filepath.Join(t.TempDir(), "sub.cbor")
	runCLI(export("--from", at(0), "--to", at(8*time.Second), "-o", subFile, "--stream", "sub")...).must(t, 1, "not yet covered")
	if err := sub.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	r = runCLI(export("--from", at(0), "--to", at(8*time.Second), "-o", subFile, "--stream", "sub", "--validators-hash", pin)...).must(t, 0, "")
	if !strings.Contains(r.stdout, "3 clip(s) of camera") || !strings.Contains(r.stdout, "sub stream") {
		t.Fatalf("sub stream export output:\n%s", r.stdout)
	}

	// Verify, offline.
	h.Close()
	hubOpen = false
	// No pin is a usage error; --no-pin checks the rest, says what it did
	// not prove, and exits 3, never 0 and never "VERIFIED".
	runCLI("evidence", "verify", file).must(t, 2, "--no-pin")
	r = runCLI("evidence", "verify", file, "--no-pin").must(t, 3, "NOT PINNED")
	if !strings.Contains(r.stdout, "SELF-CONSISTENT ONLY, NOT VERIFIED AGAINST THE LEDGER: 4 clip(s)") ||
		!strings.Contains(r.stdout, "what was not proven") || strings.Contains(r.stdout, "VERIFIED:") {
		t.Fatalf("verify --no-pin output:\n%s", r.stdout)
	}
	r = runCLI("evidence", "verify", file, "--genesis", filepath.Join(dir, "ledger", "config", "genesis.json")).must(t, 0, "")
	if !strings.Contains(r.stdout, "VERIFIED: 4 clip(s)") || !strings.Contains(r.stdout, "the one you pinned") {
		t.Fatalf("verify --genesis output:\n%s", r.stdout)
	}
	r = runCLI("evidence", "verify", subFile, "--validators-hash", pin).must(t, 0, "")
	if !strings.Contains(r.stdout, "VERIFIED: 3 clip(s) of camera "+camHex+", epoch 0, sub stream") {
		t.Fatalf("verify of the sub stream's bundle:\n%s", r.stdout)
	}
	runCLI("evidence", "verify", file, "--no-pin", "--validators-hash", pin).must(t, 2, "exclude one another")
	r = runCLI("evidence", "verify", file, "--validators-hash", pin).must(t, 0, "")
	if !strings.Contains(r.stdout, "the one you pinned") || strings.Contains(r.stdout, "NOT PINNED") {
		t.Fatalf("pinned verify output:\n%s", r.stdout)
	}
	r = runCLI("evidence", "verify", file, "--validators-hash", "0x"+strings.ToLower(pin), "--json").must(t, 0, "")
	var res verifyResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || !res.OK || res.Report == nil || !res.Report.Pinned || len(res.Report.Clips) != 4 {
		t.Fatalf("verify --json: %v\n%s", err, r.stdout)
	}
	runCLI("evidence", "verify", file, "--validators-hash", strings.Repeat("ab", 32)).must(t, 1, "not the pinned one")
	runCLI("evidence", "verify", file, "--validators-hash", "abc").must(t, 2, "64 hex digits")
	runCLI("evidence", "verify", filepath.Join(t.TempDir(), "nope.cbor"), "--no-pin").must(t, 1, "no such file")

	// One flipped bit in a segment.
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, cam.Segments[2]) + 100
	data[i] ^= 0x04
	bad := filepath.Join(t.TempDir(), "bad.cbor")
	if err := os.WriteFile(bad, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r = runCLI("evidence", "verify", bad, "--validators-hash", pin).must(t, 1, "record #2")
	if !strings.Contains(r.stdout, "NOT VERIFIED") || !strings.Contains(r.stderr, "sha256") {
		t.Fatalf("corrupt verify: %+v", r)
	}
	r = runCLI("evidence", "verify", bad, "--json", "--no-pin").must(t, 1, "segment")
	res = verifyResult{}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.OK || res.Kind != "segment" || res.Report != nil {
		t.Fatalf("corrupt verify --json: %v\n%s", err, r.stdout)
	}

	// `camchain verify` takes an export too, offline: no hub is reachable here.
	noHub := "http://127.0.0.1:1"
	runCLI("verify", file, "--hub", noHub).must(t, 2, "--no-pin")
	r = runCLI("verify", file, "--hub", noHub, "--validators-hash", pin).must(t, 0, "")
	if !strings.Contains(r.stdout, "VERIFIED: 4 clip(s)") {
		t.Fatalf("verify of an export:\n%s", r.stdout)
	}
	runCLI("verify", file, "--hub", noHub, "--no-pin").must(t, 3, "NOT PINNED")
	runCLI("verify", bad, "--hub", noHub, "--no-pin").must(t, 1, "does not verify")
}

// evidence verify --out of the version 4 vector (internal/evidence,
// bundle-v4: 3 sealed clips, the keys of #0 and #2 revealed) writes the
// plaintext of #0 and #2 and not #1; the bundle it wraps (the hub's, no
// key) verifies, says its clips are sealed and writes nothing; a bundle
// whose key is wrong does not verify and writes nothing.
func TestEvidenceVerifyRevealOut(t *testing.T) {
	data, err := os.ReadFile("../evidence/testdata/bundle-v4.cbor")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Pin       string            `json:"validators_hash"`
		Plaintext map[string]string `json:"plaintext_sha256"`
	}
	raw, _ := os.ReadFile("../evidence/testdata/bundle-v4.json")
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	b, err := evidence.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "revealed.cbor")
	os.WriteFile(file, data, 0o600)
	out := filepath.Join(dir, "clips")
	r := runCLI("evidence", "verify", file, "--validators-hash", v.Pin, "--out", out).must(t, 0, "")
	if !strings.Contains(r.stdout, "revealed: playable") || !strings.Contains(r.stdout, "wrote 2 playable clip(s) of 3") {
		t.Fatalf("verify --out of the revealed bundle:\n%s", r.stdout)
	}
	for seq, sum := range v.Plaintext {
		var n int
		fmt.Sscan(seq, &n)
		got, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("%016d.mp4", n)))
		if h := sha256.Sum256(got); err != nil || hex.EncodeToString(h[:]) != sum {
			t.Fatalf("clip #%s written is not its plaintext (%v)", seq, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, fmt.Sprintf("%016d.mp4", 1))); err == nil {
		t.Fatal("verify --out wrote clip #1, whose key the bundle does not reveal")
	}

	b.Reveals = nil
	inner, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	sealedFile, sealedOut := filepath.Join(dir, "sealed.cbor"), filepath.Join(dir, "none")
	os.WriteFile(sealedFile, inner, 0o600)
	r = runCLI("evidence", "verify", sealedFile, "--validators-hash", v.Pin, "--out", sealedOut).must(t, 0, "")
	if !strings.Contains(r.stdout, "VERIFIED") || !strings.Contains(r.stdout, "sealed: not playable without its key") || !strings.Contains(r.stdout, "wrote 0 playable clip(s) of 3") {
		t.Fatalf("verify --out of the sealed bundle:\n%s", r.stdout)
	}
	if es, _ := os.ReadDir(sealedOut); len(es) != 0 {
		t.Fatalf("verify --out of a bundle without keys wrote %d file(s)", len(es))
	}

	b, _ = evidence.Decode(data)
	b.Reveals[1].Key = bytes.Repeat([]byte{1}, 32)
	bad, _ := b.Encode()
	badFile, badOut := filepath.Join(dir, "bad.cbor"), filepath.Join(dir, "bad")
	os.WriteFile(badFile, bad, 0o600)
	r = runCLI("evidence", "verify", badFile, "--validators-hash", v.Pin, "--out", badOut, "--json").must(t, 1, "does not open")
	if !strings.Contains(r.stdout, `"error_kind": "reveal"`) {
		t.Fatalf("verify --json of a wrong key:\n%s", r.stdout)
	}
	if _, err := os.Stat(badOut); err == nil {
		t.Fatal("verify --out of a bundle that does not verify wrote something")
	}
}
