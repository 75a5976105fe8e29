//go:build unix

package store

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A store's files and directories are its user's alone whatever the
// umask and the parent directory's mode, and Open narrows a store
// directory left open to others (the hub's recordings and the camera's
// card alike).
func TestStoreFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	parent := t.TempDir()
	if err := os.Chmod(parent, 0o777); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(parent, "store")
	if err := os.Mkdir(dir, 0o755); err != nil { // left open by an older version
		t.Fatal(err)
	}
	s := openStore(t, dir, Options{})
	cam := newCamera(t, 0)
	c, err := s.Chain(cam.addr(), 0)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, c, cam, 3, 100)
	n := 0
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		n++
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %s: open to other users", p, fi.Mode())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 8 { // the store, its FORMAT and lock, the chain's directories, records.log, 3 segments
		t.Fatalf("only %d entries checked", n)
	}
}
