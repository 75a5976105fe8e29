package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"gopkg.in/yaml.v3"
)

// Check checks a release directory against its manifest.json: every file
// in SHA256SUMS with its hash; every binary static, for its platform and
// stamped with the version; every .deb holding exactly those binaries, its
// unit and its user; the OCI image with one image per platform, each with
// the entrypoint, user and binaries expected; the compose file and the
// add-on naming that image; an SBOM per binary naming what it links.
func Check(dist string) error {
	mb, err := os.ReadFile(filepath.Join(dist, "manifest.json"))
	if err != nil {
		return err
	}
	var m Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		return fmt.Errorf("manifest.json: %w", err)
	}
	if err := checkSums(dist); err != nil {
		return err
	}
	sums := map[string]string{}
	for _, b := range m.Binaries {
		t, ok := targetByName(b.Target)
		if !ok {
			return fmt.Errorf("%s: unknown target %q", b.Path, b.Target)
		}
		if err := checkBinary(filepath.Join(dist, b.Path), t, m.Version); err != nil {
			return fmt.Errorf("%s: %w", b.Path, err)
		}
		if sums[b.Path], err = fileSHA256(filepath.Join(dist, b.Path)); err != nil {
			return err
		}
	}
	for _, d := range m.Debs {
		if err := checkDeb(dist, d, m.Version, sums); err != nil {
			return fmt.Errorf("%s: %w", d.Path, err)
		}
	}
	if m.Image != "" {
		archs, err := checkImage(dist, m, sums)
		if err != nil {
			return fmt.Errorf("%s: %w", m.Image, err)
		}
		if err := checkCompose(filepath.Join(dist, m.Compose), m.ImageRef); err != nil {
			return fmt.Errorf("%s: %w", m.Compose, err)
		}
		if err := checkHAAddon(filepath.Join(dist, m.HAAddon), imageTag(m.Version), archs); err != nil {
			return fmt.Errorf("%s: %w", m.HAAddon, err)
		}
	}
	if len(m.SBOMs) != len(m.Binaries) {
		return fmt.Errorf("manifest.json: %d SBOMs for %d binaries", len(m.SBOMs), len(m.Binaries))
	}
	for _, b := range m.Binaries {
		if err := checkSBOM(dist, b, sums[b.Path]); err != nil {
			return fmt.Errorf("%s: %w", sbomPath(b), err)
		}
	}
	return nil
}

func targetByName(name string) (Target, bool) {
	for _, t := range allTargets {
		if t.Name == name {
			return t, true
		}
	}
	return Target{}, false
}

// elfMachine is the ELF machine and byte order each GOARCH must give.
var elfMachine = map[string]struct {
	m     elf.Machine
	class elf.Class
	order binary.ByteOrder
}{
	"amd64":  {elf.EM_X86_64, elf.ELFCLASS64, binary.LittleEndian},
	"arm64":  {elf.EM_AARCH64, elf.ELFCLASS64, binary.LittleEndian},
	"arm":    {elf.EM_ARM, elf.ELFCLASS32, binary.LittleEndian},
	"mipsle": {elf.EM_MIPS, elf.ELFCLASS32, binary.LittleEndian},
}

