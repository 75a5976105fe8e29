package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/webui"
)

// TestEvidenceAcrossValidatorChanges: four validators as camchaind
// processes, a camera streaming to hub 0 with a one-minute checkpoint
// period. A bundle of the first checkpoint verifies against the genesis
// (`camchain evidence verify --genesis`, with another hub's genesis file).
// Then the validators vote hub 3 out (3 of 4) and back in at power 20 (3
// of 3), by `camchaind validator remove|vote`; once the camera has
// committed a checkpoint signed by the changed set, the bound hub's bundle
// of every record so far carries both changes and verifies against the
// genesis too, with the CLI and with the offline HTML verifier in
// Chromium; stripped of its history, or pinned to the changed set, it does
// not.
func TestEvidenceAcrossValidatorChanges(t *testing.T) {
	t.Parallel() // mostly waiting: for checkpoint periods, for the votes' blocks
	ui, chromium := browserTestDeps(t)
	hubs := startNetwork(t, 4)
	bound := hubs[0]
	a := runAgent(t, filepath.Join(t.TempDir(), "agent"))
	w := newWallet(t)
	// E2EE off: the HTML verifier plays a verified clip of the bundle,
	// which a sealed one (without --reveal) does not; this test is of
	// validator changes (TestEvidenceReveal plays revealed sealed clips).
	camera := pairClear(t, bound.hubProc, a, w)
	if rc, _, errs := camchain(append([]string{"policy", "--camera", camera, "--period", "1m", "--hub", bound.url()}, w.flags()...)...); rc != 0 {
		t.Fatalf("policy: %s", errs)
	}
	if rc, _, errs := camchain(append([]string{"login", "--hub", bound.url()}, w.flags()...)...); rc != 0 {
		t.Fatalf("login: %s", errs)
	}
	genesis := filepath.Join(hubs[1].data, "ledger", "config", "genesis.json") // any hub's: one genesis
	c := bound.client(t)
	ctx := context.Background()
	dir := t.TempDir()

	// lastCheckpoint waits for a checkpoint above height and returns its
	// height and the start of its last record, just past which an export
	// of records from #0 ends.
	lastCheckpoint := func(above uint64, within time.Duration) (uint64, string) {
		t.Helper()
		var height, lastSeq uint64
		waitFor(t, within, fmt.Sprintf("a checkpoint above block %d", above), func() bool {
			cps, err := c.Checkpoints(ctx, camera, -1, 0, 100)
			if err != nil {
				return false
			}
			for _, ck := range cps.Items {
				if ck.Height > above && ck.Height > height {
					height, lastSeq = ck.Height, ck.LastSeq
				}
			}
			return height > 0
		})
		recs, err := c.Recordings(ctx, camera, -1, lastSeq, 1)
		if err != nil || len(recs.Items) != 1 || recs.Items[0].Seq != lastSeq {
			t.Fatalf("recording #%d: %+v %v", lastSeq, recs, err)
		}
		end, err := time.Parse(time.RFC3339Nano, recs.Items[0].Start)
		if err != nil {
			t.Fatal(err)
		}
		return height, end.Add(time.Millisecond).Format(time.RFC3339Nano)
	}
	var from string // the camera's first recording's start
	export := func(name, to string) (string, string) {
		t.Helper()
		bundle, page := filepath.Join(dir, name+".cbor"), filepath.Join(dir, name+".html")
		rc, out, errs := camchain("evidence", "export", "--hub", bound.url(), "--camera", camera, "--from", from, "--to", to, "-o", bundle, "--html", page)
		if rc != 0 {
			t.Fatalf("evidence export %s: exit %d\n%s%s", name, rc, out, errs)
		}
		return bundle, page
	}
	verify := func(bundle string, pin ...string) (int, string, verifyJSON) {
		t.Helper()
		if len(pin) == 0 {
			pin = []string{"--genesis", genesis}
		}
		rc, out, errs := camchain(append([]string{"evidence", "verify", bundle, "--json"}, pin...)...)
		var res verifyJSON
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("evidence verify --json %s: exit %d: %v\n%s%s", bundle, rc, err, out, errs)
		}
		_, text, _ := camchain(append([]string{"evidence", "verify", bundle}, pin...)...)
		return rc, text, res
	}

	// Before any change: a version 1 bundle, signed by the genesis set.
	before, to := lastCheckpoint(0, 150*time.Second)
	recs, err := c.Recordings(ctx, camera, -1, 0, 1)
	if err != nil || len(recs.Items) == 0 {
		t.Fatalf("the camera's first recording: %+v %v", recs, err)
	}
	from = recs.Items[0].Start
	early, _ := export("before", to)
	rc, text, res := verify(early)
	if rc != 0 || !res.OK || len(res.Report.ValidatorChanges) != 0 || !strings.Contains(text, "VERIFIED:") {
		t.Fatalf("the bundle before any change: exit %d %+v\n%s", rc, res, text)
	}
	raw, _ := os.ReadFile(early)
	if raw[0] != 0x87 {
		t.Fatalf("the bundle before any change starts %#x, not as a version 1 or 2 bundle", raw[0])
	}

	// Hub 3 out (30 of 40), then back in at power 20 (30 of 30).
	for i := range 3 {
		out := camchaindCmd(t, "validator", "remove", hubs[3].id.Hub, "--data", hubs[i].data, "--api", hubs[i].url())
		if want := map[bool]string{true: "3 validators", false: "4 validators"}[i == 2]; !strings.Contains(out, want) {
			t.Fatalf("removal vote %d: %q, want %q", i, out, want)
		}
	}
	for i := range 3 {
		out := camchaindCmd(t, "validator", "vote", hubs[3].idFile, "--power", "20", "--data", hubs[i].data, "--api", hubs[i].url())
		if want := map[bool]string{true: "4 validators", false: "3 validators"}[i == 2]; !strings.Contains(out, want) {
			t.Fatalf("vote %d for hub 3 at power 20: %q, want %q", i, out, want)
		}
	}
	voted := status(t, hubs[2]).Height

	// A checkpoint the changed set signed, and the bundle of everything.
	after, to := lastCheckpoint(voted+1, 150*time.Second)
	if after <= before {
		t.Fatalf("checkpoint at %d after one at %d", after, before)
	}
	bundle, page := export("after", to)
	rc, text, res = verify(bundle)
	if rc != 0 || !res.OK || len(res.Report.ValidatorChanges) != 2 || !strings.Contains(text, "VERIFIED:") ||
		!strings.Contains(text, "is the one you pinned: each later set was handed the") {
		t.Fatalf("the bundle after the changes: exit %d %+v\n%s", rc, res, text)
	}
	pinHex := res.Report.GenesisValidatorsHash
	ch := res.Report.ValidatorChanges
	if ch[0].Validators != 3 || ch[0].VotingPower != 30 || ch[1].Validators != 4 || ch[1].VotingPower != 50 || ch[0].From != pinHex || ch[1].Height >= int64(after) {
		t.Fatalf("changes %+v, checkpoint at %d", ch, after)
	}
	if last := res.Report.Checkpoints[len(res.Report.Checkpoints)-1]; last.ValidatorsHash != ch[1].To {
		t.Fatalf("the last checkpoint is signed by %s, not by the set after the changes %s", last.ValidatorsHash, ch[1].To)
	}

	// From outside: the same blocks without the history do not verify
	// against the genesis; nor does the bundle pinned to the changed set.
	b, err := evidence.Decode(mustRead(t, bundle))
	if err != nil {
		t.Fatal(err)
	}
	b.History = nil
	stripped, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	strippedFile := filepath.Join(dir, "stripped.cbor")
	os.WriteFile(strippedFile, stripped, 0o600)
	if rc, _, res := verify(strippedFile); rc != 1 || res.Kind != "not_pinned" {
		t.Fatalf("the bundle without its history: exit %d, %s (%s)", rc, res.Kind, res.Error)
	}
	if rc, _, res := verify(bundle, "--validators-hash", ch[1].To); rc != 1 || res.Kind != "not_pinned" {
		t.Fatalf("the bundle pinned to the changed set: exit %d, %s (%s)", rc, res.Kind, res.Error)
	}

	// The page `export --html` wrote, in Chromium: the CLI's verdict and
	// report, pinned to the genesis; the stripped bundle refused.
	strippedPage := filepath.Join(dir, "stripped.html")
	html, err := webui.VerifierPage(stripped)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(strippedPage, html, 0o600)
	_, _, unpinned := verify(bundle, "--no-pin")
	pages := []verifierPage{
		{Name: "after-changes", File: page, Fragment: "pin=" + strings.ToLower(pinHex), Expect: "ok", Pinned: true, Report: res.Report, Play: true},
		{Name: "after-changes-unpinned", File: page, Expect: "ok", Report: unpinned.Report},
		{Name: "after-changes-pinned-to-the-new-set", File: page, Fragment: "pin=" + strings.ToLower(ch[1].To), Expect: "not_pinned"},
		{Name: "after-changes-without-history", File: strippedPage, Fragment: "pin=" + strings.ToLower(pinHex), Expect: "not_pinned"},
	}
	list := filepath.Join(dir, "pages.json")
	enc, _ := json.Marshal(pages)
	os.WriteFile(list, enc, 0o600)
	cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, "node", "--test", "--test-concurrency=1", "test/verifier.test.mjs")
	cmd.Dir = ui
	cmd.Env = append(os.Environ(), "PAGES="+list, "CHROMIUM="+chromium)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node --test test/verifier.test.mjs: %v\n%s", err, out)
	}
}

// verifyJSON is `camchain evidence verify --json`'s output.
type verifyJSON struct {
	OK     bool             `json:"ok"`
	Kind   string           `json:"error_kind"`
	Error  string           `json:"error"`
	Report *evidence.Report `json:"report"`
}

func mustRead(t *testing.T, f string) []byte {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
