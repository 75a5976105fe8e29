// Package layout is the one home of a recording store's on-disk format
// (docs/SPEC.md §9): file names, the records.log header and entry framing,
// segment file names, the acked and pruned state files and chain
// directory names. The read-write store (internal/store) and the read-only
// verifier (internal/verify) both read and write it through this package
// and nothing else, so the two can never disagree about a byte.
//
//	<dir>/FORMAT                              "camchain-store 1\n"
//	<dir>/LOCK                                flock(2) target, empty
//	<dir>/<camera>/<epoch>/records.log        header, then one entry per record
//	<dir>/<camera>/<epoch>/seg/<seq>.mp4      segment files, seq as %016d
//	<dir>/<camera>/<epoch>/acked              "camchain-acked 1\n<seq> <record hash hex>\n"
//	<dir>/<camera>/<epoch>/pruned             "camchain-pruned 1\n<n>\n"
//	<dir>/<camera>/<epoch>/prune-statement    the camera's signed prune statement (SPEC §14.1), on a card
//	<dir>/<camera>/<epoch>.sub/…              the sub stream's chain, same files
//
// <camera> is the camera's address as 40 lowercase hex digits without 0x;
// <epoch> is canonical decimal. Each of a camera's streams has its own
// chain (docs/SPEC.md §6.5): the main stream's directory is the epoch
// alone (what every store held before streams had chains of their own),
// another stream's is the epoch, a dot and the stream's name. records.log is a 16-byte header —
// "CCRECLOG", u32be version (1), four zero bytes — followed by entries
//
//	u32be len ‖ record (feedchain Marshal, len bytes) ‖ u32be CRC-32C(record)
package layout

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// The store's FORMAT file.
const (
	FormatName   = "FORMAT"
	FormatLine   = "camchain-store 1\n" // its content for this version
	FormatPrefix = "camchain-store "    // any version's
	LockName     = "LOCK"
)

// Names inside a chain directory.
const (
	LogName    = "records.log"
	SegDirName = "seg"
	AckedName  = "acked"
	PrunedName = "pruned"
	// PruneStatementName holds the camera's signed prune statement
	// (SPEC §14.1, internal/retention): exactly its bytes, no framing; the
	// statement's first byte is its version.
	PruneStatementName = "prune-statement"
	SegExt             = ".mp4"
	// TmpPrefix starts the names of temporary files (atomicfile's): a
	// write a crash stopped before its rename. They are never data.
	TmpPrefix = atomicfile.TempPrefix
)

// records.log framing.
const (
	LogMagic      = "CCRECLOG"
	LogVersion    = 1
	LogHeaderSize = 16 // magic ‖ u32be version ‖ 4 reserved zero bytes
	// EntryOverhead is the length prefix and the CRC around each record.
	EntryOverhead = 4 + 4
	// MaxEntrySize is the largest entry. A crash can tear only the entry
	// being appended (each append is fsynced before the next), so damage
	// followed by more than this many bytes is not a torn tail.
	MaxEntrySize = EntryOverhead + feedchain.MaxRecordSize
)

// Versioned first lines of the small state files, and a bound on what a
// reader takes of one.
const (
	AckedMagic   = "camchain-acked 1\n"
	PrunedMagic  = "camchain-pruned 1\n"
	MaxStateFile = 256
)

// Errors about a records.log as a whole.
var (
	ErrNotLog     = errors.New("not a camchain records log")
	ErrLogVersion = errors.New("unsupported records log version")
)

// castagnoli is CRC-32C, which detects torn and bit-flipped entries; the
// records' own signatures and hash links are what make them trustworthy.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// LogHeader is the version-1 header.
func LogHeader() []byte {
	b := make([]byte, LogHeaderSize)
	copy(b, LogMagic)
	binary.BigEndian.PutUint32(b[8:], LogVersion)
	return b
}

// ReadLogHeader reads the header from r and accepts exactly version 1
// (ErrNotLog, ErrLogVersion otherwise).
func ReadLogHeader(r io.Reader) error {
	hdr := make([]byte, LogHeaderSize)
	if n, err := io.ReadFull(r, hdr); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: %d bytes is shorter than the %d-byte header", ErrNotLog, n, LogHeaderSize)
		}
		return err
	}
	if string(hdr[:8]) != LogMagic {
		return fmt.Errorf("%w: no %s header", ErrNotLog, LogMagic)
	}
	if v := binary.BigEndian.Uint32(hdr[8:]); v != LogVersion {
		return fmt.Errorf("%w: it is version %d, this build reads version %d", ErrLogVersion, v, LogVersion)
	}
	if binary.BigEndian.Uint32(hdr[12:]) != 0 {
		return fmt.Errorf("%w: the header's reserved bytes are not zero", ErrNotLog)
	}
	return nil
}

// AppendEntry frames a marshalled record as a records.log entry.
func AppendEntry(b, rec []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(rec)))
	b = append(b, rec...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(rec, castagnoli))
}

// DamageError is an entry that cannot be read: torn, of a length outside
// 1..MaxRecordSize, or failing its CRC.
type DamageError struct {
	Reason string // e.g. "CRC-32C mismatch", "torn entry: 10 of 268 bytes"
	Read   int64  // bytes of the entry consumed from the reader
}

