package store

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/store/layout"
)

// Options configure a Store. The zero value keeps everything forever.
type Options struct {
	// MaxBytes bounds the segment bytes of the whole store (the SD card);
	// 0 means unlimited. The records logs are not counted (about 300
	// bytes per segment). With a limit, Open loads every chain, since
	// retention weighs them all.
	MaxBytes int64
	// MaxAge is how long a segment is kept after it ends; 0 means forever.
	MaxAge time.Duration
	// Clock returns the current time for MaxAge; nil means time.Now.
	Clock func() time.Time
	// Logger receives what Open repairs and what retention deletes; nil
	// discards.
	Logger *slog.Logger
	// Signer, when set, is the camera's key (the agent's store, the card):
	// every retention pass over a chain of that camera first writes the
	// camera's signed prune statement (internal/retention, SPEC §14.1)
	// beside the pruned marker, so a verifier can tell retention from a
	// deletion by whoever holds the card. The key must not live in the
	// store's directory. Chains of other cameras (the hub's store) get only
	// the unsigned marker.
	Signer keys.Signer
	// Objects, when set, is a second home for the chains (an S3 bucket,
	// internal/bucket; SPEC §9.3): Append stores the segment and its
	// record there before it returns, retention writes the pruned mark
	// and deletes there too, and a segment file gone from the directory is
	// read from there. When it cannot reach the object store, Append stores
	// nothing and fails with an error matching ErrUnavailable.
	Objects Objects
	// ObjectsOnly keeps segments in Objects alone: the directory holds
	// the records logs (the chains' index) and state files, no segment
	// files.
	ObjectsOnly bool
	// HandOff keeps each chain's last appended segment in memory until
	// the first Segment call for it, which takes it instead of reading
	// the file back (it is still checked against its record): the
	// agent's uploader reads each segment right after it is stored. The
	// caller must not change the bytes it gave Append.
	HandOff bool
}

// ChainRef names one chain: one stream of a camera in one binding epoch.
// Each of a camera's streams is its own chain (SPEC §6.5): its own records,
// sequence numbers, hash links, acknowledgements and checkpoints. The zero
// Stream is the main stream, the one chain every store held before the sub
// stream had its own.
type ChainRef struct {
	Camera keys.Address
	Epoch  uint64
	Stream feedchain.Stream
}

// Main is the main stream's chain of camera in epoch.
func Main(camera keys.Address, epoch uint64) ChainRef { return ChainRef{Camera: camera, Epoch: epoch} }

func (id ChainRef) String() string {
	if id.Stream == feedchain.StreamMain {
		return fmt.Sprintf("camera %s epoch %d", id.Camera.Hex(), id.Epoch)
	}
	return fmt.Sprintf("camera %s epoch %d %s stream", id.Camera.Hex(), id.Epoch, id.Stream)
}

// dirName is the chain's directory relative to the store.
func (id ChainRef) dirName() string { return layout.ChainDir(id.Camera, id.Epoch, id.Stream) }

// Store is a directory of chains. Its methods are safe for concurrent use.
type Store struct {
	dir   string
	opts  Options
	log   *slog.Logger
	lockf *os.File

	mu     sync.Mutex
	chains map[ChainRef]*chainSlot
	closed bool

	pruneMu sync.Mutex   // one retention pass at a time, store-wide
	total   atomic.Int64 // segment bytes of the loaded chains
	// deleted and deletedBytes count what retention deleted since Open.
	deleted, deletedBytes atomic.Int64
}

// chainSlot lets one goroutine load a chain while others wait for it
// without holding Store.mu.
type chainSlot struct {
	done chan struct{}
	c    *Chain
	err  error
}

