package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The hub's OCI image: one layer with camchaind and the camchain CLI, a
// passwd entry for an unprivileged user, the CA bundle for mqtts and
// webhooks, and /data (the volume) owned by that user.
const (
	ImageName = "camchain/camchain-hub"
	ImageUID  = 65532

	DataDir = "/data"
)

// ImageEntrypoint is what every container of the image runs; ImageCmd are
// its default flags (compose's command: replaces them).
var (
	ImageUser       = "65532:65532"
	ImageEntrypoint = []string{"/usr/bin/camchaind", "run", "--init", "--data", DataDir}
	ImageCmd        = []string{"--http", "0.0.0.0:8080", "--link", "0.0.0.0:8443"}
)

// caBundle is the host's CA bundle (Debian's ca-certificates), copied into
// the image so that mqtts:// brokers and https:// webhooks verify.
const caBundle = "/etc/ssl/certs/ca-certificates.crt"

func imageLayer(binDir string, mtime time.Time) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64, uid int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: uid, Gid: uid, ModTime: mtime, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, body []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	for _, d := range []string{"etc", "etc/ssl", "etc/ssl/certs", "usr", "usr/bin"} {
		if err := dir(d, 0o755, 0); err != nil {
			return nil, err
		}
	}
	if err := dir("tmp", 0o1777, 0); err != nil {
		return nil, err
	}
	if err := dir(strings.TrimPrefix(DataDir, "/"), 0o700, ImageUID); err != nil {
		return nil, err
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\ncamchain:x:%d:%d:camchain hub:%s:/sbin/nologin\n", ImageUID, ImageUID, DataDir)
	group := fmt.Sprintf("root:x:0:\ncamchain:x:%d:\n", ImageUID)
	if err := file("etc/passwd", 0o644, []byte(passwd)); err != nil {
		return nil, err
	}
	if err := file("etc/group", 0o644, []byte(group)); err != nil {
		return nil, err
	}
	if ca, err := os.ReadFile(caBundle); err == nil {
		if err := file(strings.TrimPrefix(caBundle, "/"), 0o644, ca); err != nil {
			return nil, err
		}
	} else {
		return nil, fmt.Errorf("the image needs the CA bundle %s (Debian's ca-certificates): %w", caBundle, err)
	}
	for _, p := range hubBinaries {
		b, err := os.ReadFile(filepath.Join(binDir, p))
		if err != nil {
			return nil, err
		}
		if err := file("usr/bin/"+p, 0o755, b); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	raw := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil },
		tarball.WithMediaType(types.OCILayer))
}

func hubImage(o Options, t Target, mtime time.Time) (v1.Image, error) {
	layer, err := imageLayer(filepath.Join(o.Out, "bin", t.Name), mtime)
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{Created: v1.Time{Time: mtime}, CreatedBy: "camchain tools/release", Comment: "camchaind and camchain " + o.Version}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = "linux", t.OCIArch, t.OCIVariant
	cf.Created = v1.Time{Time: mtime}
	cf.Config = v1.Config{
		Entrypoint: ImageEntrypoint,
		Cmd:        ImageCmd,
		User:       ImageUser,
		WorkingDir: DataDir,
		Env: []string{
			"PATH=/usr/bin",
			"CAMCHAIN_HOME=" + DataDir + "/home",
			"CAMCHAIND_PUBLIC_ORIGIN=https://localhost:8080",
			"CAMCHAIND_LINK_ADVERTISE=localhost:8443",
		},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}, "8443/tcp": {}},
		Volumes:      map[string]struct{}{DataDir: {}},
		StopSignal:   "SIGTERM",
		Labels: map[string]string{
			"org.opencontainers.image.title":   "camchain hub",
			"org.opencontainers.image.version": o.Version,
			"io.hass.type":                     "addon",
			"io.hass.version":                  o.Version,
			"io.hass.arch":                     t.HAArch,
		},
	}
	return mutate.ConfigFile(img, cf)
}

