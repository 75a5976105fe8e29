package auth

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
)

// The login log (docs/SPEC.md §11.7): every login-chain record and every
// refusal whose signature verified is appended to the hub's log and
// fsynced before the login answers; every interval the hub closes the
// current batch and commits its Merkle root on the ledger in one
// LoginBatch transaction. A login waits for its fsync (shared with the
// logins around it: one fsync covers every append before it), never for
// its batch.
//
// One file per batch, <dir>/<seq as 16 hex digits>.log:
//
//	"camchain-login-log 1 <seq> <start>\n"
//	frames: tag u8 ‖ u16be(len) ‖ payload ‖ u32be(CRC-32C of the three before)
//	  tag 1: an entry (a record of §11.4 or a refusal record)
//	  tag 2: close: u64be(end) ‖ u64be(unverified) — the batch is complete
//
// A batch's file is closed (its close frame fsynced) before the next
// batch's file is created, so only the newest file can end in a torn frame
// (a crash during an append, before its fsync returned, so before the
// login it belongs to answered); it is cut off on open. Any other damage
// stops the hub from starting: this is a security log.

const (
	loginLogHeader = "camchain-login-log 1"
	tagEntry       = 1
	tagClose       = 2
	// DefaultMaxBatch caps the entries of one batch (the ledger's
	// MaxLoginBatchSize); past it, an interval's entries are counted only.
	DefaultMaxBatch = 1 << 20
	// DefaultMaxRefusals caps the refusal records of one batch: a flood of
	// signed junk from fresh keys (each refusal needs only a nonce and a
	// key anyone can make) is recorded up to this many per interval and
	// counted beyond, so it cannot grow the hub's log and memory faster
	// than this; logins are recorded up to DefaultMaxBatch.
	DefaultMaxRefusals = 1 << 14
)

// ErrNotBatched: the entry is in the open batch, whose root is not yet
// committed; it will be at the end of the interval.
var ErrNotBatched = errors.New("login record is in the current interval; its batch is not closed yet")

// ErrNoEntry: the log has no entry with that hash.
var ErrNoEntry = errors.New("no such login record")

var (
	castagnoli      = crc32.MakeTable(crc32.Castagnoli)
	loginLogFile    = regexp.MustCompile(`^[0-9a-f]{16}\.log$`)
	maxFramePayload = max(RecordSize, RefusalSize, 16)
)

// Batch is a closed batch: what its LoginBatch transaction commits.
type Batch struct {
	Seq        uint64
	Start, End uint64 // Unix seconds: the interval [Start, End)
	Size       uint64
	Root       feedchain.Hash
	Unverified uint64 // refusals counted, not recorded
}

type entryPos struct {
	off int64 // of the payload in the batch's file
	n   uint16
}

type batch struct {
	seq        uint64
	start, end uint64 // end is 0 while open
	unverified uint64
	refusals   int // refusal records among the entries
	hashes     []feedchain.Hash
	pos        []entryPos
	root       feedchain.Hash // once closed
}

func (b *batch) closed() bool { return b.end != 0 }

type entryLoc struct {
	seq   uint64
	index uint32
}

// LoginLog is the hub's log of login records. Safe for concurrent use.
type LoginLog struct {
	dir         string
	maxBatch    int
	maxRefusals int

	syncMu sync.Mutex // held by the fsync; taken before mu
	synced uint64     // appends covered by an fsync

	mu      sync.Mutex
	f       *os.File // the open batch's file
	size    int64
	writes  uint64   // appends so far
	base    uint64   // the seq of batches[0]: those before were pruned
	batches []*batch // by seq, from base; the last is open
	index   map[signin.Head]entryLoc
	// tree caches the tree of the batch last proven from.
	treeSeq uint64
	tree    *checkpoint.Tree
}

func (l *LoginLog) path(seq uint64) string {
	return filepath.Join(l.dir, fmt.Sprintf("%016x.log", seq))
}

