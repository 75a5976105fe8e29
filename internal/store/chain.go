package store

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/store/layout"
)

// meta is what a Chain keeps in memory per record: enough to list, to
// link, to find a time range, and to find the record in the log again
// (80 bytes). The metas are the chain's index: built from the log when the
// chain is opened (the log is the crash-safe truth, so there is nothing
// else to repair) and extended by Append, so no query reads the disk to
// find its records.
type meta struct {
	hash    feedchain.Hash
	off     int64 // of the entry's length prefix in records.log
	start   int64 // Unix nanoseconds
	endMax  int64 // the latest end (start+dur) of this record and every one before it: nondecreasing, so time ranges are found by binary search
	dur     time.Duration
	size    uint64
	stream  feedchain.Stream
	clock   feedchain.ClockSource
	missing bool // file absent at or above the pruned mark: lost
}

func metaOf(r *feedchain.Record, hash feedchain.Hash, off int64) meta {
	return meta{hash: hash, off: off, start: r.Start, dur: r.Duration, size: r.Size, stream: r.Stream, clock: r.Clock}
}

// end is when the record's segment ends, in Unix nanoseconds.
func (m *meta) end() int64 { return m.start + int64(m.dur) }

// SegmentInfo describes one record and its segment file.
type SegmentInfo struct {
	Seq      uint64
	Start    time.Time
	Duration time.Duration
	Size     uint64
	Hash     feedchain.Hash // the record's hash (Record.Hash), not the segment's SHA-256
	// Stream and Clock are the record's (SPEC §6.1): the stream it is of
	// (in a main chain written before each stream had its own chain, sub
	// records may be interleaved) and where its start time comes from.
	Stream  feedchain.Stream
	Clock   feedchain.ClockSource
	Pruned  bool // retention deleted the file
	Missing bool // the file is gone though retention did not delete it
}

// Chain is one camera's chain in one epoch: its records and segments.
// Append, Prune and SetAcked may be called from different goroutines;
// readers may run concurrently with all of them.
type Chain struct {
	s   *Store
	id  ChainRef
	dir string
	log *slog.Logger

	wmu   sync.Mutex // serializes Append
	ackMu sync.Mutex // serializes SetAcked

	mu         sync.RWMutex // guards everything below
	f          *os.File     // records.log, O_APPEND
	metas      []meta       // metas[seq]
	logSize    int64
	bytes      int64  // segment bytes on disk
	pruneBelow uint64 // retention deleted the segments of every seq below
	acked      feedchain.Head
	broken     error // set when a failed append could not be rolled back
	closed     bool
	// handOff: with Options.HandOff, the last segment appended, until a
	// Segment call takes it.
	handOff struct {
		seq  uint64
		data []byte
	}
}

func (c *Chain) logPath() string { return filepath.Join(c.dir, layout.LogName) }
func (c *Chain) segDir() string  { return filepath.Join(c.dir, layout.SegDirName) }
func (c *Chain) segPath(seq uint64) string {
	return filepath.Join(c.dir, layout.SegDirName, layout.SegName(seq))
}
func (c *Chain) statePath(name string) string { return filepath.Join(c.dir, name) }

