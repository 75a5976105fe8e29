package store

import (
	"fmt"
	"os"
)

// The store's files and directories are its owner's alone: recordings are
// video of someone's home (encrypted or not, their sizes and times tell
// when someone was there), and the chain secret sits beside the chain.
// They are created with these modes whatever the parent directory's mode
// (umask can only narrow them), and Open narrows a store directory that an
// older version or a careless copy left open to others.
const (
	fileMode os.FileMode = 0o600
	dirMode  os.FileMode = 0o700
)

// privateDir makes sure dir is not open to group or others.
func privateDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, fi.Mode().Perm()&dirMode); err != nil {
			return fmt.Errorf("make %s private: %w", dir, err)
		}
	}
	return nil
}
