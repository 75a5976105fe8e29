package hub

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `camchaind run --init` (what the packages' service runs) makes a hub in
// an empty or missing directory, leaves an existing hub as it is, and
// refuses a directory holding something else instead of overwriting it.
func TestInitIfNoHub(t *testing.T) {
	base := t.TempDir()
	cfg := Config{DataDir: filepath.Join(base, "hub")}
	var out bytes.Buffer
	if err := initIfNoHub(cfg, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "first start: made a new hub") {
		t.Fatalf("first start printed %q", out.String())
	}
	if b, err := os.ReadFile(filepath.Join(cfg.DataDir, "FORMAT")); err != nil || string(b) != Format.Line() {
		t.Fatalf("FORMAT after --init: %q, %v", b, err)
	}
	keysBefore, err := os.ReadDir(filepath.Join(cfg.DataDir, "keys", "hub"))
	if err != nil || len(keysBefore) != 1 {
		t.Fatalf("hub keystore after --init: %v, %v", keysBefore, err)
	}

	// A second start keeps the hub: same key, nothing printed.
	out.Reset()
	if err := initIfNoHub(cfg, &out); err != nil {
		t.Fatal(err)
	}
	keysAfter, _ := os.ReadDir(filepath.Join(cfg.DataDir, "keys", "hub"))
	if out.Len() != 0 || len(keysAfter) != 1 || keysAfter[0].Name() != keysBefore[0].Name() {
		t.Fatalf("second start: printed %q, keystore %v (was %v)", out.String(), keysAfter, keysBefore)
	}

	// StateDirectory= makes the directory empty before the first start:
	// that is a new hub too.
	empty := Config{DataDir: filepath.Join(base, "empty")}
	if err := os.Mkdir(empty.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := initIfNoHub(empty, &out); err != nil {
		t.Fatalf("--init in an empty directory: %v", err)
	}

	// Something that is not a hub is never overwritten.
	other := Config{DataDir: filepath.Join(base, "other")}
	if err := os.MkdirAll(other.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	precious := filepath.Join(other.DataDir, "precious")
	if err := os.WriteFile(precious, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = initIfNoHub(other, &out)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("--init on a directory holding other files: %v, want a refusal naming it not empty", err)
	}
	if b, err := os.ReadFile(precious); err != nil || string(b) != "keep me" {
		t.Fatalf("the other file after a refused --init: %q, %v", b, err)
	}
}

// A hub data directory written by a newer release is refused, untouched,
// with what to do (a downgrade); one of another kind too.
func TestCheckFormatRefusesNewer(t *testing.T) {
	cfg := Config{DataDir: filepath.Join(t.TempDir(), "hub")}
	var out bytes.Buffer
	if err := initIfNoHub(cfg, &out); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := checkFormat(&cfg); err != nil {
		t.Fatalf("this release's own directory: %v", err)
	}
	for format, want := range map[string]string{
		"camchain-hub-data 2\n":   "holds camchain-hub-data version 2, written by a newer release; this one reads up to version 1. Install the newer release again",
		"camchain-agent-data 1\n": "not camchain-hub-data",
	} {
		if err := os.WriteFile(filepath.Join(cfg.DataDir, "FORMAT"), []byte(format), 0o600); err != nil {
			t.Fatal(err)
		}
		err := checkFormat(&cfg)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("FORMAT %q: %v, want %q", format, err, want)
		}
		if b, _ := os.ReadFile(filepath.Join(cfg.DataDir, "FORMAT")); string(b) != format {
			t.Errorf("FORMAT %q was rewritten to %q", format, b)
		}
	}
}
