//go:build unix

package agent

import (
	"bufio"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
)

// Whatever the umask and the parent directory's mode, and even with a keys
// directory an older version left open, nothing the agent keeps on disk —
// keys, the key's passphrase, state, alarms, the recording store, the
// control socket — is readable or writable by another user once it runs.
// Another user trying the control socket (the reset button) is refused by
// the kernel: the socket is 0600 from the moment it exists.
func TestAgentFilesAreTheAgentUsersAlone(t *testing.T) {
	old := syscall.Umask(0) // the most permissive umask
	defer syscall.Umask(old)
	parent := t.TempDir()
	if err := os.Chmod(parent, 0o777); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(parent, "agent")
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A leftover file in keys/, world-readable.
	if err := os.WriteFile(filepath.Join(dir, "keys", "leftover"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := Open(Config{DataDir: dir, Source: nopSource{}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.store.Close()
	data := []byte{1, 2, 3, 4}
	r := &feedchain.Record{Camera: a.Address(), Seq: 0, Segment: feedchain.SegmentHash(data),
		Start: time.Now().UnixNano(), Duration: 2 * time.Second, Size: 4, Codec: "avc1.4d401e"}
	if err := r.Sign(a.key); err != nil {
		t.Fatal(err)
	}
	if err := a.Chain().Append(r, data); err != nil {
		t.Fatal(err)
	}
	a.alarms.Raise("storage-full", "a test alarm, so alarms.jsonl exists")
	ln, err := a.serveControl()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ln.Close(); a.wg.Wait() }()

	seen := map[string]bool{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		seen[filepath.ToSlash(rel)] = true
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %s: open to other users", rel, fi.Mode())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".", "keys", "keys/camera.passphrase", "keys/link-tls.pem", "keys/leftover", "store", "alarms.jsonl", "control.sock"} {
		if !seen[want] {
			t.Errorf("%s not found: the test checks less than it claims", want)
		}
	}
	var segs int
	for p := range seen {
		if strings.Contains(p, "/seg/") {
			segs++
		}
	}
	if segs == 0 {
		t.Error("no segment file found under store/: the test checks less than it claims")
	}
	fi, err := os.Lstat(filepath.Join(dir, "control.sock"))
	if err != nil || fi.Mode()&fs.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("control socket: %v %v, want a socket of mode 0600", fi.Mode(), err)
	}
	// The owner still uses it.
	c, err := net.Dial("unix", filepath.Join(dir, "control.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("status\n"))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.Contains(line, "{") {
		t.Fatalf("status over the socket: %q %v", line, err)
	}
}