// OpenLoginLog opens (or creates) the log in dir. now (Unix seconds)
// starts the first batch of a new log.
func OpenLoginLog(dir string, now uint64) (*LoginLog, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("login log: %w", err)
	}
	l := &LoginLog{dir: dir, maxBatch: DefaultMaxBatch, maxRefusals: DefaultMaxRefusals, index: map[signin.Head]entryLoc{}}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("login log: %w", err)
	}
	var names []string
	for _, e := range ents {
		if loginLogFile.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	var good int64
	for i, name := range names {
		seq, _ := strconv.ParseUint(strings.TrimSuffix(name, ".log"), 16, 64)
		if i == 0 {
			l.base = seq // the batches before it were pruned (Prune)
		}
		if want := l.base + uint64(i); seq != want {
			return nil, fmt.Errorf("login log %s: batch %d missing", dir, want)
		}
		b, n, err := l.load(seq)
		if err != nil {
			return nil, err
		}
		last := i == len(names)-1
		if !last && !b.closed() {
			return nil, fmt.Errorf("login log %s: batch %d is not closed but batch %d exists (damaged?)", dir, seq, seq+1)
		}
		l.batches = append(l.batches, b)
		good = n
	}
	switch {
	case len(l.batches) == 0:
		err = l.create(0, now)
	case l.batches[len(l.batches)-1].closed():
		last := l.batches[len(l.batches)-1]
		err = l.create(last.seq+1, last.end)
	default:
		err = l.reopen(good)
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

// load reads one batch file. It returns the batch and how many bytes of
// the file are whole frames.
func (l *LoginLog) load(seq uint64) (*batch, int64, error) {
	p := l.path(seq)
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, 0, fmt.Errorf("login log: %w", err)
	}
	nl := bytes.IndexByte(data, '\n')
	var hseq, start uint64
	if nl < 0 || func() bool {
		f := strings.Fields(string(data[:nl]))
		if len(f) != 4 || f[0]+" "+f[1] != loginLogHeader {
			return true
		}
		var e1, e2 error
		hseq, e1 = strconv.ParseUint(f[2], 10, 64)
		start, e2 = strconv.ParseUint(f[3], 10, 64)
		return e1 != nil || e2 != nil || hseq != seq
	}() {
		return nil, 0, fmt.Errorf("login log %s: not a version 1 login log of batch %d", p, seq)
	}
	b := &batch{seq: seq, start: start}
	off := nl + 1
	for off < len(data) && !b.closed() {
		tag, payload, n, ok := readFrame(data[off:])
		if !ok {
			break // torn: only the newest file may be, which the caller checks
		}
		switch {
		case tag == tagEntry:
			e, err := DecodeEntry(payload)
			if err != nil {
				return nil, 0, fmt.Errorf("login log %s at %d: %w", p, off, err)
			}
			l.add(b, e.Hash(), entryPos{off: int64(off + 3), n: uint16(len(payload))})
			if e.Refusal != nil {
				b.refusals++
			}
		case tag == tagClose && len(payload) == 16:
			b.end = binary.BigEndian.Uint64(payload)
			b.unverified = binary.BigEndian.Uint64(payload[8:])
			if b.end <= b.start {
				return nil, 0, fmt.Errorf("login log %s: batch ends at %d, not after its start %d", p, b.end, b.start)
			}
			b.root = checkpoint.Root(b.hashes)
		default:
			return nil, 0, fmt.Errorf("login log %s at %d: unknown frame %d", p, off, tag)
		}
		off += n
	}
	if b.closed() && off != len(data) {
		return nil, 0, fmt.Errorf("login log %s: %d bytes after the close frame", p, len(data)-off)
	}
	return b, int64(off), nil
}

// readFrame parses one frame at the start of b.
func readFrame(b []byte) (tag byte, payload []byte, n int, ok bool) {
	if len(b) < 3 {
		return 0, nil, 0, false
	}
	ln := int(binary.BigEndian.Uint16(b[1:3]))
	if ln > maxFramePayload || len(b) < 3+ln+4 {
		return 0, nil, 0, false
	}
	if crc32.Checksum(b[:3+ln], castagnoli) != binary.BigEndian.Uint32(b[3+ln:]) {
		return 0, nil, 0, false
	}
	return b[0], b[3 : 3+ln], 3 + ln + 4, true
}

func frame(tag byte, payload []byte) []byte {
	out := make([]byte, 0, 3+len(payload)+4)
	out = append(out, tag)
	out = binary.BigEndian.AppendUint16(out, uint16(len(payload)))
	out = append(out, payload...)
	return binary.BigEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
}

func (l *LoginLog) add(b *batch, h signin.Head, pos entryPos) {
	l.index[h] = entryLoc{seq: b.seq, index: uint32(len(b.hashes))}
	b.hashes = append(b.hashes, feedchain.Hash(h))
	b.pos = append(b.pos, pos)
}

// create starts batch seq's file (written whole and synced, then opened
// for appending) and makes it the open batch.
func (l *LoginLog) create(seq, start uint64) error {
	head := fmt.Appendf(nil, "%s %d %d\n", loginLogHeader, seq, start)
	if err := atomicfile.Create(l.path(seq), head, 0o600); err != nil {
		return fmt.Errorf("login log: %w", err)
	}
	f, err := os.OpenFile(l.path(seq), os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("login log: %w", err)
	}
	if l.f != nil {
		l.f.Close()
	}
	l.f, l.size = f, int64(len(head))
	l.batches = append(l.batches, &batch{seq: seq, start: start})
	return nil
}

// reopen continues the newest, open batch after its last whole frame,
// cutting off a torn one.
func (l *LoginLog) reopen(good int64) error {
	b := l.batches[len(l.batches)-1]
	f, err := os.OpenFile(l.path(b.seq), os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("login log: %w", err)
	}
	if err := f.Truncate(good); err == nil {
		err = f.Sync()
	}
	if err == nil {
		_, err = f.Seek(good, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("login log: %w", err)
	}
	l.f, l.size = f, good
	return nil
}

// Append logs e and returns once it is on disk. Past the batch's cap the
// entry is only counted.
func (l *LoginLog) Append(e *Entry) error {
	payload, h := e.Encode(), e.Hash()
	l.mu.Lock()
	if l.f == nil {
		l.mu.Unlock()
		return errors.New("login log: shut down")
	}
	cur := l.batches[len(l.batches)-1]
	if len(cur.hashes) >= l.maxBatch || e.Refusal != nil && cur.refusals >= l.maxRefusals {
		cur.unverified++
		l.mu.Unlock()
		return nil
	}
	fr := frame(tagEntry, payload)
	if _, err := l.f.Write(fr); err != nil {
		// Cut what part of the frame reached the file, so the next append
		// starts on a frame boundary.
		l.f.Truncate(l.size)
		l.mu.Unlock()
		return fmt.Errorf("login log: %w", err)
	}
	l.add(cur, h, entryPos{off: l.size + 3, n: uint16(len(payload))})
	if e.Refusal != nil {
		cur.refusals++
	}
	l.size += int64(len(fr))
	l.writes++
	mine := l.writes
	l.mu.Unlock()
	return l.sync(mine)
}

// sync returns once append number n is fsynced: the first caller in syncs
// every append written so far, for all who wait behind it.
func (l *LoginLog) sync(n uint64) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	if l.synced >= n {
		return nil
	}
	l.mu.Lock()
	upto, f := l.writes, l.f
	l.mu.Unlock()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("login log: %w", err)
	}
	l.synced = upto
	return nil
}

