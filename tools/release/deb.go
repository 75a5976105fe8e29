package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
)

// buildDeb packages one of packaging/nfpm/<pkg>.yaml for t.
func buildDeb(o Options, t Target, pkg string, mtime time.Time) (Artifact, error) {
	pkgDir := filepath.Join(o.Repo, "packaging")
	binDir, err := filepath.Abs(filepath.Join(o.Out, "bin", t.Name))
	if err != nil {
		return Artifact{}, err
	}
	vars := map[string]string{
		"VERSION": o.Version,
		"ARCH":    t.DebArch,
		"BIN":     binDir,
		"PKG":     pkgDir,
		"DOC":     filepath.Join(o.Repo, "README.md"),
	}
	raw, err := os.ReadFile(filepath.Join(pkgDir, "nfpm", pkg+".yaml"))
	if err != nil {
		return Artifact{}, err
	}
	// Every ${NAME} in the file is ours, expanded here (nfpm expands only
	// some fields, and not script paths); one it does not know is an error,
	// not an empty path.
	var unknown []string
	text := os.Expand(string(raw), func(k string) string {
		v, ok := vars[k]
		if !ok {
			unknown = append(unknown, k)
		}
		return v
	})
	if len(unknown) > 0 {
		return Artifact{}, fmt.Errorf("packaging/nfpm/%s.yaml names ${%s}, which tools/release does not set", pkg, strings.Join(unknown, "}, ${"))
	}
	// nfpm's own lookups are of signing passphrases: no signing here.
	cfg, err := nfpm.ParseWithEnvMapping(strings.NewReader(text), func(string) string { return "" })
	if err != nil {
		return Artifact{}, fmt.Errorf("packaging/nfpm/%s.yaml: %w", pkg, err)
	}
	info, err := cfg.Get("deb")
	if err != nil {
		return Artifact{}, err
	}
	info.MTime = mtime
	if err := nfpm.Validate(info); err != nil {
		return Artifact{}, err
	}
	packager, err := nfpm.Get("deb")
	if err != nil {
		return Artifact{}, err
	}
	name := packager.ConventionalFileName(info)
	out, err := os.Create(filepath.Join(o.Out, name))
	if err != nil {
		return Artifact{}, err
	}
	if err := packager.Package(info, out); err != nil {
		out.Close()
		return Artifact{}, err
	}
	if err := out.Close(); err != nil {
		return Artifact{}, err
	}
	a := Artifact{Path: name, Package: pkg, Target: t.Name}
	for _, c := range info.Contents {
		if filepath.Dir(c.Source) == binDir {
			a.Holds = append(a.Holds, filepath.Join("bin", t.Name, filepath.Base(c.Source)))
		}
	}
	return a, nil
}
