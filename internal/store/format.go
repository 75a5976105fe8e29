package store

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"

	"github.com/camchain/camchain/internal/feedchain"
)

// FormatLine is the content of <dir>/FORMAT for this version.
const FormatLine = "camchain-store 1\n"

const formatPrefix = "camchain-store "

// records.log layout.
const (
	logMagic      = "CCRECLOG"
	logVersion    = 1
	logHeaderSize = 16 // magic ‖ u32be version ‖ 4 reserved zero bytes
	// entryOverhead is the length prefix and the CRC around each record.
	entryOverhead = 4 + 4
	// maxEntrySize is the largest entry. A crash can tear only the entry
	// being appended (each append is fsynced before the next), so damage
	// followed by more than this many bytes is not a torn tail.
	maxEntrySize = entryOverhead + feedchain.MaxRecordSize
)

// File names inside a chain directory.
const (
	logName    = "records.log"
	segDirName = "seg"
	ackedName  = "acked"
	prunedName = "pruned"
	segExt     = ".mp4"
	lockName   = "LOCK"
	formatName = "FORMAT"
)

// Versioned first lines of the small state files.
const (
	ackedMagic  = "camchain-acked 1\n"
	prunedMagic = "camchain-pruned 1\n"
)

// castagnoli is CRC-32C, which detects torn and bit-flipped entries; the
// records' own signatures and hash links are what make them trustworthy.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func logHeader() []byte {
	b := make([]byte, logHeaderSize)
	copy(b, logMagic)
	binary.BigEndian.PutUint32(b[8:], logVersion)
	return b
}

// checkLogHeader accepts exactly the version-1 header.
func checkLogHeader(b []byte) error {
	if len(b) < logHeaderSize || string(b[:8]) != logMagic {
		return fmt.Errorf("%w: not a camchain records log (no %s header)", ErrFormat, logMagic)
	}
	if v := binary.BigEndian.Uint32(b[8:]); v != logVersion {
		return fmt.Errorf("%w: records log version %d (this build reads version %d)", ErrFormat, v, logVersion)
	}
	if binary.BigEndian.Uint32(b[12:]) != 0 {
		return fmt.Errorf("%w: records log header has non-zero reserved bytes", ErrFormat)
	}
	return nil
}

// encodeEntry frames a marshalled record for records.log.
func encodeEntry(rec []byte) []byte {
	b := make([]byte, 0, len(rec)+entryOverhead)
	b = binary.BigEndian.AppendUint32(b, uint32(len(rec)))
	b = append(b, rec...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(rec, castagnoli))
}

func segName(seq uint64) string { return fmt.Sprintf("%016d%s", seq, segExt) }

// ParseSegName returns the sequence number of a segment file name: exactly
// 16 decimal digits and ".mp4".
func ParseSegName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segExt)
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

func encodeAcked(h feedchain.Head) []byte {
	return fmt.Appendf(nil, "%s%d %x\n", ackedMagic, h.Seq, h.Hash[:])
}

func decodeAcked(b []byte) (feedchain.Head, error) {
	rest, ok := strings.CutPrefix(string(b), ackedMagic)
	if !ok {
		return feedchain.Head{}, fmt.Errorf("%w: acked file does not start with %q", ErrFormat, ackedMagic)
	}
	line, ok := strings.CutSuffix(rest, "\n")
	seqStr, hashHex, ok2 := strings.Cut(line, " ")
	if !ok || !ok2 {
		return feedchain.Head{}, fmt.Errorf("acked file: want \"<seq> <hash>\\n\" after the version line")
	}
	seq, err := parseCanonicalUint(seqStr)
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

func encodePruned(n uint64) []byte { return fmt.Appendf(nil, "%s%d\n", prunedMagic, n) }

func decodePruned(b []byte) (uint64, error) {
	rest, ok := strings.CutPrefix(string(b), prunedMagic)
	if !ok {
		return 0, fmt.Errorf("%w: pruned file does not start with %q", ErrFormat, prunedMagic)
	}
	line, ok := strings.CutSuffix(rest, "\n")
	if !ok {
		return 0, fmt.Errorf("pruned file: missing final newline")
	}
	n, err := parseCanonicalUint(line)
	if err != nil {
		return 0, fmt.Errorf("pruned file: %v", err)
	}
	return n, nil
}

// parseCanonicalUint parses a decimal without sign, spaces or leading zeros.
func parseCanonicalUint(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || strconv.FormatUint(n, 10) != s {
		return 0, fmt.Errorf("%q is not a canonical decimal number", s)
	}
	return n, nil
}
