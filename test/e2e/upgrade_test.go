package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// upgradeFixture holds the data directories a previous build wrote
// (scripts/make-upgrade-fixture.sh, run with that build's binaries: main
// at 30d28fd, before each stream became its own chain): a hub, a camera
// paired with it that had streamed segments #0–#4 or more, and the wallet
// (no checkpoint: its period had not ended).
const upgradeFixture = "testdata/upgrade-0.0.0-git30d28fd.tar.gz"

func unpackFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	abs, err := filepath.Abs(upgradeFixture)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("tar", "xzf", abs, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("unpacking %s: %v\n%s", upgradeFixture, err, out)
	}
	return dir
}

// This build opens the previous build's hub and camera data directories:
// the hub replays its ledger and opens its store, the camera reconnects
// with the chain it had (the link's proof of the shared chain and secret
// passes on both sides) and goes on streaming where it stopped, and
// camchain verify finds every clip on the camera intact.
func TestUpgradeOpensPreviousData(t *testing.T) {
	dir := unpackFixture(t)
	var state struct {
		Paired struct {
			HubLink string `json:"hub_link"`
			HubAPI  string `json:"hub_api"`
		} `json:"paired"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "camera", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &state); err != nil {
		t.Fatal(err)
	}
	h := &hubProc{data: filepath.Join(dir, "hub"), http: strings.TrimPrefix(state.Paired.HubAPI, "http://"), link: state.Paired.HubLink}
	h.run(t)
	a := runAgent(t, filepath.Join(dir, "camera"))
	// The fixture's camera had #4 acknowledged: two more prove the chain
	// goes on across the upgrade.
	waitFor(t, 60*time.Second, "the upgraded camera streaming past the fixture's head", func() bool { return seqOf(a.status(t).Acked) >= 6 })
	if s := a.status(t); s.Alarms != 0 {
		t.Fatalf("the upgraded camera raised %d alarms:\n%s", s.Alarms, a.output())
	}
	w := wallet{dir: filepath.Join(dir, "wallet"), pass: filepath.Join(dir, "wallet.pass")}
	if code, out, errs := camchain(append([]string{"login", "--hub", h.url()}, w.flags()...)...); code != 0 {
		t.Fatalf("login with the previous build's wallet: exit %d %s%s", code, out, errs)
	}
	a.stop()
	code, out, errs := camchain("verify", "--hub", h.url(), filepath.Join(dir, "camera", "store"))
	for _, bad := range []string{"modified", "truncated", "inserted", "missing", "out-of-order", "forged", "failed"} {
		if strings.Contains(out, " "+bad+" ") {
			t.Errorf("verify of the upgraded camera's clips finds %s (exit %d):\n%s%s", bad, code, out, errs)
		}
	}
	// No clip is anything worse than pending (the fixture holds no
	// checkpoint yet: its period had not ended).
	if !strings.Contains(out, "pending") {
		t.Fatalf("verify of the upgraded camera (exit %d):\n%s%s", code, out, errs)
	}
	t.Logf("verify of the upgraded camera (exit %d):\n%s", code, out)
}

// A hub data directory written by a newer release is refused by this one
// before it touches anything, with what to do.
func TestDowngradeIsRefused(t *testing.T) {
	dir := unpackFixture(t)
	hub := filepath.Join(dir, "hub")
	if err := os.WriteFile(filepath.Join(hub, "FORMAT"), []byte("camchain-hub-data 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin("camchaind"), "run", "--data", hub, "--http", freeAddr(t), "--link", freeAddr(t)).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 ||
		!strings.Contains(string(out), "written by a newer release; this one reads up to version 1. Install the newer release again") {
		t.Fatalf("camchaind on a newer data directory: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(hub, "FORMAT")); string(b) != "camchain-hub-data 2\n" {
		t.Fatalf("FORMAT rewritten to %q", b)
	}
	camera := filepath.Join(dir, "camera")
	if err := os.WriteFile(filepath.Join(camera, "FORMAT"), []byte("camchain-agent-data 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(bin("camchain-agent"), "run", "--data", camera).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "written by a newer release") {
		t.Fatalf("camchain-agent on a newer data directory: %v\n%s", err, out)
	}
}
