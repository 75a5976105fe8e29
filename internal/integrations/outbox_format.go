package integrations

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
)

// The outbox log's layout (docs/SPEC.md §13.4):
//
//	"camchain-hub-outbox 1 <first>\n"   first: the index of its first entry
//	then entries, each
//	  uint32 big-endian   n, the payload's length, 1..MaxEventBytes
//	  uint32 big-endian   CRC-32C of the payload
//	  n bytes             the payload: one Event's JSON
//
// Indices are absolute and never reused: a sink's cursor (the index of the
// next entry it has not taken) stays valid when the log is rewritten.
// Reading stops at the first entry that is torn (cut by a crash before its
// fsync returned) or does not check; what follows is not read.

const outboxMagic = "camchain-hub-outbox 1"

// frameHeader is the length and checksum before each payload.
const frameHeader = 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrOutboxHeader: the file is not an outbox log of this version.
var ErrOutboxHeader = errors.New("integrations: not a camchain outbox log (version 1)")

// entry is one event in the outbox.
type entry struct {
	id      string
	payload []byte
}

func outboxHeader(first uint64) []byte {
	return fmt.Appendf(nil, "%s %d\n", outboxMagic, first)
}

func appendFrame(dst, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.BigEndian.AppendUint32(dst, crc32.Checksum(payload, castagnoli))
	return append(dst, payload...)
}

// maxHeaderLine bounds the header line: the magic, a space and a uint64.
const maxHeaderLine = len(outboxMagic) + 1 + 20 + 1

// decodeOutbox reads an outbox log: the index of its first entry, the
// entries that check, and how many bytes they and the header span. Only a
// bad header is an error; a bad entry ends the log.
func decodeOutbox(b []byte) (first uint64, entries []entry, good int, err error) {
	nl := bytes.IndexByte(b[:min(len(b), maxHeaderLine)], '\n')
	if nl < 0 {
		return 0, nil, 0, ErrOutboxHeader
	}
	rest, ok := bytes.CutPrefix(b[:nl], []byte(outboxMagic+" "))
	if !ok {
		return 0, nil, 0, ErrOutboxHeader
	}
	first, err = parseCanonicalUint(string(rest))
	if err != nil {
		return 0, nil, 0, ErrOutboxHeader
	}
	good = nl + 1
	for {
		p := b[good:]
		if len(p) < frameHeader {
			return first, entries, good, nil
		}
		n := binary.BigEndian.Uint32(p)
		if n == 0 || n > MaxEventBytes || uint64(len(p)-frameHeader) < uint64(n) {
			return first, entries, good, nil
		}
		payload := p[frameHeader : frameHeader+int(n)]
		if crc32.Checksum(payload, castagnoli) != binary.BigEndian.Uint32(p[4:]) {
			return first, entries, good, nil
		}
		id, ok := eventID(payload)
		if !ok {
			return first, entries, good, nil
		}
		entries = append(entries, entry{id: id, payload: payload})
		good += frameHeader + int(n)
	}
}

// eventID is the id of an event's JSON, if it is one.
func eventID(payload []byte) (string, bool) {
	var e struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(payload, &e) != nil || e.ID == "" {
		return "", false
	}
	return e.ID, true
}

// The cursor file of a sink: "camchain-outbox-cursor 1 <next>\n".
const cursorMagic = "camchain-outbox-cursor 1"

func encodeCursor(next uint64) []byte { return fmt.Appendf(nil, "%s %d\n", cursorMagic, next) }

func decodeCursor(b []byte) (uint64, error) {
	rest, ok := bytes.CutPrefix(b, []byte(cursorMagic+" "))
	if !ok || len(rest) == 0 || rest[len(rest)-1] != '\n' {
		return 0, errors.New("integrations: not an outbox cursor (version 1)")
	}
	return parseCanonicalUint(string(rest[:len(rest)-1]))
}

// parseCanonicalUint accepts a decimal uint64 without sign, spaces or
// leading zeros (but "0").
func parseCanonicalUint(s string) (uint64, error) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("integrations: %q is not a canonical number", s)
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("integrations: %q is not a canonical number", s)
		}
	}
	return strconv.ParseUint(s, 10, 64)
}
