//go:build !unix

package store

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("would block")

// flock is not implemented here: the store needs flock(2) to keep two
// processes from writing one directory.
func flock(*os.File) error { return errors.New("store: directory locking needs a unix system") }
