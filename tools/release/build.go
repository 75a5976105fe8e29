package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Target is one platform a release is built for.
type Target struct {
	Name   string // directory name under bin/, e.g. "linux-armv7"
	GOARCH string
	GOARM  string // GOARM for arm
	GOMIPS string // GOMIPS for mips
	// DebArch is Debian's name for it; "" means no packages (the agent's
	// mipsle build is for camera firmware, which has no dpkg).
	DebArch string
	// OCI platform and Home Assistant's arch name; "" means no image.
	OCIArch, OCIVariant, HAArch string
	AgentOnly                   bool
}

var allTargets = []Target{
	{Name: "linux-amd64", GOARCH: "amd64", DebArch: "amd64", OCIArch: "amd64", HAArch: "amd64"},
	{Name: "linux-arm64", GOARCH: "arm64", DebArch: "arm64", OCIArch: "arm64", OCIVariant: "v8", HAArch: "aarch64"},
	{Name: "linux-armv7", GOARCH: "arm", GOARM: "7", DebArch: "armhf", OCIArch: "arm", OCIVariant: "v7", HAArch: "armv7"},
	// Ingenic T31 and friends (thingino, OpenIPC): MIPS32 little endian
	// without an FPU.
	{Name: "linux-mipsle-softfloat", GOARCH: "mipsle", GOMIPS: "softfloat", AgentOnly: true},
}

// The programs of a release. camchain-testcam is a test tool, not shipped.
var (
	hubBinaries   = []string{"camchaind", "camchain"}
	agentBinaries = []string{"camchain-agent"}
)

func targetNames() []string {
	var n []string
	for _, t := range allTargets {
		n = append(n, strings.TrimPrefix(strings.TrimSuffix(t.Name, "-softfloat"), "linux-"))
	}
	return n
}

func parseTargets(s string) ([]Target, error) {
	var ts []Target
	for _, name := range strings.Split(s, ",") {
		found := false
		for i, n := range targetNames() {
			if n == name {
				ts = append(ts, allTargets[i])
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("-targets: unknown target %q (want some of %s)", name, strings.Join(targetNames(), ","))
		}
	}
	return ts, nil
}

// Options say what Build makes.
type Options struct {
	Repo, Out, Version string
	Targets            []Target
	BinariesOnly       bool
	AgentOnly          bool
	SkipDeb, SkipImage bool
}

// Manifest is dist/manifest.json: what a release holds, so that Check can
// check a dist directory with nothing else.
type Manifest struct {
	Version  string     `json:"version"`
	Time     time.Time  `json:"time"` // commit time: every artifact's mtime
	Targets  []string   `json:"targets"`
	Binaries []Artifact `json:"binaries"`
	Debs     []Artifact `json:"debs"`
	Image    string     `json:"image,omitempty"` // OCI layout tarball
	ImageRef string     `json:"image_ref,omitempty"`
	Compose  string     `json:"compose,omitempty"`
	HAAddon  string     `json:"ha_addon,omitempty"`
	SBOMs    []string   `json:"sboms"`
}

// Artifact is one file of a release and what it is for.
type Artifact struct {
	Path    string `json:"path"` // relative to the dist directory
	Program string `json:"program,omitempty"`
	Package string `json:"package,omitempty"`
	Target  string `json:"target"`
	// Of a .deb, the binaries it holds (their Paths).
	Holds []string `json:"holds,omitempty"`
}

// Build makes the release in o.Out (emptied first).
func Build(o Options, log io.Writer) error {
	if err := os.RemoveAll(o.Out); err != nil {
		return err
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	mtime := commitTime(o.Repo)
	m := Manifest{Version: o.Version, Time: mtime}
	for _, t := range o.Targets {
		m.Targets = append(m.Targets, t.Name)
		progs := append([]string{}, agentBinaries...)
		if !t.AgentOnly && !o.AgentOnly {
			progs = append(hubBinaries, agentBinaries...)
		}
		for _, p := range progs {
			rel := filepath.Join("bin", t.Name, p)
			start := time.Now()
			if err := goBuild(o.Repo, t, p, o.Version, filepath.Join(o.Out, rel)); err != nil {
				return err
			}
			st, _ := os.Stat(filepath.Join(o.Out, rel))
			fmt.Fprintf(log, "release: built %s (%.1f MB, %.0fs)\n", rel, float64(st.Size())/1e6, time.Since(start).Seconds())
			m.Binaries = append(m.Binaries, Artifact{Path: rel, Program: p, Target: t.Name})
		}
	}
	if o.BinariesOnly {
		return nil
	}
	if !o.SkipDeb {
		for _, t := range o.Targets {
			if t.DebArch == "" {
				continue
			}
			for _, pkg := range []string{"camchain-hub", "camchain-agent"} {
				a, err := buildDeb(o, t, pkg, mtime)
				if err != nil {
					return fmt.Errorf("%s %s: %w", pkg, t.Name, err)
				}
				fmt.Fprintf(log, "release: packaged %s\n", a.Path)
				m.Debs = append(m.Debs, a)
			}
		}
	}
	if !o.SkipImage {
		if err := buildImage(o, &m, mtime); err != nil {
			return fmt.Errorf("OCI image: %w", err)
		}
		fmt.Fprintf(log, "release: image %s (%s), %s, %s\n", m.Image, m.ImageRef, m.Compose, m.HAAddon)
	}
	for _, b := range m.Binaries {
		p, err := writeSBOM(o.Out, b, o.Version, mtime)
		if err != nil {
			return fmt.Errorf("SBOM of %s: %w", b.Path, err)
		}
		m.SBOMs = append(m.SBOMs, p)
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.Out, "manifest.json"), append(mb, '\n'), 0o644); err != nil {
		return err
	}
	return writeSums(o.Out)
}

// goBuild cross-compiles one program: static (no cgo), reproducible
// (-trimpath, no build id, no VCS stamp) and stripped, with the version
// stamped into internal/version.
func goBuild(repo string, t Target, prog, version, out string) error {
	ldflags := "-s -w -buildid= -X github.com/camchain/camchain/internal/version.Version=" + version
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", out, "./cmd/"+prog)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+t.GOARCH, "GOFLAGS=")
	if t.GOARM != "" {
		cmd.Env = append(cmd.Env, "GOARM="+t.GOARM)
	}
	if t.GOMIPS != "" {
		cmd.Env = append(cmd.Env, "GOMIPS="+t.GOMIPS)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s for %s: %v\n%s", prog, t.Name, err, stderr.String())
	}
	return nil
}

// gitVersion is the release version from the source tree: the nearest tag
// (without its leading v, as Debian wants a digit first), or
// 0.0.0~git<commit> where no tag is; "+dirty" marks uncommitted changes.
func gitVersion(repo string) string {
	out, err := exec.Command("git", "-C", repo, "describe", "--tags", "--dirty=+dirty").Output()
	if err == nil {
		return strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	}
	out, err = exec.Command("git", "-C", repo, "describe", "--always", "--dirty=+dirty").Output()
	if err != nil {
		return "0.0.0~dev"
	}
	return "0.0.0~git" + strings.TrimSpace(string(out))
}

// commitTime is the time of HEAD (SOURCE_DATE_EPOCH wins), the mtime of
// every file in the packages and the image, so that two builds of one
// commit give the same bytes.
func commitTime(repo string) time.Time {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(n, 0).UTC()
		}
	}
	out, err := exec.Command("git", "-C", repo, "log", "-1", "--format=%ct").Output()
	if err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil {
			return time.Unix(n, 0).UTC()
		}
	}
	return time.Unix(0, 0).UTC()
}
