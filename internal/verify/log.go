package verify

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/store/layout"
)

// Errors of ReadLog about the file as a whole (the store layout's).
var (
	ErrNotLog     = layout.ErrNotLog
	ErrLogVersion = layout.ErrLogVersion
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
	if err := layout.ReadLogHeader(r); err != nil {
		return nil, err
	}
	l := &Log{}
	off := int64(layout.LogHeaderSize)
	entries := layout.NewEntryReader(r)
	damaged := func(read int64, format string, a ...any) (*Log, error) {
		rest, err := entries.Rest()
		if err != nil {
			return nil, err
		}
		l.Damage = &LogDamage{Offset: off, Reason: fmt.Sprintf(format, a...), Trailing: read + rest}
		return l, nil
	}
	for {
		rec, n, err := entries.Next()
		var damage *layout.DamageError
		switch {
		case errors.Is(err, io.EOF):
			return l, nil
		case errors.As(err, &damage):
			return damaged(damage.Read, "%s", damage.Reason)
		case err != nil:
			return nil, err
		}
		r, err := feedchain.Parse(rec)
		if err != nil {
			return damaged(n, "entry %d: %v", len(l.Records), err)
		}
		l.Records = append(l.Records, r)
		off += n
	}
}
