package dataformat

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var v2 = Format{Name: "camchain-test-data", Version: 2}

// upper is a synthetic v1 → v2 step: "notes" is rewritten upper-case and
// "index" is made. With CRASH_IN_MIGRATION set it dies half-way, after
// rewriting notes and before making index: what a power cut does.
var upper = Migration{From: 1, Changes: []string{"notes", "index"}, Apply: func(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "notes"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "notes"), []byte(strings.ToUpper(string(b))), 0o600); err != nil {
		return err
	}
	if os.Getenv("CRASH_IN_MIGRATION") != "" {
		os.Exit(3)
	}
	return os.WriteFile(filepath.Join(dir, "index"), []byte("1\n"), 0o600)
}}

func v1Dir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, FormatName), []byte("camchain-test-data 1\n"), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "notes"), []byte("keep me\n"), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "recording"), []byte("untouched"), 0o600))
	return dir
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMain lets a test run Open in a child process that crashes.
func TestMain(m *testing.M) {
	if dir := os.Getenv("MIGRATE_DIR"); dir != "" {
		_, err := Open(dir, v2, []Migration{upper})
		fmt.Println(err)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestMigrateWithBackup(t *testing.T) {
	dir := v1Dir(t)
	from, err := Open(dir, v2, []Migration{upper})
	if err != nil || from != 1 {
		t.Fatalf("Open: %d, %v", from, err)
	}
	if got := read(t, filepath.Join(dir, FormatName)); got != "camchain-test-data 2\n" {
		t.Fatalf("FORMAT after migration: %q", got)
	}
	if read(t, filepath.Join(dir, "notes")) != "KEEP ME\n" || read(t, filepath.Join(dir, "index")) != "1\n" {
		t.Fatal("migration not applied")
	}
	b := backupDir(dir, v2, 1)
	if read(t, filepath.Join(b, "notes")) != "keep me\n" {
		t.Fatal("the backup does not hold the original notes")
	}
	if _, err := os.Stat(filepath.Join(b, "recording")); err == nil {
		t.Fatal("the backup copied a file the step does not change")
	}
	if _, err := os.Stat(filepath.Join(dir, MigratingName)); err == nil {
		t.Fatal("MIGRATING left after a finished migration")
	}
	// Opening again does nothing.
	if from, err := Open(dir, v2, []Migration{upper}); err != nil || from != 2 {
		t.Fatalf("second Open: %d, %v", from, err)
	}
	if read(t, filepath.Join(dir, "notes")) != "KEEP ME\n" {
		t.Fatal("second Open changed the data")
	}
}

// A crash inside a step (the child process exits half-way through Apply)
// leaves FORMAT at the old version; the next start restores the backup and
// runs the step again, so the result is as if nothing had happened.
func TestMigrateCrashIsUndoneThenRedone(t *testing.T) {
	dir := v1Dir(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "MIGRATE_DIR="+dir, "CRASH_IN_MIGRATION=1")
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("the child did not crash in the migration: %v", err)
	}
	// The crash's state: half-applied, marker present, FORMAT still 1.
	if read(t, filepath.Join(dir, "notes")) != "KEEP ME\n" || read(t, filepath.Join(dir, FormatName)) != "camchain-test-data 1\n" {
		t.Fatal("the crash did not happen where the test wants it")
	}
	if _, err := os.Stat(filepath.Join(dir, MigratingName)); err != nil {
		t.Fatalf("no MIGRATING marker after the crash: %v", err)
	}
	from, err := Open(dir, v2, []Migration{upper})
	if err != nil || from != 1 {
		t.Fatalf("Open after the crash: %d, %v", from, err)
	}
	// Upper-cased once, not twice (it would not show) — and the step ran
	// on the original: the backup still holds the lower-case text.
	if read(t, filepath.Join(dir, "notes")) != "KEEP ME\n" || read(t, filepath.Join(dir, "index")) != "1\n" ||
		read(t, filepath.Join(dir, FormatName)) != "camchain-test-data 2\n" || read(t, filepath.Join(dir, "recording")) != "untouched" {
		t.Fatal("the redone migration's result is wrong")
	}
	if read(t, filepath.Join(backupDir(dir, v2, 1), "notes")) != "keep me\n" {
		t.Fatal("the backup was overwritten by the half-migrated file")
	}
}

// A step that fails leaves the directory exactly as it was.
func TestMigrateFailureRestores(t *testing.T) {
	dir := v1Dir(t)
	bad := Migration{From: 1, Changes: []string{"notes", "index"}, Apply: func(dir string) error {
		os.WriteFile(filepath.Join(dir, "notes"), []byte("half"), 0o600)
		os.WriteFile(filepath.Join(dir, "index"), []byte("half"), 0o600)
		return errors.New("disk full")
	}}
	_, err := Open(dir, v2, []Migration{bad})
	if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "the data is as it was") {
		t.Fatalf("Open with a failing step: %v", err)
	}
	if read(t, filepath.Join(dir, "notes")) != "keep me\n" || read(t, filepath.Join(dir, FormatName)) != "camchain-test-data 1\n" {
		t.Fatal("a failed step left changes")
	}
	if _, err := os.Stat(filepath.Join(dir, "index")); err == nil {
		t.Fatal("a failed step left a file it made")
	}
}

// A directory from a newer release is refused, untouched, with a message
// that says what to do; so are foreign and damaged FORMAT files.
func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		format string
		is     error
		want   string
	}{
		{"camchain-test-data 3\n", ErrNewer, "written by a newer release; this one reads up to version 2. Install the newer release again"},
		{"camchain-test-data 9999999999999999999999\n", ErrForeign, "not a number"},
		{"camchain-test-data 01\n", ErrForeign, "not a number"},
		{"camchain-test-data 1", ErrForeign, "not camchain-test-data"},
		{"camchain-store 1\n", ErrForeign, "not camchain-test-data"},
		{strings.Repeat("x", 300), nil, "larger than"},
	} {
		dir := t.TempDir()
		must(t, os.WriteFile(filepath.Join(dir, FormatName), []byte(tc.format), 0o600))
		must(t, os.WriteFile(filepath.Join(dir, "notes"), []byte("keep me\n"), 0o600))
		_, err := Open(dir, v2, []Migration{upper})
		if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("FORMAT %q: %v, want %v with %q", tc.format, err, tc.is, tc.want)
		}
		if read(t, filepath.Join(dir, FormatName)) != tc.format || read(t, filepath.Join(dir, "notes")) != "keep me\n" {
			t.Errorf("FORMAT %q: a refused directory was changed", tc.format)
		}
	}
	if _, err := Open(t.TempDir(), v2, nil); !errors.Is(err, ErrNoFormat) {
		t.Errorf("empty directory: %v, want ErrNoFormat", err)
	}
	// No migration from the found version: refused, untouched.
	dir := v1Dir(t)
	if _, err := Open(dir, v2, nil); err == nil || !strings.Contains(err.Error(), "no migration from it") {
		t.Errorf("no migration: %v", err)
	}
}
