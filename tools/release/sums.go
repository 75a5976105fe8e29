package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// SumsName is the checksum file, in sha256sum(1)'s format: check a
// download with `sha256sum -c SHA256SUMS`.
const SumsName = "SHA256SUMS"

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// releaseFiles lists every regular file under dir but SHA256SUMS, sorted.
func releaseFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel != SumsName {
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

func writeSums(dir string) error {
	files, err := releaseFiles(dir)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, f := range files {
		sum, err := fileSHA256(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, f)
	}
	return os.WriteFile(filepath.Join(dir, SumsName), []byte(b.String()), 0o644)
}

// checkSums checks that SHA256SUMS lists every file of the release, once,
// with its right hash.
func checkSums(dir string) error {
	f, err := os.Open(filepath.Join(dir, SumsName))
	if err != nil {
		return err
	}
	defer f.Close()
	listed := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 {
			return fmt.Errorf("%s: malformed line %q", SumsName, sc.Text())
		}
		if _, dup := listed[name]; dup {
			return fmt.Errorf("%s lists %s twice", SumsName, name)
		}
		listed[name] = sum
	}
	if err := sc.Err(); err != nil {
		return err
	}
	files, err := releaseFiles(dir)
	if err != nil {
		return err
	}
	for _, name := range files {
		want, ok := listed[name]
		if !ok {
			return fmt.Errorf("%s is not in %s", name, SumsName)
		}
		got, err := fileSHA256(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("%s: SHA-256 %s, %s says %s", name, got, SumsName, want)
		}
		delete(listed, name)
	}
	for name := range listed {
		return fmt.Errorf("%s lists %s, which is not in the release", SumsName, name)
	}
	return nil
}
