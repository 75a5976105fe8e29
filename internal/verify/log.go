package verify

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/camchain/camchain/internal/feedchain"
)

// The records.log layout of SPEC §9 (internal/store writes it; its
// constants are unexported there, so they are repeated here and a test
// reads a log internal/store wrote).
const (
	logMagic      = "CCRECLOG"
	logVersion    = 1
	logHeaderSize = 16    // magic ‖ u32be version ‖ 4 reserved zero bytes
	entryOverhead = 4 + 4 // u32be length before the record, u32be CRC-32C after
)

// castagnoli is CRC-32C, the log's per-entry checksum. It only finds torn
// or damaged entries; the records' signatures and the checkpoints are what
// make them trustworthy.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors of ReadLog about the file as a whole.
var (
	ErrNotLog     = errors.New("not a camchain records log")
	ErrLogVersion = errors.New("unsupported records log version")
)

// Log is what ReadLog read: the records of every well-formed entry, in
// file order, up to the first entry that is not.
type Log struct {
	Records []*feedchain.Record
	// Damage describes the first entry that could not be read, nil when the
	// log ended cleanly after its last entry.
	Damage *LogDamage
}

// LogDamage says where a records.log stops making sense and why.
type LogDamage struct {
	Offset   int64  // byte offset of the entry's length prefix
	Reason   string // e.g. "CRC-32C mismatch", "torn entry: 10 of 268 bytes"
	Trailing int64  // bytes from Offset to the end of the file, unread
}

func (d *LogDamage) String() string {
	return fmt.Sprintf("damaged at byte %d: %s (%d bytes from there to the end not read)", d.Offset, d.Reason, d.Trailing)
}

// ReadLogFile reads the records.log at path without modifying it.
func ReadLogFile(path string) (*Log, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l, err := ReadLog(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// ReadLog parses a records.log strictly and read-only: the 16-byte header
// (an error if it is not the version-1 header), then entries
// `u32be len ‖ record ‖ u32be CRC-32C(record)` until the end of the input or
// the first entry that is torn, oversize, fails its CRC or does not parse
// (feedchain.Parse), which it reports in Log.Damage without reading further.
// It checks neither signatures nor links: that is Verify's job, which has to
// say which record is wrong rather than stop at it.
func ReadLog(r io.Reader) (*Log, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	hdr := make([]byte, logHeaderSize)
	if n, err := io.ReadFull(br, hdr); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: %d bytes is shorter than the %d-byte header", ErrNotLog, n, logHeaderSize)
		}
		return nil, err
	}
	if string(hdr[:8]) != logMagic {
		return nil, fmt.Errorf("%w: no %s header", ErrNotLog, logMagic)
	}
	if v := binary.BigEndian.Uint32(hdr[8:]); v != logVersion {
		return nil, fmt.Errorf("%w: %d (this build reads version %d)", ErrLogVersion, v, logVersion)
	}
	if binary.BigEndian.Uint32(hdr[12:]) != 0 {
		return nil, fmt.Errorf("%w: the header's reserved bytes are not zero", ErrNotLog)
	}

	l := &Log{}
	off := int64(logHeaderSize)
	buf := make([]byte, entryOverhead+feedchain.MaxRecordSize)
	damaged := func(read int64, format string, a ...any) (*Log, error) {
		rest, err := io.Copy(io.Discard, br)
		if err != nil {
			return nil, err
		}
		l.Damage = &LogDamage{Offset: off, Reason: fmt.Sprintf(format, a...), Trailing: read + rest}
		return l, nil
	}
	for {
		got, err := io.ReadFull(br, buf[:4])
		switch {
		case errors.Is(err, io.EOF):
			return l, nil
		case errors.Is(err, io.ErrUnexpectedEOF):
			return damaged(int64(got), "torn length prefix: %d of 4 bytes", got)
		case err != nil:
			return nil, err
		}
		n := binary.BigEndian.Uint32(buf)
		if n == 0 || n > feedchain.MaxRecordSize {
			return damaged(4, "entry length %d is outside 1..%d", n, feedchain.MaxRecordSize)
		}
		got, err = io.ReadFull(br, buf[4:4+n+4])
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return damaged(4+int64(got), "torn entry: %d of %d bytes", 4+got, 4+n+4)
		case err != nil:
			return nil, err
		}
		rec := buf[4 : 4+n]
		if crc32.Checksum(rec, castagnoli) != binary.BigEndian.Uint32(buf[4+n:]) {
			return damaged(int64(4+n+4), "CRC-32C mismatch")
		}
		r, err := feedchain.Parse(rec)
		if err != nil {
			return damaged(int64(4+n+4), "entry %d: %v", len(l.Records), err)
		}
		l.Records = append(l.Records, r)
		off += int64(n) + entryOverhead
	}
}

// appendLogHeader and appendLogEntry encode the layout ReadLog reads; the
// tests and the fuzzer use them to check that ReadLog returns exactly what
// was written.
func appendLogHeader(b []byte) []byte {
	b = append(b, logMagic...)
	b = binary.BigEndian.AppendUint32(b, logVersion)
	return binary.BigEndian.AppendUint32(b, 0)
}

func appendLogEntry(b, rec []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(rec)))
	b = append(b, rec...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(rec, castagnoli))
}
