package main

import (
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// The SBOM of each binary is an SPDX 2.3 JSON document made from the Go
// build information the binary carries (debug/buildinfo): the module it is
// built from, every module linked into it with its version and go.sum
// hash, and the Go toolchain. It is read from the binary itself, so it
// names exactly what is in it, not what go.mod allows. The document is
// small enough to write here; no SPDX library is among the modules known
// to this machine's proxy.
type spdxDoc struct {
	SPDXVersion       string         `json:"spdxVersion"`
	DataLicense       string         `json:"dataLicense"`
	SPDXID            string         `json:"SPDXID"`
	Name              string         `json:"name"`
	DocumentNamespace string         `json:"documentNamespace"`
	CreationInfo      spdxCreation   `json:"creationInfo"`
	Packages          []spdxPackage  `json:"packages"`
	Relationships     []spdxRelation `json:"relationships"`
}

type spdxCreation struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type spdxPackage struct {
	Name             string         `json:"name"`
	SPDXID           string         `json:"SPDXID"`
	VersionInfo      string         `json:"versionInfo"`
	DownloadLocation string         `json:"downloadLocation"`
	FilesAnalyzed    bool           `json:"filesAnalyzed"`
	PackageFileName  string         `json:"packageFileName,omitempty"`
	Checksums        []spdxChecksum `json:"checksums,omitempty"`
	ExternalRefs     []spdxRef      `json:"externalRefs,omitempty"`
	Comment          string         `json:"comment,omitempty"`
}

type spdxChecksum struct {
	Algorithm     string `json:"algorithm"`
	ChecksumValue string `json:"checksumValue"`
}

type spdxRef struct {
	Category string `json:"referenceCategory"`
	Type     string `json:"referenceType"`
	Locator  string `json:"referenceLocator"`
}

type spdxRelation struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

var spdxIDUnsafe = regexp.MustCompile(`[^A-Za-z0-9.-]`)

func spdxID(s string) string { return "SPDXRef-" + spdxIDUnsafe.ReplaceAllString(s, "-") }

// sbomPath is where the SBOM of a binary goes, relative to the dist.
func sbomPath(b Artifact) string {
	return filepath.Join("sbom", b.Program+"_"+b.Target+".spdx.json")
}

// makeSBOM builds the SPDX document of the binary at path.
func makeSBOM(path string, b Artifact, version string, created time.Time) (*spdxDoc, error) {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s carries no Go build information: %w", path, err)
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return nil, err
	}
	name := b.Program + "_" + b.Target
	doc := &spdxDoc{
		SPDXVersion:       "SPDX-2.3",
		DataLicense:       "CC0-1.0",
		SPDXID:            "SPDXRef-DOCUMENT",
		Name:              name + "-" + version,
		DocumentNamespace: "https://camchain.invalid/spdx/" + version + "/" + name + "/" + sum,
		CreationInfo:      spdxCreation{Created: created.UTC().Format(time.RFC3339), Creators: []string{"Tool: camchain-tools-release"}},
	}
	root := spdxID(name)
	doc.Packages = append(doc.Packages, spdxPackage{
		Name: b.Program, SPDXID: root, VersionInfo: version, DownloadLocation: "NOASSERTION",
		PackageFileName: b.Path, Checksums: []spdxChecksum{{"SHA256", sum}},
		ExternalRefs: []spdxRef{{"PACKAGE-MANAGER", "purl", "pkg:golang/" + bi.Main.Path + "@" + version}},
		Comment:      "built from " + bi.Path + " with " + bi.GoVersion + buildSettings(bi),
	})
	doc.Relationships = append(doc.Relationships, spdxRelation{"SPDXRef-DOCUMENT", "DESCRIBES", root})
	goID := spdxID("go-" + bi.GoVersion)
	doc.Packages = append(doc.Packages, spdxPackage{
		Name: "golang", SPDXID: goID, VersionInfo: strings.TrimPrefix(bi.GoVersion, "go"), DownloadLocation: "NOASSERTION",
		ExternalRefs: []spdxRef{{"PACKAGE-MANAGER", "purl", "pkg:golang/stdlib@" + bi.GoVersion}},
	})
	doc.Relationships = append(doc.Relationships, spdxRelation{root, "DEPENDS_ON", goID})
	for _, d := range bi.Deps {
		m := d
		if d.Replace != nil {
			m = d.Replace
		}
		id := spdxID(m.Path + "-" + m.Version)
		p := spdxPackage{
			Name: m.Path, SPDXID: id, VersionInfo: m.Version, DownloadLocation: "NOASSERTION",
			ExternalRefs: []spdxRef{{"PACKAGE-MANAGER", "purl", "pkg:golang/" + m.Path + "@" + m.Version}},
		}
		if m.Sum != "" {
			p.Comment = "go.sum " + m.Sum
		}
		doc.Packages = append(doc.Packages, p)
		doc.Relationships = append(doc.Relationships, spdxRelation{root, "DEPENDS_ON", id})
	}
	return doc, nil
}

func buildSettings(bi *buildinfo.BuildInfo) string {
	var s []string
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "GOOS", "GOARCH", "GOARM", "GOMIPS", "CGO_ENABLED", "-trimpath":
			s = append(s, kv.Key+"="+kv.Value)
		}
	}
	if len(s) == 0 {
		return ""
	}
	return " (" + strings.Join(s, " ") + ")"
}

func writeSBOM(dist string, b Artifact, version string, created time.Time) (string, error) {
	doc, err := makeSBOM(filepath.Join(dist, b.Path), b, version, created)
	if err != nil {
		return "", err
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return "", err
	}
	rel := sbomPath(b)
	if err := os.MkdirAll(filepath.Join(dist, "sbom"), 0o755); err != nil {
		return "", err
	}
	return rel, os.WriteFile(filepath.Join(dist, rel), append(out, '\n'), 0o644)
}
