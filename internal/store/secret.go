package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/camchain/camchain/internal/atomicfile"
)

// secretName is the chain secret file of the camera link (SPEC §7.1). Its
// content is the link package's; the store keeps it beside the chain,
// written whole and atomically, readable only by the owner of the data.
const secretName = "linksecret"

// maxSecretFile caps the file (the link's state is under 128 bytes).
const maxSecretFile = 1024

// ChainSecret returns the stored chain secret state, or nil if none was
// ever stored.
func (c *Chain) ChainSecret() ([]byte, error) {
	c.mu.RLock()
	closed := c.closed
	c.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	f, err := os.Open(c.statePath(secretName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", c.id, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, fmt.Errorf("store: %s: read chain secret: %w", c.id, err)
	}
	if len(b) > maxSecretFile {
		return nil, &CorruptError{Path: c.statePath(secretName), Offset: -1, Reason: "chain secret file too large"}
	}
	return b, nil
}

// SetChainSecret replaces the chain secret state durably (temp, fsync,
// rename, directory fsync): after a crash the file holds either the old
// or the new state, whole.
func (c *Chain) SetChainSecret(b []byte) error {
	if len(b) == 0 || len(b) > maxSecretFile {
		return fmt.Errorf("store: chain secret of %d bytes", len(b))
	}
	c.ackMu.Lock()
	defer c.ackMu.Unlock()
	c.mu.RLock()
	closed := c.closed
	c.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if err := atomicfile.Write(c.statePath(secretName), b, 0o600); err != nil {
		return fmt.Errorf("store: %s: save chain secret: %w", c.id, err)
	}
	return nil
}