// checkBinary: an ELF for t's machine, static (no interpreter, no shared
// library), built without cgo for t's GOARCH/GOARM/GOMIPS, with the
// release's version in internal/version.
func checkBinary(path string, t Target, version string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	want := elfMachine[t.GOARCH]
	if f.Machine != want.m || f.Class != want.class || f.ByteOrder != want.order {
		return fmt.Errorf("ELF %v %v %v, want %v %v %v for %s", f.Machine, f.Class, f.ByteOrder, want.m, want.class, want.order, t.Name)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("dynamically linked (has an ELF interpreter); want static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		return fmt.Errorf("links shared libraries %v; want static", libs)
	}
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return err
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	for k, v := range map[string]string{"CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": t.GOARCH, "GOARM": t.GOARM, "GOMIPS": t.GOMIPS, "-trimpath": "true"} {
		if v != "" && settings[k] != v {
			return fmt.Errorf("built with %s=%q, want %q", k, settings[k], v)
		}
	}
	// -trimpath keeps -ldflags out of the build information, so look for
	// the stamped string itself (the installed binaries' --version is run
	// by the tests).
	body, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !bytes.Contains(body, []byte(version)) {
		return fmt.Errorf("not stamped with version %s", version)
	}
	return nil
}

// checkDeb reads the package with dpkg-deb, Debian's own tool: its control
// fields, and that every binary in it is byte for byte the checked one,
// beside its unit, its sysusers entry and its conffile.
func checkDeb(dist string, d Artifact, version string, sums map[string]string) error {
	path := filepath.Join(dist, d.Path)
	t, _ := targetByName(d.Target)
	out, err := exec.Command("dpkg-deb", "-f", path, "Package", "Version", "Architecture").Output()
	if err != nil {
		return fmt.Errorf("dpkg-deb -f: %w", err)
	}
	wantCtl := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s\n", d.Package, version, t.DebArch)
	if string(out) != wantCtl {
		return fmt.Errorf("control fields %q, want %q", out, wantCtl)
	}
	cmd := exec.Command("dpkg-deb", "--fsys-tarfile", path)
	tarball, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("dpkg-deb --fsys-tarfile: %w", err)
	}
	files := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(tarball))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		s := sha256.New()
		if _, err := io.Copy(s, tr); err != nil {
			return err
		}
		files[strings.TrimPrefix(h.Name, ".")] = hex.EncodeToString(s.Sum(nil))
	}
	unit := map[string]string{"camchain-hub": "camchaind", "camchain-agent": "camchain-agent"}[d.Package]
	for _, f := range []string{"/usr/lib/systemd/system/" + unit + ".service", "/usr/lib/sysusers.d/" + unit + ".conf", "/etc/default/" + unit} {
		if _, ok := files[f]; !ok {
			return fmt.Errorf("holds no %s", f)
		}
	}
	if len(d.Holds) == 0 {
		return errors.New("holds no binary")
	}
	for _, b := range d.Holds {
		in := "/usr/bin/" + filepath.Base(b)
		if files[in] != sums[b] {
			return fmt.Errorf("%s (SHA-256 %q) is not the checked %s (%s)", in, files[in], b, sums[b])
		}
	}
	return nil
}

// checkImage opens the OCI layout and checks one image per hub target of
// the release; it returns their Home Assistant arch names.
func checkImage(dist string, m Manifest, sums map[string]string) ([]string, error) {
	tmp, err := os.MkdirTemp("", "camchain-oci-check-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := untar(filepath.Join(dist, m.Image), tmp); err != nil {
		return nil, err
	}
	top, err := layout.ImageIndexFromPath(tmp)
	if err != nil {
		return nil, err
	}
	tm, err := top.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(tm.Manifests) != 1 || tm.Manifests[0].Annotations["io.containerd.image.name"] != "docker.io/"+m.ImageRef {
		return nil, fmt.Errorf("index.json: want one image index named %s, got %+v", m.ImageRef, tm.Manifests)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var want, got, archs []string
	for _, name := range m.Targets {
		if t, _ := targetByName(name); t.OCIArch != "" {
			want = append(want, t.OCIArch+"/"+t.OCIVariant)
		}
	}
	for _, desc := range im.Manifests {
		p := desc.Platform
		if p == nil {
			return nil, fmt.Errorf("image %s has no platform", desc.Digest)
		}
		got = append(got, p.Architecture+"/"+p.Variant)
		var t Target
		for _, c := range allTargets {
			if c.OCIArch == p.Architecture && c.OCIVariant == p.Variant {
				t = c
			}
		}
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return nil, err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		if cf.OS != "linux" || cf.Architecture != p.Architecture || cf.Variant != p.Variant {
			return nil, fmt.Errorf("%s: config says %s/%s/%s", got[len(got)-1], cf.OS, cf.Architecture, cf.Variant)
		}
		if !slices.Equal(cf.Config.Entrypoint, ImageEntrypoint) || cf.Config.User != ImageUser {
			return nil, fmt.Errorf("%s: entrypoint %q user %q, want %q user %q", got[len(got)-1], cf.Config.Entrypoint, cf.Config.User, ImageEntrypoint, ImageUser)
		}
		layers, err := img.Layers()
		if err != nil {
			return nil, err
		}
		if len(layers) != 1 {
			return nil, fmt.Errorf("%s: %d layers, want 1", got[len(got)-1], len(layers))
		}
		rc, err := layers[0].Uncompressed()
		if err != nil {
			return nil, err
		}
		contents := map[string]*tar.Header{}
		hashes := map[string]string{}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				rc.Close()
				return nil, err
			}
			contents[h.Name] = h
			s := sha256.New()
			io.Copy(s, tr)
			hashes[h.Name] = hex.EncodeToString(s.Sum(nil))
		}
		rc.Close()
		if h := contents[strings.TrimPrefix(DataDir, "/")+"/"]; h == nil || h.Uid != ImageUID || h.Mode&0o777 != 0o700 {
			return nil, fmt.Errorf("%s: %s is not a 0700 directory of uid %d", got[len(got)-1], DataDir, ImageUID)
		}
		for _, b := range hubBinaries {
			rel := filepath.Join("bin", t.Name, b)
			if hashes["usr/bin/"+b] != sums[rel] {
				return nil, fmt.Errorf("%s: /usr/bin/%s is not the checked %s", got[len(got)-1], b, rel)
			}
		}
		archs = append(archs, t.HAArch)
	}
	sort.Strings(want)
	sort.Strings(got)
	if !slices.Equal(want, got) {
		return nil, fmt.Errorf("platforms %v, want %v", got, want)
	}
	return archs, nil
}

