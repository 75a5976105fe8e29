package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests build one release subset, once: the hub, CLI and agent for
// amd64 (installed and run here) and arm64 (a second image platform, and
// an agent run under qemu), and the agent alone for mipsle softfloat (run
// under qemu). `make release` builds and checks the whole set (armv7
// too); building it in `make test` would cost minutes of a shared 2-core
// machine for no check this subset does not make.
const testVersion = "0.0.0~test1"

var (
	distOnce sync.Once
	distDir  string
	distErr  error
)

func testDist(t *testing.T) string {
	t.Helper()
	distOnce.Do(func() {
		dir, err := os.MkdirTemp("", "camchain-release-test-")
		if err != nil {
			distErr = err
			return
		}
		distDir = filepath.Join(dir, "dist")
		ts, err := parseTargets("amd64,arm64,mipsle")
		if err != nil {
			distErr = err
			return
		}
		var log bytes.Buffer
		start := time.Now()
		distErr = Build(Options{Repo: repoRoot(t), Out: distDir, Version: testVersion, Targets: ts}, &log)
		t.Logf("release subset built in %s:\n%s", time.Since(start).Round(time.Second), log.String())
	})
	if distErr != nil {
		t.Fatalf("building the release: %v", distErr)
	}
	return distDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if distDir != "" {
		os.RemoveAll(filepath.Dir(distDir))
	}
	os.Exit(code)
}

func readManifest(t *testing.T, dist string) Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dist, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Every artifact of the subset is there and passes Check: the binaries,
// two .debs per Debian architecture, the two-platform image, the compose
// file, the add-on, an SBOM per binary and the checksums.
func TestReleaseArtifacts(t *testing.T) {
	dist := testDist(t)
	if err := Check(dist); err != nil {
		t.Fatalf("Check: %v", err)
	}
	m := readManifest(t, dist)
	want := map[string]bool{
		"bin/linux-amd64/camchaind": true, "bin/linux-amd64/camchain": true, "bin/linux-amd64/camchain-agent": true,
		"bin/linux-arm64/camchaind": true, "bin/linux-arm64/camchain": true, "bin/linux-arm64/camchain-agent": true,
		"bin/linux-mipsle-softfloat/camchain-agent":  true,
		"camchain-hub_" + testVersion + "_amd64.deb": true, "camchain-agent_" + testVersion + "_amd64.deb": true,
		"camchain-hub_" + testVersion + "_arm64.deb": true, "camchain-agent_" + testVersion + "_arm64.deb": true,
		m.Image: true, "compose.yaml": true, "homeassistant/camchain/config.yaml": true, "SHA256SUMS": true, "manifest.json": true,
	}
	for _, b := range m.Binaries {
		want[sbomPath(b)] = true
	}
	if len(m.SBOMs) != 7 || m.Image != "camchain-hub_"+imageTag(testVersion)+"_oci.tar" {
		t.Fatalf("manifest: %d SBOMs, image %q", len(m.SBOMs), m.Image)
	}
	for f := range want {
		if _, err := os.Stat(filepath.Join(dist, f)); err != nil {
			t.Errorf("missing artifact %s: %v", f, err)
		}
	}
	for _, b := range m.Binaries {
		st, _ := os.Stat(filepath.Join(dist, b.Path))
		t.Logf("%s: %.1f MB", b.Path, float64(st.Size())/1e6)
	}
	// The agent stays small: it never links the ledger engine or the UI.
	for _, b := range m.Binaries {
		if b.Program != "camchain-agent" {
			continue
		}
		sb, err := os.ReadFile(filepath.Join(dist, sbomPath(b)))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(sb, []byte("github.com/cometbft/cometbft")) {
			t.Errorf("%s links CometBFT", b.Path)
		}
	}
	// sha256sum(1) agrees with SHA256SUMS, as a user checking a download.
	cmd := exec.Command("sha256sum", "--check", "--quiet", SumsName)
	cmd.Dir = dist
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum --check: %v\n%s", err, out)
	}
}

// A tampered release fails Check, naming what is wrong: a binary changed
// after the sums were made, a changed binary with re-made sums (the .deb
// and the image then hold another binary than the one listed), a file
// slipped in, and an SBOM that no longer matches its binary.
func TestReleaseCheckRefusesTampering(t *testing.T) {
	dist := testDist(t)
	for _, tc := range []struct {
		name   string
		tamper func(dir string) error
		want   string
	}{
		{"binary changed", func(dir string) error {
			return flipMiddleByte(filepath.Join(dir, "bin/linux-amd64/camchain"))
		}, "bin/linux-amd64/camchain: SHA-256"},
		{"binary changed, sums re-made", func(dir string) error {
			if err := flipMiddleByte(filepath.Join(dir, "bin/linux-amd64/camchain")); err != nil {
				return err
			}
			return writeSums(dir)
		}, "is not the checked bin/linux-amd64/camchain"},
		{"file slipped in", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "install.sh"), []byte("curl | sh\n"), 0o755)
		}, "install.sh is not in SHA256SUMS"},
		{"SBOM of another binary", func(dir string) error {
			b, err := os.ReadFile(filepath.Join(dir, "sbom/camchain-agent_linux-arm64.spdx.json"))
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, "sbom/camchain-agent_linux-amd64.spdx.json"), b, 0o644); err != nil {
				return err
			}
			return writeSums(dir)
		}, "sbom/camchain-agent_linux-amd64.spdx.json: describes a binary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "dist")
			if out, err := exec.Command("cp", "-a", dist, dir).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v %s", err, out)
			}
			if err := tc.tamper(dir); err != nil {
				t.Fatal(err)
			}
			err := Check(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check after %s: %v, want an error with %q", tc.name, err, tc.want)
			}
		})
	}
}

// flipMiddleByte changes one bit in the middle of a file: in a binary, the
// code or data, so that it stays a well-formed ELF.
func flipMiddleByte(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	b[len(b)/2] ^= 0x01
	return os.WriteFile(path, b, 0o755)
}

// The image holds only what the hub needs and runs as an unprivileged user
// (Check proves entrypoint, user, platforms and binaries); here: the
// compose file and add-on name the image by the release's version.
func TestReleaseImageNamedByCompose(t *testing.T) {
	dist := testDist(t)
	m := readManifest(t, dist)
	if m.ImageRef != ImageName+":0.0.0-test1" {
		t.Fatalf("image ref %q", m.ImageRef)
	}
	ha, err := os.ReadFile(filepath.Join(dist, m.HAAddon))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ha), "- amd64") || !strings.Contains(string(ha), "- aarch64") || strings.Contains(string(ha), "- armv7") {
		t.Fatalf("add-on arch list is not the image's (amd64, aarch64):\n%s", ha)
	}
	// A wrong entrypoint or user in the image fails Check: prove the check
	// bites by changing what it expects.
	saved := ImageUser
	ImageUser = "0:0"
	defer func() { ImageUser = saved }()
	if err := Check(dist); err == nil || !strings.Contains(err.Error(), `user "65532:65532", want`) {
		t.Fatalf("Check expecting root: %v", err)
	}
}

// httpGet fetches url and returns the status and body.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func isRoot() bool { return syscall.Geteuid() == 0 }
