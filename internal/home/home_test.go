package home

import (
	"path/filepath"
	"strings"
	"testing"
)

// $CAMCHAIN_HOME wins; without it the directory is under the user's home;
// with neither, Dir fails naming the way out and DirOr falls back to the
// working directory.
func TestDir(t *testing.T) {
	t.Run("CAMCHAIN_HOME", func(t *testing.T) {
		t.Setenv("CAMCHAIN_HOME", "/srv/cc")
		t.Setenv("HOME", "/home/someone")
		if d, err := Dir("keystore"); err != nil || d != filepath.Join("/srv/cc", "keystore") {
			t.Fatalf("Dir = %q, %v", d, err)
		}
		if d := DirOr("hub"); d != filepath.Join("/srv/cc", "hub") {
			t.Fatalf("DirOr = %q", d)
		}
	})
	t.Run("user home", func(t *testing.T) {
		t.Setenv("CAMCHAIN_HOME", "")
		t.Setenv("HOME", "/home/someone")
		if d, err := Dir("keystore"); err != nil || d != filepath.Join("/home/someone", ".camchain", "keystore") {
			t.Fatalf("Dir = %q, %v", d, err)
		}
	})
	t.Run("no home at all", func(t *testing.T) {
		t.Setenv("CAMCHAIN_HOME", "")
		t.Setenv("HOME", "")
		d, err := Dir("keystore")
		if err == nil || !strings.Contains(err.Error(), "CAMCHAIN_HOME") || !strings.Contains(err.Error(), "keystore") {
			t.Fatalf("Dir = %q, %v; want an error naming CAMCHAIN_HOME", d, err)
		}
		if d := DirOr("keystore"); d != filepath.Join(".camchain", "keystore") {
			t.Fatalf("DirOr = %q", d)
		}
	})
}