func untar(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		p := filepath.Join(dst, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, filepath.Clean(dst)+string(os.PathSeparator)) {
			return fmt.Errorf("entry %q leaves the archive", h.Name)
		}
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		out, err := os.Create(p)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, tr)
		out.Close()
		if err != nil {
			return err
		}
	}
}

func checkCompose(path, ref string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var c struct {
		Services map[string]struct {
			Image   string   `yaml:"image"`
			Volumes []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return err
	}
	hub, ok := c.Services["hub"]
	if !ok || hub.Image != ref {
		return fmt.Errorf("service hub runs image %q, want %s", hub.Image, ref)
	}
	if !slices.ContainsFunc(hub.Volumes, func(v string) bool { return strings.HasSuffix(v, ":"+DataDir) }) {
		return fmt.Errorf("service hub keeps no volume at %s: its data would die with the container", DataDir)
	}
	return nil
}

func checkHAAddon(path, version string, archs []string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var a struct {
		Version string   `yaml:"version"`
		Slug    string   `yaml:"slug"`
		Image   string   `yaml:"image"`
		Arch    []string `yaml:"arch"`
	}
	if err := yaml.Unmarshal(b, &a); err != nil {
		return err
	}
	sort.Strings(archs)
	sort.Strings(a.Arch)
	if a.Version != version || a.Image != ImageName || a.Slug == "" || !slices.Equal(a.Arch, archs) {
		return fmt.Errorf("version %q image %q arch %v; want %q %q %v", a.Version, a.Image, a.Arch, version, ImageName, archs)
	}
	return nil
}

func checkSBOM(dist string, b Artifact, sum string) error {
	raw, err := os.ReadFile(filepath.Join(dist, sbomPath(b)))
	if err != nil {
		return err
	}
	var doc spdxDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return err
	}
	if doc.SPDXVersion != "SPDX-2.3" || len(doc.Packages) < 2 {
		return fmt.Errorf("not an SPDX 2.3 document with packages")
	}
	if cs := doc.Packages[0].Checksums; len(cs) != 1 || cs[0].ChecksumValue != sum {
		return fmt.Errorf("describes a binary with checksums %v, not %s (SHA-256 %s)", cs, b.Path, sum)
	}
	bi, err := buildinfo.ReadFile(filepath.Join(dist, b.Path))
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for _, p := range doc.Packages {
		names[p.Name+"@"+p.VersionInfo] = true
	}
	for _, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		if !names[d.Path+"@"+d.Version] {
			return fmt.Errorf("does not name %s %s, which the binary links", d.Path, d.Version)
		}
	}
	return nil
}
