// Package home locates camchain's default directories: $CAMCHAIN_HOME, or
// ~/.camchain when it is unset.
package home

import (
	"fmt"
	"os"
	"path/filepath"
)

// Dir returns $CAMCHAIN_HOME/sub, or ~/.camchain/sub.
func Dir(sub string) (string, error) {
	if h := os.Getenv("CAMCHAIN_HOME"); h != "" {
		return filepath.Join(h, sub), nil
	}
	u, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no home directory for the default %s directory (%w); set CAMCHAIN_HOME or pass the directory", sub, err)
	}
	return filepath.Join(u, ".camchain", sub), nil
}

// DirOr is Dir, falling back to .camchain/sub in the working directory.
func DirOr(sub string) string {
	d, err := Dir(sub)
	if err != nil {
		return filepath.Join(".camchain", sub)
	}
	return d
}