func (e *DamageError) Error() string { return e.Reason }

// NewEntryReader reads entries from r, which must be positioned after
// the header.
func NewEntryReader(r io.Reader) *EntryReader {
	return &EntryReader{r: bufio.NewReaderSize(r, 256<<10), buf: make([]byte, MaxEntrySize)}
}

// EntryReader reads records.log entries one by one, into one buffer it
// allocates once (MaxEntrySize, before reading anything).
type EntryReader struct {
	r   *bufio.Reader
	buf []byte
}

// Next returns the next entry's record bytes (valid until the next call)
// and the entry's size on disk. At a clean end of the log it returns
// io.EOF; an entry that cannot be read gives a *DamageError; anything else
// is a read error.
func (er *EntryReader) Next() (rec []byte, size int64, err error) {
	buf := er.buf
	got, err := io.ReadFull(er.r, buf[:4])
	switch {
	case errors.Is(err, io.EOF):
		return nil, 0, io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, 0, &DamageError{Reason: fmt.Sprintf("torn length prefix: %d of 4 bytes", got), Read: int64(got)}
	case err != nil:
		return nil, 0, err
	}
	n := binary.BigEndian.Uint32(buf)
	if n == 0 || n > feedchain.MaxRecordSize {
		return nil, 0, &DamageError{Reason: fmt.Sprintf("entry length %d is outside 1..%d", n, feedchain.MaxRecordSize), Read: 4}
	}
	got, err = io.ReadFull(er.r, buf[4:4+n+4])
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return nil, 0, &DamageError{Reason: fmt.Sprintf("torn entry: %d of %d bytes", 4+got, 4+n+4), Read: 4 + int64(got)}
	case err != nil:
		return nil, 0, err
	}
	rec, err = DecodeEntry(buf[:4+n+4])
	if err != nil {
		return nil, 0, &DamageError{Reason: err.Error(), Read: int64(4 + n + 4)}
	}
	return rec, int64(n) + EntryOverhead, nil
}

// Rest drains what is left of the input, for a reader that reports how
// much follows damage.
func (er *EntryReader) Rest() (int64, error) { return io.Copy(io.Discard, er.r) }

// DecodeEntry checks one whole entry (length prefix, record, CRC) and
// returns its record bytes, aliasing b.
func DecodeEntry(b []byte) ([]byte, error) {
	if len(b) < EntryOverhead {
		return nil, fmt.Errorf("entry of %d bytes is shorter than its framing", len(b))
	}
	n := binary.BigEndian.Uint32(b)
	if int64(n)+EntryOverhead != int64(len(b)) {
		return nil, fmt.Errorf("entry length %d does not fill its %d bytes", n, len(b))
	}
	rec := b[4 : 4+n]
	if crc32.Checksum(rec, castagnoli) != binary.BigEndian.Uint32(b[4+n:]) {
		return nil, errors.New("CRC-32C mismatch")
	}
	return rec, nil
}

// SegName is the file name of segment seq.
func SegName(seq uint64) string { return fmt.Sprintf("%016d%s", seq, SegExt) }

// ParseSegName returns the sequence number of a segment file name: exactly
// 16 decimal digits and ".mp4".
func ParseSegName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, SegExt)
	if !ok || len(digits) != 16 {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}

// EncodeAcked is the acked file for head h.
func EncodeAcked(h feedchain.Head) []byte {
	return fmt.Appendf(nil, "%s%d %x\n", AckedMagic, h.Seq, h.Hash[:])
}

// DecodeAcked parses EncodeAcked's output, strictly.
func DecodeAcked(b []byte) (feedchain.Head, error) {
	rest, ok := strings.CutPrefix(string(b), AckedMagic)
	if !ok {
		return feedchain.Head{}, fmt.Errorf("acked file does not start with %q", AckedMagic)
	}
	line, ok := strings.CutSuffix(rest, "\n")
	seqStr, hashHex, ok2 := strings.Cut(line, " ")
	if !ok || !ok2 {
		return feedchain.Head{}, fmt.Errorf("acked file: want \"<seq> <hash>\\n\" after the version line")
	}
	seq, err := ParseCanonicalUint(seqStr)
	if err != nil {
		return feedchain.Head{}, fmt.Errorf("acked file: seq: %v", err)
	}
	var h feedchain.Hash
	if len(hashHex) != 2*len(h) || strings.ToLower(hashHex) != hashHex {
		return feedchain.Head{}, fmt.Errorf("acked file: hash must be %d lowercase hex digits", 2*len(h))
	}
	if _, err := hex.Decode(h[:], []byte(hashHex)); err != nil {
		return feedchain.Head{}, fmt.Errorf("acked file: hash: %v", err)
	}
	return feedchain.Head{Valid: true, Seq: seq, Hash: h}, nil
}

// EncodePruned is the pruned file saying the segments below n are gone.
func EncodePruned(n uint64) []byte { return fmt.Appendf(nil, "%s%d\n", PrunedMagic, n) }

