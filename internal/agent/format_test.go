package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A new agent data directory gets this release's FORMAT; one written by a
// newer release (a downgraded camera) is refused, untouched, saying what
// to do; one of another kind too.
func TestFormatNewAndNewer(t *testing.T) {
	dir := t.TempDir()
	if err := checkOrWriteFormat(dir); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "FORMAT")); err != nil || string(b) != "camchain-agent-data 1\n" {
		t.Fatalf("FORMAT of a new directory: %q, %v", b, err)
	}
	if err := checkOrWriteFormat(dir); err != nil {
		t.Fatalf("reopening: %v", err)
	}
	for format, want := range map[string]string{
		"camchain-agent-data 2\n": "holds camchain-agent-data version 2, written by a newer release; this one reads up to version 1. Install the newer release again",
		"camchain-hub-data 1\n":   "not camchain-agent-data",
	} {
		if err := os.WriteFile(filepath.Join(dir, "FORMAT"), []byte(format), 0o600); err != nil {
			t.Fatal(err)
		}
		err := checkOrWriteFormat(dir)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("FORMAT %q: %v, want %q", format, err, want)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "FORMAT")); string(b) != format {
			t.Errorf("FORMAT %q was rewritten to %q", format, b)
		}
	}
}