// buildImage writes the multi-arch image as an OCI image layout in a tar
// file (`docker load`, `podman load`, `skopeo copy oci-archive:…`), then
// the compose file and the Home Assistant add-on that name it.
func buildImage(o Options, m *Manifest, mtime time.Time) error {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var archs []string
	for _, t := range o.Targets {
		if t.OCIArch == "" || o.AgentOnly {
			continue
		}
		img, err := hubImage(o, t, mtime)
		if err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "linux", Architecture: t.OCIArch, Variant: t.OCIVariant}}})
		archs = append(archs, t.HAArch)
	}
	if len(archs) == 0 {
		return nil
	}
	ref := ImageName + ":" + imageTag(o.Version)
	tmp, err := os.MkdirTemp("", "camchain-oci-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": imageTag(o.Version),
		"io.containerd.image.name":          "docker.io/" + ref,
	})); err != nil {
		return err
	}
	m.Image = "camchain-hub_" + imageTag(o.Version) + "_oci.tar"
	m.ImageRef = ref
	if err := tarDir(tmp, filepath.Join(o.Out, m.Image), mtime); err != nil {
		return err
	}
	// The compose file and the add-on, with the version filled in.
	m.Compose = "compose.yaml"
	if err := fillTemplate(filepath.Join(o.Repo, "packaging", "compose.yaml"), filepath.Join(o.Out, m.Compose), imageTag(o.Version)); err != nil {
		return err
	}
	m.HAAddon = filepath.Join("homeassistant", "camchain", "config.yaml")
	if err := os.MkdirAll(filepath.Join(o.Out, "homeassistant", "camchain"), 0o755); err != nil {
		return err
	}
	if err := fillTemplate(filepath.Join(o.Repo, "packaging", m.HAAddon), filepath.Join(o.Out, m.HAAddon), imageTag(o.Version)); err != nil {
		return err
	}
	// A subset build (tests) lists only the architectures it made.
	return restrictHAArch(filepath.Join(o.Out, m.HAAddon), archs)
}

// imageTag is the version as an image tag, which allows only
// [A-Za-z0-9_.-]: Debian's "~" and "+" become "-".
func imageTag(version string) string {
	return strings.NewReplacer("~", "-", "+", "-").Replace(version)
}

func fillTemplate(src, dst, version string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, []byte(strings.ReplaceAll(string(b), "${VERSION}", version)), 0o644)
}

// restrictHAArch drops from the add-on's arch list those not in archs.
func restrictHAArch(path string, archs []string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, a := range archs {
		keep[a] = true
	}
	var out []string
	inArch := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "arch:") {
			inArch = true
		} else if inArch && strings.HasPrefix(line, "  - ") {
			if !keep[strings.TrimSpace(strings.TrimPrefix(line, "  - "))] {
				continue
			}
		} else {
			inArch = false
		}
		out = append(out, line)
	}
	return os.WriteFile(path, []byte(strings.Join(out, "\n")), 0o644)
}

// tarDir writes dir as a tar file, entries sorted, owned by root, with one
// mtime: the same layout gives the same bytes.
func tarDir(dir, dst string, mtime time.Time) error {
	var paths []string
	if err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			paths = append(paths, p)
		}
		return nil
	}); err != nil {
		return err
	}
	sort.Strings(paths)
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			f.Close()
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h := &tar.Header{Name: filepath.ToSlash(rel), ModTime: mtime, Mode: 0o644, Typeflag: tar.TypeReg, Size: st.Size(), Format: tar.FormatPAX}
		if st.IsDir() {
			h.Name += "/"
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			f.Close()
			return err
		}
		if !st.IsDir() {
			body, err := os.Open(p)
			if err != nil {
				f.Close()
				return err
			}
			_, err = io.Copy(tw, body)
			body.Close()
			if err != nil {
				f.Close()
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