// Open opens the store in dir, creating it if dir is missing or empty.
// It refuses a directory another process has open, one of another format
// version, and a non-empty directory that is not a store.
func Open(dir string, opts Options) (_ *Store, err error) {
	if opts.MaxBytes < 0 || opts.MaxAge < 0 {
		return nil, fmt.Errorf("store: negative MaxBytes or MaxAge")
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		// A new store: its entry in the parent must survive a power cut
		// as much as anything written inside it.
		if err := os.MkdirAll(dir, dirMode); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		if err := syncDir(filepath.Dir(filepath.Clean(dir))); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	if err := privateDir(dir); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s := &Store{dir: dir, opts: opts, log: log.With("store", dir), chains: map[ChainRef]*chainSlot{}}
	if s.lockf, err = lockDir(dir); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := s.checkFormat(); err != nil {
		return nil, err
	}
	if err := s.removeDiscarded(); err != nil {
		return nil, err
	}
	if opts.Objects != nil {
		if err := s.checkObjectsFormat(); err != nil {
			return nil, err
		}
	} else if opts.ObjectsOnly {
		return nil, fmt.Errorf("store: ObjectsOnly without Objects")
	}
	if opts.MaxBytes > 0 {
		ids, err := s.Chains()
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if _, err := s.LookupStream(id); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

func lockDir(dir string) (*os.File, error) {
	p := filepath.Join(dir, layout.LockName)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := flock(f); err != nil {
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, fmt.Errorf("%w: %s is locked (%s): another process, probably a running camchaind or camchain-agent, has this store open", ErrLocked, dir, p)
		}
		return nil, fmt.Errorf("store: lock %s: %w", p, err)
	}
	return f, nil
}

// checkFormat reads FORMAT, or writes it into a directory that holds
// nothing but the lock.
func (s *Store) checkFormat() error {
	p := filepath.Join(s.dir, layout.FormatName)
	b, err := os.ReadFile(p)
	switch {
	case err == nil && string(b) == layout.FormatLine:
		return nil
	case err == nil && strings.HasPrefix(string(b), layout.FormatPrefix):
		return fmt.Errorf("%w: %s says %q; this build reads %q", ErrFormat, p, strings.TrimSpace(string(b)), strings.TrimSpace(layout.FormatLine))
	case err == nil:
		return fmt.Errorf("%w: %s is not a camchain store FORMAT file", ErrFormat, p)
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("store: %w", err)
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	for _, e := range entries {
		if e.Name() != layout.LockName && !strings.HasPrefix(e.Name(), layout.TmpPrefix+layout.FormatName+"-") {
			return fmt.Errorf("%w: %s has no FORMAT file but is not empty (it holds %s): not a camchain store, refusing to write into it", ErrFormat, s.dir, e.Name())
		}
	}
	if err := atomicfile.Write(p, []byte(layout.FormatLine), fileMode); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// Stored returns the segment bytes the store holds (of the chains opened
// so far; all of them when MaxBytes is set).
func (s *Store) Stored() int64 { return s.total.Load() }

// Chain opens the main stream's chain of camera in epoch, creating it if
// needed (StreamChain with Main(camera, epoch)).
func (s *Store) Chain(camera keys.Address, epoch uint64) (*Chain, error) {
	return s.StreamChain(Main(camera, epoch))
}

// Lookup opens the main stream's existing chain; ErrNotFound if there is
// none (LookupStream with Main(camera, epoch)).
func (s *Store) Lookup(camera keys.Address, epoch uint64) (*Chain, error) {
	return s.LookupStream(Main(camera, epoch))
}

// StreamChain opens the chain id names — a camera's stream in an epoch —
// creating it if needed. Chains are cached: every call for one ID returns
// the same *Chain.
func (s *Store) StreamChain(id ChainRef) (*Chain, error) {
	if err := checkStream(id.Stream); err != nil {
		return nil, err
	}
	return s.get(id, true)
}

// LookupStream opens an existing chain; ErrNotFound if there is none.
// Readers use it so that a request for an unknown camera creates nothing.
func (s *Store) LookupStream(id ChainRef) (*Chain, error) {
	if err := checkStream(id.Stream); err != nil {
		return nil, err
	}
	return s.get(id, false)
}

func checkStream(st feedchain.Stream) error {
	for _, known := range feedchain.Streams() {
		if st == known {
			return nil
		}
	}
	return fmt.Errorf("store: %w: unknown stream %d", ErrNotFound, st)
}

func (s *Store) get(id ChainRef, create bool) (*Chain, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		slot, ok := s.chains[id]
		if ok {
			s.mu.Unlock()
			<-slot.done
			if slot.err != nil && create && errors.Is(slot.err, ErrNotFound) {
				continue // a Lookup found nothing; this call creates it
			}
			return slot.c, slot.err
		}
		slot = &chainSlot{done: make(chan struct{})}
		s.chains[id] = slot
		s.mu.Unlock()

		slot.c, slot.err = openChain(s, id, create)
		if slot.err != nil {
			slot.c = nil
			s.mu.Lock()
			delete(s.chains, id)
			s.mu.Unlock()
		}
		close(slot.done)
		return slot.c, slot.err
	}
}

// loaded returns the chains opened so far, ordered by camera, epoch and
// stream.
func (s *Store) loaded() []*Chain {
	s.mu.Lock()
	slots := make([]*chainSlot, 0, len(s.chains))
	for _, sl := range s.chains {
		slots = append(slots, sl)
	}
	s.mu.Unlock()
	var cs []*Chain
	for _, sl := range slots {
		<-sl.done
		if sl.c != nil {
			cs = append(cs, sl.c)
		}
	}
	slices.SortFunc(cs, func(a, b *Chain) int { return compareID(a.id, b.id) })
	return cs
}

func compareID(a, b ChainRef) int {
	if c := strings.Compare(string(a.Camera[:]), string(b.Camera[:])); c != 0 {
		return c
	}
	switch {
	case a.Epoch < b.Epoch:
		return -1
	case a.Epoch > b.Epoch:
		return 1
	case a.Stream < b.Stream:
		return -1
	case a.Stream > b.Stream:
		return 1
	}
	return 0
}

// Deleted is what retention deleted since Open: segment files and their
// bytes.
func (s *Store) Deleted() (segments, bytes int64) { return s.deleted.Load(), s.deletedBytes.Load() }

// Chains lists the chains in the store (every stream's), ordered by
// camera, epoch and stream.
func (s *Store) Chains() ([]ChainRef, error) {
	cams, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var ids []ChainRef
	for _, ce := range cams {
		name := ce.Name()
		cam, ok := layout.ParseCameraDir(name)
		if !ce.IsDir() || !ok {
			continue
		}
		epochs, err := os.ReadDir(filepath.Join(s.dir, name))
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		for _, ee := range epochs {
			epoch, stream, ok := layout.ParseEpochDir(ee.Name())
			if !ok || !ee.IsDir() {
				continue
			}
			if _, err := os.Stat(filepath.Join(s.dir, name, ee.Name(), layout.LogName)); err != nil {
				continue
			}
			ids = append(ids, ChainRef{Camera: cam, Epoch: epoch, Stream: stream})
		}
	}
	slices.SortFunc(ids, compareID)
	return ids, nil
}

// Close closes every chain and releases the directory lock. Chains
// obtained from the store fail with ErrClosed afterwards.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	var errs []error
	for _, c := range s.loaded() {
		errs = append(errs, c.close())
	}
	if s.lockf != nil {
		errs = append(errs, s.lockf.Close()) // closing releases the flock
	}
	return errors.Join(errs...)
}

// syncDir fsyncs a directory so that entries created in it persist.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// discardPrefix starts the name a discarded chain's directory is renamed
// to before it is removed (within its camera's directory; Chains skips
// it, Open removes what a crash left).
const discardPrefix = layout.TmpPrefix + "discard-"

// Discard deletes the chain id names, records and segments, as if it had
// never been: for a chain no one else has seen (the camera's own, recorded
// before its imprint, which pairing with end-to-end encryption on drops
// rather than send in the clear, SPEC §17.4). The *Chain it returned
// before is closed; the next StreamChain starts the chain afresh at #0. The
// directory is renamed away in one step (a crash leaves the whole chain or
// none of it) and then removed.
func (s *Store) Discard(id ChainRef) error {
	if err := checkStream(id.Stream); err != nil {
		return err
	}
	s.pruneMu.Lock() // no retention pass is holding the chain
	defer s.pruneMu.Unlock()
	s.mu.Lock()
	slot := s.chains[id]
	delete(s.chains, id)
	s.mu.Unlock()
	if slot != nil {
		<-slot.done
		if c := slot.c; c != nil {
			c.close()
			s.total.Add(-c.Stored())
		}
	}
	dir := filepath.Join(s.dir, id.dirName())
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	trash := filepath.Join(filepath.Dir(dir), fmt.Sprintf("%s%s-%d", discardPrefix, filepath.Base(dir), time.Now().UnixNano()))
	if err := os.Rename(dir, trash); err != nil {
		return fmt.Errorf("store: discard %s: %w", id, err)
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		return fmt.Errorf("store: discard %s: %w", id, err)
	}
	return os.RemoveAll(trash)
}

// removeDiscarded removes what a crash inside Discard left.
func (s *Store) removeDiscarded() error {
	cams, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	for _, ce := range cams {
		if _, ok := layout.ParseCameraDir(ce.Name()); !ok || !ce.IsDir() {
			continue
		}
		es, err := os.ReadDir(filepath.Join(s.dir, ce.Name()))
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		for _, e := range es {
			if strings.HasPrefix(e.Name(), discardPrefix) {
				if err := os.RemoveAll(filepath.Join(s.dir, ce.Name(), e.Name())); err != nil {
					return fmt.Errorf("store: %w", err)
				}
			}
		}
	}
	return nil
}
