package witness

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/camchain/camchain/internal/feedchain"
)

// Store keeps the cosignatures a hub got, one append-only file per log
// (origin) in its directory, so they outlive restarts and go into evidence
// bundles:
//
//	<dir>/<origin with '/' as '_'>.cosig
//	    "camchain-cosignatures 1 <origin>\n", then one line per cosignature:
//	    "<size> <root, base64> <witness verifier key> <time> <signature, base64>\n"
//
// Each line is written and fsynced before Add returns. A torn last line
// (a crash mid-append, before Add returned) is cut off on open; any other
// bad line fails the open, naming the file and line.
type Store struct {
	dir  string
	mu   sync.Mutex
	logs map[string]*storeLog
}

type storeLog struct {
	f     *os.File
	lines []storedCosignature
}

type storedCosignature struct {
	size uint64
	root feedchain.Hash
	c    Cosignature
}

const storeHeader = "camchain-cosignatures 1 "

// maxStoreLine caps a line: two base64 hashes, a key and numbers.
const maxStoreLine = 2 * MaxNameBytes

// OpenStore opens (creating) the store in dir.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("witness: cosignature store: %w", err)
	}
	return &Store{dir: dir, logs: map[string]*storeLog{}}, nil
}

func (s *Store) path(origin string) string {
	return filepath.Join(s.dir, strings.ReplaceAll(origin, "/", "_")+".cosig")
}

// open returns origin's log, loading it on first use. s.mu is held.
func (s *Store) open(origin string) (*storeLog, error) {
	if l := s.logs[origin]; l != nil {
		return l, nil
	}
	if !validName(origin) {
		return nil, fmt.Errorf("witness: %q is not a log origin", origin)
	}
	p := s.path(origin)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("witness: cosignature store: %w", err)
	}
	l := &storeLog{f: f}
	data, err := os.ReadFile(p)
	if err != nil {
		f.Close()
		return nil, err
	}
	if len(data) == 0 {
		if err := writeSync(f, []byte(storeHeader+origin+"\n")); err != nil {
			f.Close()
			return nil, err
		}
		s.logs[origin] = l
		return l, nil
	}
	head, rest, ok := bytes.Cut(data, []byte("\n"))
	if !ok || string(head) != storeHeader+origin {
		f.Close()
		return nil, fmt.Errorf("witness: %s is not the cosignature file of %s (move it aside to start it anew)", p, origin)
	}
	good := len(head) + 1
	for n := 2; len(rest) > 0; n++ {
		line, after, complete := bytes.Cut(rest, []byte("\n"))
		if !complete { // torn by a crash before Add returned
			break
		}
		sc, err := parseStoreLine(string(line))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("witness: %s line %d: %w", p, n, err)
		}
		l.lines = append(l.lines, sc)
		good += len(line) + 1
		rest = after
	}
	if good < len(data) {
		if err := f.Truncate(int64(good)); err != nil {
			f.Close()
			return nil, err
		}
	}
	if _, err := f.Seek(int64(good), 0); err != nil {
		f.Close()
		return nil, err
	}
	s.logs[origin] = l
	return l, nil
}

func parseStoreLine(line string) (storedCosignature, error) {
	var sc storedCosignature
	f := strings.Split(line, " ")
	if len(line) > maxStoreLine || len(f) != 5 {
		return sc, errors.New("not a cosignature line")
	}
	size, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil {
		return sc, errors.New("bad size")
	}
	root, err := base64.StdEncoding.Strict().DecodeString(f[1])
	if err != nil || len(root) != len(sc.root) {
		return sc, errors.New("bad root")
	}
	k, err := ParseKey(f[2])
	if err != nil {
		return sc, err
	}
	t, err := strconv.ParseUint(f[3], 10, 64)
	if err != nil {
		return sc, errors.New("bad time")
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(f[4])
	if err != nil || len(sig) != len(sc.c.Signature) {
		return sc, errors.New("bad signature")
	}
	sc.size, sc.c.Witness, sc.c.Time = size, k, t
	copy(sc.root[:], root)
	copy(sc.c.Signature[:], sig)
	return sc, nil
}

func writeSync(f *os.File, b []byte) error {
	if _, err := f.Write(b); err != nil {
		return err
	}
	return f.Sync()
}

// Add keeps a cosignature of origin's tree of size and root, after
// checking it.
func (s *Store) Add(origin string, size uint64, root feedchain.Hash, c Cosignature) error {
	if err := c.Verify(Body(origin, size, root)); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := s.open(origin)
	if err != nil {
		return err
	}
	line := fmt.Sprintf("%d %s %s %d %s\n", size, base64.StdEncoding.EncodeToString(root[:]), c.Witness,
		c.Time, base64.StdEncoding.EncodeToString(c.Signature[:]))
	if err := writeSync(l.f, []byte(line)); err != nil {
		return fmt.Errorf("witness: cosignature store: %w", err)
	}
	l.lines = append(l.lines, storedCosignature{size: size, root: root, c: c})
	return nil
}

// For returns the kept cosignatures of origin's tree of size and root,
// the latest of each witness, that verify.
func (s *Store) For(origin string, size uint64, root feedchain.Hash) ([]Cosignature, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := s.open(origin)
	if err != nil {
		return nil, err
	}
	body := Body(origin, size, root)
	var out []Cosignature
	for i := len(l.lines) - 1; i >= 0; i-- {
		sc := l.lines[i]
		if sc.size != size || sc.root != root || sc.c.Verify(body) != nil {
			continue
		}
		dup := false
		for _, o := range out {
			dup = dup || o.Witness.Equal(sc.c.Witness)
		}
		if !dup {
			out = append(out, sc.c)
		}
	}
	return out, nil
}

// Last is the largest tree size of origin that witness w cosigned (0 for
// none).
func (s *Store) Last(origin string, w Key) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := s.open(origin)
	if err != nil {
		return 0, err
	}
	var last uint64
	for _, sc := range l.lines {
		if sc.c.Witness.Equal(w) && sc.size > last {
			last = sc.size
		}
	}
	return last, nil
}

// Close closes the store's files.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for o, l := range s.logs {
		errs = append(errs, l.f.Close())
		delete(s.logs, o)
	}
	return errors.Join(errs...)
}