// openChain loads a chain from disk, creating it if create is set.
func openChain(s *Store, id ChainRef, create bool) (*Chain, error) {
	c := &Chain{s: s, id: id, dir: filepath.Join(s.dir, id.dirName()),
		log: s.log.With("camera", id.Camera.Hex(), "epoch", id.Epoch, "stream", id.Stream.String())}
	if _, err := os.Stat(c.logPath()); errors.Is(err, fs.ErrNotExist) {
		if !create {
			return nil, fmt.Errorf("%w: no chain for %s", ErrNotFound, id)
		}
		if err := c.create(); err != nil {
			return nil, fmt.Errorf("store: create chain for %s: %w", id, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	f, err := os.OpenFile(c.logPath(), os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	c.f = f
	if err := c.load(); err != nil {
		f.Close()
		return nil, err
	}
	s.total.Add(c.bytes)
	return c, nil
}

// create makes the chain's directories and an empty log, durably.
func (c *Chain) create() error {
	if err := os.MkdirAll(c.segDir(), dirMode); err != nil {
		return err
	}
	camDir := filepath.Dir(c.dir)
	for _, d := range []string{c.s.dir, camDir, c.dir} {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return atomicfile.Write(c.logPath(), layout.LogHeader(), fileMode)
}

// load reads the log (dropping a torn tail), the state files and the
// segment directory.
func (c *Chain) load() error {
	fi, err := c.f.Stat()
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	scan, err := scanLog(c.f, fi.Size(), c.id)
	if err != nil {
		return fmt.Errorf("store: %s: %w", c.logPath(), err)
	}
	c.metas = scan.metas
	for i := range c.metas {
		c.metas[i].endMax = c.metas[i].end()
		if i > 0 {
			c.metas[i].endMax = max(c.metas[i].endMax, c.metas[i-1].endMax)
		}
	}
	c.logSize = scan.end
	if scan.bad != "" {
		trailing := fi.Size() - scan.end
		if trailing > layout.MaxEntrySize {
			return &CorruptError{Path: c.logPath(), Offset: scan.end, Reason: fmt.Sprintf(
				"%s, %d bytes before the end of the file: more than one entry, so not a torn tail from a crash; refusing to truncate (move the file aside to investigate)",
				scan.bad, trailing)}
		}
		if err := c.f.Truncate(scan.end); err != nil {
			return fmt.Errorf("store: drop torn tail of %s: %w", c.logPath(), err)
		}
		if err := c.f.Sync(); err != nil {
			return fmt.Errorf("store: drop torn tail of %s: %w", c.logPath(), err)
		}
		c.log.Warn("records log: dropped a torn tail left by a crash",
			"path", c.logPath(), "offset", scan.end, "bytes", trailing, "reason", scan.bad, "head", c.headLocked().String())
	}
	if err := c.loadState(); err != nil {
		return err
	}
	if err := removeTemps(c.dir); err != nil {
		return err
	}
	return c.scanSegments()
}

// removeTemps deletes what atomicfile.Write left in dir when a crash
// stopped it before the rename.
func removeTemps(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), layout.TmpPrefix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("store: %w", err)
			}
		}
	}
	return nil
}

// loadState reads acked and pruned and checks them against the log.
func (c *Chain) loadState() error {
	head := c.headLocked()
	if b, err := os.ReadFile(c.statePath(layout.AckedName)); err == nil {
		h, err := layout.DecodeAcked(b)
		if err != nil {
			return &CorruptError{Path: c.statePath(layout.AckedName), Offset: -1, Reason: err.Error()}
		}
		if h.Seq >= uint64(len(c.metas)) || c.metas[h.Seq].hash != h.Hash {
			return &CorruptError{Path: c.statePath(layout.AckedName), Offset: -1, Reason: fmt.Sprintf(
				"acknowledged %s is not in the chain (head %s)", h, head)}
		}
		c.acked = h
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: %w", err)
	}
	if b, err := os.ReadFile(c.statePath(layout.PrunedName)); err == nil {
		n, err := layout.DecodePruned(b)
		if err != nil {
			return &CorruptError{Path: c.statePath(layout.PrunedName), Offset: -1, Reason: err.Error()}
		}
		if n > uint64(len(c.metas)) {
			return &CorruptError{Path: c.statePath(layout.PrunedName), Offset: -1, Reason: fmt.Sprintf(
				"says segments below %d were pruned, but the chain has %d records", n, len(c.metas))}
		}
		c.pruneBelow = n
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// scanSegments marks missing files, deletes what a crash left behind
// (segments beyond the head, segments below the pruned mark, temporary
// files) and counts the stored bytes.
func (c *Chain) scanSegments() error {
	if !c.s.onDisk() {
		return c.scanObjectSegments()
	}
	if err := os.MkdirAll(c.segDir(), dirMode); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	d, err := os.Open(c.segDir())
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	n := uint64(len(c.metas))
	present := make([]bool, n)
	var removed []string
	for _, e := range entries {
		name := e.Name()
		seq, ok := layout.ParseSegName(name)
		switch {
		case ok && seq < n && seq >= c.pruneBelow:
			present[seq] = true
			continue
		case ok, strings.HasPrefix(name, layout.TmpPrefix):
			// Beyond the head: written before a crash stopped its record.
			// Below the mark: a prune was interrupted. Temp: a torn write.
		default:
			c.log.Warn("segment directory holds an unknown file; leaving it", "path", filepath.Join(c.segDir(), name))
			continue
		}
		if err := os.Remove(filepath.Join(c.segDir(), name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("store: %w", err)
		}
		removed = append(removed, name)
	}
	if len(removed) > 0 {
		c.log.Info("removed segment files left by a crash (no record, pruned, or temporary)", "files", removed)
	}
	c.findInObjects(present)
	c.markMissing(present)
	return nil
}

// ID returns the chain's camera, epoch and stream.
func (c *Chain) ID() ChainRef { return c.id }

// Head returns the last record's seq and hash; the zero Head when empty.
func (c *Chain) Head() feedchain.Head {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.headLocked()
}

func (c *Chain) headLocked() feedchain.Head {
	if len(c.metas) == 0 {
		return feedchain.Head{}
	}
	n := len(c.metas) - 1
	return feedchain.Head{Valid: true, Seq: uint64(n), Hash: c.metas[n].hash}
}

// Len returns the number of records (the next seq).
func (c *Chain) Len() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return uint64(len(c.metas))
}

// Stored returns the chain's segment bytes on disk.
func (c *Chain) Stored() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.bytes
}

// HashAt returns the hash of record seq.
func (c *Chain) HashAt(seq uint64) (feedchain.Hash, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if seq >= uint64(len(c.metas)) {
		return feedchain.Hash{}, false
	}
	return c.metas[seq].hash, true
}

// Info describes record seq and its segment.
func (c *Chain) Info(seq uint64) (SegmentInfo, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if seq >= uint64(len(c.metas)) {
		return SegmentInfo{}, false
	}
	return c.infoLocked(seq), true
}

func (c *Chain) infoLocked(seq uint64) SegmentInfo {
	m := &c.metas[seq]
	return SegmentInfo{Seq: seq, Start: time.Unix(0, m.start).UTC(), Duration: m.dur, Size: m.size,
		Hash: m.hash, Stream: m.stream, Clock: m.clock, Pruned: seq < c.pruneBelow, Missing: m.missing && seq >= c.pruneBelow}
}

// Range calls fn for the records with from <= seq < to (to is capped at
// Len) in order, until fn returns false. fn runs without the chain's lock
// held, so it may call the chain's methods.
func (c *Chain) Range(from, to uint64, fn func(SegmentInfo) bool) {
	const batch = 1024
	buf := make([]SegmentInfo, 0, batch)
	for from < to {
		buf = buf[:0]
		c.mu.RLock()
		end := min(to, uint64(len(c.metas)), from+batch)
		for seq := from; seq < end; seq++ {
			buf = append(buf, c.infoLocked(seq))
		}
		c.mu.RUnlock()
		if len(buf) == 0 {
			return
		}
		for _, si := range buf {
			if !fn(si) {
				return
			}
		}
		from = end
	}
}

// Record reads record seq back from the log.
func (c *Chain) Record(seq uint64) (*feedchain.Record, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return nil, ErrClosed
	}
	if seq >= uint64(len(c.metas)) {
		return nil, fmt.Errorf("%w: %s has no record %d (head %s)", ErrNotFound, c.id, seq, c.headLocked())
	}
	m := c.metas[seq]
	end := c.logSize
	if seq+1 < uint64(len(c.metas)) {
		end = c.metas[seq+1].off
	}
	buf := make([]byte, end-m.off)
	if _, err := c.f.ReadAt(buf, m.off); err != nil {
		return nil, fmt.Errorf("store: read record %d of %s: %w", seq, c.id, err)
	}
	bad := func(why string) error {
		return &CorruptError{Path: c.logPath(), Offset: m.off, Reason: fmt.Sprintf("record %d %s since the log was opened", seq, why)}
	}
	rec, err := layout.DecodeEntry(buf)
	if err != nil {
		return nil, bad(fmt.Sprintf("changed (%v)", err))
	}
	r, err := feedchain.Parse(rec)
	if err != nil || r.Hash() != m.hash {
		return nil, bad("changed")
	}
	return r, nil
}

// Segment returns the bytes of segment seq, checked against its record.
// ErrPruned if retention deleted it, ErrNotFound if there is no record.
func (c *Chain) Segment(seq uint64) ([]byte, error) {
	c.mu.RLock()
	switch {
	case c.closed:
		c.mu.RUnlock()
		return nil, ErrClosed
	case seq >= uint64(len(c.metas)):
		head := c.headLocked()
		c.mu.RUnlock()
		return nil, fmt.Errorf("%w: %s has no record %d (head %s)", ErrNotFound, c.id, seq, head)
	case seq < c.pruneBelow:
		c.mu.RUnlock()
		return nil, fmt.Errorf("%w: %s segment %d", ErrPruned, c.id, seq)
	case c.metas[seq].missing:
		c.mu.RUnlock()
		return nil, fmt.Errorf("%w: %s segment %d", ErrMissing, c.id, seq)
	}
	c.mu.RUnlock()

	r, err := c.Record(seq)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	data := c.handOff.data
	if data != nil && c.handOff.seq == seq {
		c.handOff.data = nil
	} else {
		data = nil
	}
	c.mu.Unlock()
	if data != nil {
		if err := feedchain.VerifySegment(r, data); err == nil {
			return data, nil
		}
		// Changed since Append (a caller's bug): what the card holds
		// decides, below.
	}
	data, err = c.readSegment(seq)
	if errors.Is(err, fs.ErrNotExist) {
		c.mu.RLock()
		pruned := seq < c.pruneBelow
		c.mu.RUnlock()
		if pruned {
			return nil, fmt.Errorf("%w: %s segment %d", ErrPruned, c.id, seq)
		}
		return nil, fmt.Errorf("%w: %s segment %d", ErrMissing, c.id, seq)
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := feedchain.VerifySegment(r, data); err != nil {
		return nil, &segmentDamage{CorruptError{Path: c.segWhere(seq), Offset: -1, Reason: err.Error()}, data}
	}
	return data, nil
}

// segmentDamage is the CorruptError of a segment whose bytes do not match
// its record, with those bytes (for SegmentAsStored).
type segmentDamage struct {
	CorruptError
	data []byte
}

func (e *segmentDamage) Unwrap() error { return &e.CorruptError }

// SegmentAsStored returns the bytes of segment seq as they are on disk
// (at most feedchain.MaxSegmentBytes of them) and, in damage, why they do
// not match the record (nil when they do). Playback forwards them as they
// are, so that the viewer's own check names the damage instead of the
// segment vanishing. Otherwise its errors are Segment's.
func (c *Chain) SegmentAsStored(seq uint64) (data []byte, damage, err error) {
	data, err = c.Segment(seq)
	var sd *segmentDamage
	if !errors.As(err, &sd) {
		return data, nil, err
	}
	data = sd.data
	if len(data) > feedchain.MaxSegmentBytes {
		data = data[:feedchain.MaxSegmentBytes]
	}
	return data, &sd.CorruptError, nil
}

// Append stores segment data and its record r, which must be signed by
// the chain's camera, follow the head, and describe data; the errors of
// feedchain.Verify, VerifyNext and VerifySegment come back wrapped, and
// nothing is stored. When Append returns nil both are durable.
func (c *Chain) Append(r *feedchain.Record, data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.appendLocked(r, data, feedchain.SegmentHash(data))
}

// AppendNew stores data as the chain's next segment under the record that
// sign makes for it. The segment's SHA-256 is computed here, once, and
// handed to sign, which builds and signs the record around it; the record
// then has every check Append makes, its segment hash compared with the
// one computed here — so a recorder hashes each segment once, not once
// for its record and again for Append, and the record still describes
// exactly the bytes stored. head is the chain's head sign builds on (no
// append can come between). It returns the stored record; when sign fails
// nothing is stored and its error comes back as it is.
func (c *Chain) AppendNew(data []byte, sign func(seg feedchain.Hash, head feedchain.Head) (*feedchain.Record, error)) (*feedchain.Record, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.RLock()
	head := c.headLocked()
	c.mu.RUnlock()
	seg := feedchain.SegmentHash(data)
	r, err := sign(seg, head)
	if err != nil {
		return nil, err
	}
	if err := c.appendLocked(r, data, seg); err != nil {
		return nil, err
	}
	return r, nil
}

// appendLocked is Append with c.wmu held and seg the SHA-256 of data.
func (c *Chain) appendLocked(r *feedchain.Record, data []byte, seg feedchain.Hash) error {
	c.mu.RLock()
	closed, broken, head, off := c.closed, c.broken, c.headLocked(), c.logSize
	c.mu.RUnlock()
	switch {
	case closed:
		return ErrClosed
	case broken != nil:
		return fmt.Errorf("store: %s cannot take appends: %w", c.id, broken)
	}
	if err := feedchain.Verify(r); err != nil {
		return fmt.Errorf("store: append to %s: %w", c.id, err)
	}
	if err := feedchain.VerifyNext(c.id.Camera, c.id.Epoch, head, r); err != nil {
		return fmt.Errorf("store: append to %s: %w", c.id, err)
	}
	if err := feedchain.VerifyStream(c.id.Stream, r); err != nil {
		return fmt.Errorf("store: append to %s: %w", c.id, err)
	}
	if err := feedchain.VerifySegmentHash(r, len(data), seg); err != nil {
		return fmt.Errorf("store: append to %s: %w", c.id, err)
	}
	hash := r.Hash()

	// The segment first: a record in the log always has its file. With an
	// object store, the segment and then the record go there before the
	// log: a record in the log is always in the bucket too.
	path := c.segPath(r.Seq)
	if c.s.onDisk() {
		if err := atomicfile.Write(path, data, fileMode); err != nil {
			return fmt.Errorf("store: append to %s: write segment %d: %w", c.id, r.Seq, err)
		}
	}
	entry := objectRecordEntry(r)
	if err := c.putObjects(r.Seq, data, entry); err != nil {
		c.removeLocal(path)
		return fmt.Errorf("store: append to %s: %w", c.id, err)
	}
	_, err := c.f.Write(entry)
	if err == nil {
		err = c.f.Sync()
	}
	if err != nil {
		c.rollback(off, path, err)
		return fmt.Errorf("store: append to %s: write record %d: %w", c.id, r.Seq, err)
	}

	m := metaOf(r, hash, off)
	c.mu.Lock()
	m.endMax = m.end()
	if k := len(c.metas); k > 0 {
		m.endMax = max(m.endMax, c.metas[k-1].endMax)
	}
	c.metas = append(c.metas, m)
	c.logSize = off + int64(len(entry))
	c.bytes += int64(r.Size)
	if c.s.opts.HandOff {
		c.handOff.seq, c.handOff.data = r.Seq, data
	}
	c.mu.Unlock()
	c.s.total.Add(int64(r.Size))
	return nil
}

// rollback undoes a failed log append so that the next one starts at a
// clean entry boundary; if it cannot, the chain takes no more appends (Open
// will drop the torn entry).
func (c *Chain) rollback(off int64, seg string, cause error) {
	err := c.f.Truncate(off)
	if err == nil {
		err = c.f.Sync()
	}
	if err != nil {
		c.mu.Lock()
		c.broken = fmt.Errorf("a failed record append (%v) could not be rolled back: %v; reopen the store", cause, err)
		c.mu.Unlock()
		c.log.Error("records log: could not roll back a failed append; refusing further appends", "path", c.logPath(), "err", err, "cause", cause)
	}
	c.removeLocal(seg)
}

// removeLocal deletes the segment file of a failed append.
func (c *Chain) removeLocal(seg string) {
	if !c.s.onDisk() {
		return
	}
	if err := os.Remove(seg); err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.log.Warn("could not remove the segment of a failed append", "path", seg, "err", err)
	}
}

func (c *Chain) close() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	return c.f.Close()
}
