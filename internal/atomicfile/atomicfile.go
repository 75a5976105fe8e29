// Package atomicfile writes files so that a crash at any moment leaves
// either the old content or the new, never a torn file.
package atomicfile

import (
	"fmt"
	"io"
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

// WriteWith is Write of what fill writes, streamed to the temporary file
// (a large file is never held in memory); an error from fill leaves
// path as it was.
func WriteWith(path string, perm os.FileMode, fill func(io.Writer) error) error {
	return writeWith(path, perm, false, fill)
}

// CreateWith is Create of what fill writes.
func CreateWith(path string, perm os.FileMode, fill func(io.Writer) error) error {
	return writeWith(path, perm, true, fill)
}

func write(path string, data []byte, perm os.FileMode, exclusive bool) error {
	return writeWith(path, perm, exclusive, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

func writeWith(path string, perm os.FileMode, exclusive bool, fill func(io.Writer) error) (err error) {
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
	if err = fill(f); err != nil {
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