// DecodePruned parses EncodePruned's output, strictly.
func DecodePruned(b []byte) (uint64, error) {
	rest, ok := strings.CutPrefix(string(b), PrunedMagic)
	if !ok {
		return 0, fmt.Errorf("pruned file does not start with %q", PrunedMagic)
	}
	line, ok := strings.CutSuffix(rest, "\n")
	if !ok {
		return 0, fmt.Errorf("pruned file: missing final newline")
	}
	n, err := ParseCanonicalUint(line)
	if err != nil {
		return 0, fmt.Errorf("pruned file: %v", err)
	}
	return n, nil
}

// ParseCanonicalUint parses a decimal without sign, spaces or leading
// zeros.
func ParseCanonicalUint(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || strconv.FormatUint(n, 10) != s {
		return 0, fmt.Errorf("%q is not a canonical decimal number", s)
	}
	return n, nil
}

// ChainDir is a chain's directory relative to the store:
// <camera hex>/<epoch> for the main stream, <camera hex>/<epoch>.<stream>
// for another (EpochDir).
func ChainDir(camera keys.Address, epoch uint64, stream feedchain.Stream) string {
	return filepath.Join(hex.EncodeToString(camera[:]), EpochDir(epoch, stream))
}

// EpochDir is the last element of a chain's directory: the epoch in
// canonical decimal, then, for a stream other than main, "." and its name
// ("3", "3.sub").
func EpochDir(epoch uint64, stream feedchain.Stream) string {
	e := strconv.FormatUint(epoch, 10)
	if stream == feedchain.StreamMain {
		return e
	}
	return e + "." + stream.String()
}

// ParseEpochDir is the inverse of EpochDir: it accepts only what EpochDir
// writes for a known stream.
func ParseEpochDir(name string) (epoch uint64, stream feedchain.Stream, ok bool) {
	num, suffix, dotted := strings.Cut(name, ".")
	epoch, err := ParseCanonicalUint(num)
	if err != nil {
		return 0, 0, false
	}
	if !dotted {
		return epoch, feedchain.StreamMain, true
	}
	for _, s := range feedchain.Streams() {
		if s != feedchain.StreamMain && suffix == s.String() {
			return epoch, s, true
		}
	}
	return 0, 0, false
}

// ParseCameraDir returns the camera a store's camera directory name
// names: 40 lowercase hex digits.
func ParseCameraDir(name string) (keys.Address, bool) {
	var a keys.Address
	if len(name) != 2*len(a) || strings.ToLower(name) != name {
		return a, false
	}
	if _, err := hex.Decode(a[:], []byte(name)); err != nil {
		return keys.Address{}, false
	}
	return a, true
}

// ParseChainDir returns the camera, epoch and stream a chain directory's
// path names: <…>/<camera: 40 lowercase hex digits>/<EpochDir>.
func ParseChainDir(chainDir string) (keys.Address, uint64, feedchain.Stream, bool) {
	clean := filepath.Clean(chainDir)
	epoch, stream, ok := ParseEpochDir(filepath.Base(clean))
	if !ok {
		return keys.Address{}, 0, 0, false
	}
	cam, ok := ParseCameraDir(filepath.Base(filepath.Dir(clean)))
	if !ok {
		return keys.Address{}, 0, 0, false
	}
	return cam, epoch, stream, true
}

// An object store's copy of a store (SPEC §9.3) — an S3 bucket under a
// key prefix — holds per chain the same segments and, since objects
// cannot be appended to, one object per record instead of records.log:
//
//	<prefix>/FORMAT                              "camchain-objects 1\n"
//	<prefix>/<camera>/<epoch>/seg/<seq>.mp4      segment, as on disk
//	<prefix>/<camera>/<epoch>/rec/<seq>.rec      one records.log entry (AppendEntry: length, record, CRC-32C)
//	<prefix>/<camera>/<epoch>/pruned             as on disk
//
// Object names are slash-separated whatever the host's path separator.
// The records.log of a chain is its header followed by its rec objects
// in seq order (ObjectLog).
const (
	ObjFormatLine = "camchain-objects 1\n"
	ObjRecDirName = "rec"
	ObjRecExt     = ".rec"
)

// ObjChainDir is a chain's object name prefix: <camera hex>/<EpochDir>.
func ObjChainDir(camera keys.Address, epoch uint64, stream feedchain.Stream) string {
	return hex.EncodeToString(camera[:]) + "/" + EpochDir(epoch, stream)
}

// ObjSegName is the object name of segment seq in the chain at dir.
func ObjSegName(dir string, seq uint64) string { return dir + "/" + SegDirName + "/" + SegName(seq) }

// ObjRecName is the object name of record seq in the chain at dir.
func ObjRecName(dir string, seq uint64) string {
	return fmt.Sprintf("%s/%s/%016d%s", dir, ObjRecDirName, seq, ObjRecExt)
}

// ParseObjRecName returns the seq of a rec object's last name element:
// exactly 16 decimal digits and ".rec".
func ParseObjRecName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, ObjRecExt)
	if !ok {
		return 0, false
	}
	return ParseSegName(digits + SegExt)
}