// Count counts a refusal that is not recorded (its signature did not
// verify) in the open batch.
func (l *LoginLog) Count() {
	l.mu.Lock()
	l.batches[len(l.batches)-1].unverified++
	l.mu.Unlock()
}

// Close closes the open batch at now (Unix seconds) if it holds anything,
// and starts the next one: the interval's end. It returns the closed batch,
// or nil when the interval had nothing (the open batch then goes on, and
// its interval with it).
func (l *LoginLog) Close(now uint64) (*Batch, error) {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := l.batches[len(l.batches)-1]
	if len(cur.hashes) == 0 && cur.unverified == 0 {
		return nil, nil
	}
	if l.f == nil {
		return nil, errors.New("login log: shut down")
	}
	end := max(now, cur.start+1)
	payload := binary.BigEndian.AppendUint64(nil, end)
	payload = binary.BigEndian.AppendUint64(payload, cur.unverified)
	fr := frame(tagClose, payload)
	if _, err := l.f.Write(fr); err != nil {
		l.f.Truncate(l.size)
		return nil, fmt.Errorf("login log: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return nil, fmt.Errorf("login log: %w", err)
	}
	l.size += int64(len(fr))
	l.synced = l.writes
	cur.end, cur.root = end, checkpoint.Root(cur.hashes)
	if err := l.create(cur.seq+1, end); err != nil {
		return nil, err
	}
	return cur.info(), nil
}

func (b *batch) info() *Batch {
	return &Batch{Seq: b.seq, Start: b.start, End: b.end, Size: uint64(len(b.hashes)), Root: b.root, Unverified: b.unverified}
}

// Closed returns the closed batches from seq from on, oldest first: those
// not yet on the ledger when from is the ledger's next batch number.
func (l *LoginLog) Closed(from uint64) []*Batch {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*Batch
	from = max(from, l.base) - l.base
	for _, b := range l.batches[min(from, uint64(len(l.batches))):] {
		if b.closed() {
			out = append(out, b.info())
		}
	}
	return out
}

// Proof is an entry with its inclusion proof in its batch.
type Proof struct {
	Entry *Entry
	Raw   []byte // the entry's bytes, as hashed
	Batch Batch
	Index uint64
	Path  []feedchain.Hash
}

// Prove returns the entry with hash h and its inclusion proof in its
// (closed) batch. An entry of the open batch is ErrNotBatched, with the
// entry.
func (l *LoginLog) Prove(h signin.Head) (*Proof, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	loc, ok := l.index[h]
	if !ok {
		return nil, ErrNoEntry
	}
	b := l.batches[loc.seq-l.base]
	pos := b.pos[loc.index]
	raw := make([]byte, pos.n)
	f, err := os.Open(l.path(b.seq))
	if err != nil {
		return nil, fmt.Errorf("login log: %w", err)
	}
	defer f.Close()
	if _, err := f.ReadAt(raw, pos.off); err != nil {
		return nil, fmt.Errorf("login log: %w", err)
	}
	e, err := DecodeEntry(raw)
	if err != nil || e.Hash() != h {
		return nil, fmt.Errorf("login log: entry %d of batch %d does not read back (damaged?)", loc.index, b.seq)
	}
	p := &Proof{Entry: e, Raw: raw, Index: uint64(loc.index)}
	if !b.closed() {
		return p, ErrNotBatched
	}
	p.Batch = *b.info()
	if l.tree == nil || l.treeSeq != b.seq {
		t := checkpoint.NewTree()
		for _, x := range b.hashes {
			t.Append(x)
		}
		l.tree, l.treeSeq = t, b.seq
	}
	if p.Path, err = l.tree.InclusionProof(p.Index, p.Batch.Size); err != nil {
		return nil, err
	}
	return p, nil
}

// Records calls fn with every login-chain record of the log (not the
// refusals), oldest first, stopping at fn's first error.
func (l *LoginLog) Records(fn func(*Record) error) error {
	l.mu.Lock()
	type span struct {
		seq uint64
		pos []entryPos
	}
	var spans []span
	for _, b := range l.batches {
		spans = append(spans, span{b.seq, slices.Clone(b.pos)})
	}
	l.mu.Unlock()
	for _, sp := range spans {
		data, err := os.ReadFile(l.path(sp.seq))
		if err != nil {
			return fmt.Errorf("login log: %w", err)
		}
		for _, p := range sp.pos {
			if p.off+int64(p.n) > int64(len(data)) {
				return fmt.Errorf("login log: batch %d is shorter than its index", sp.seq)
			}
			e, err := DecodeEntry(data[p.off : p.off+int64(p.n)])
			if err != nil {
				return fmt.Errorf("login log: batch %d: %w", sp.seq, err)
			}
			if e.Record != nil {
				if err := fn(e.Record); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Prune deletes the oldest batches that ended before before (Unix
// seconds) and are below committed (the ledger's next batch number: their
// roots are on the ledger), oldest first; their records are no longer
// provable by this hub. It returns how many it deleted. The open batch is
// never pruned.
func (l *LoginLog) Prune(before, committed uint64) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for len(l.batches) > 1 {
		b := l.batches[0]
		if !b.closed() || b.end >= before || b.seq >= committed {
			break
		}
		if err := os.Remove(l.path(b.seq)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return n, fmt.Errorf("login log: %w", err)
		}
		for _, h := range b.hashes {
			if loc, ok := l.index[signin.Head(h)]; ok && loc.seq == b.seq {
				delete(l.index, signin.Head(h))
			}
		}
		if l.tree != nil && l.treeSeq == b.seq {
			l.tree = nil
		}
		l.batches[0] = nil
		l.batches = l.batches[1:]
		l.base++
		n++
	}
	return n, nil
}

// Shutdown syncs and closes the open batch's file (the batch stays open:
// the next start continues it).
func (l *LoginLog) Shutdown() error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Sync()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
