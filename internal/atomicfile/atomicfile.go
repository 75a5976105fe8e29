// Package atomicfile writes files so that a crash at any moment leaves
// either the old content or the new, never a torn file.
package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// TempPrefix starts the name of every temporary file Write leaves behind
// when a crash stops it before the rename: ".tmp-<name>-<random>".
const TempPrefix = ".tmp-"

// Write writes data to path: a temporary file in the same directory,
// fsync, rename over path, fsync of the directory.
func Write(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, false)
}

// Create is Write that refuses to replace an existing file
// (fs.ErrExist). Keys use it: a key file is never overwritten.
func Create(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, true)
}

func write(path string, data []byte, perm os.FileMode, exclusive bool) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, TempPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if exclusive {
		// Link fails if path exists, atomically; then drop the temp name.
		if err = os.Link(tmp, path); err != nil {
			if os.IsExist(err) {
				return fmt.Errorf("%s: %w", path, fs.ErrExist)
			}
			return err
		}
		if err = os.Remove(tmp); err != nil {
			return err
		}
	} else if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
