package verify

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/store"
	"github.com/camchain/camchain/internal/store/layout"
)

var writeSeeds = flag.Bool("write-seeds", false, "rewrite testdata/fuzz/FuzzReadRecordsLog from logSeeds")

// testRecords returns n linked records of a fixed camera key (0x0202…02),
// signed, with distinct segments.
func testRecords(t testing.TB, n int) []*feedchain.Record {
	t.Helper()
	k, err := keys.FromBytes(bytes.Repeat([]byte{2}, 32))
	if err != nil {
		t.Fatal(err)
	}
	var out []*feedchain.Record
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for i := range n {
		data := bytes.Repeat([]byte{byte(i)}, 1000+i)
		r := &feedchain.Record{Camera: k.Address(), Epoch: 1, Seq: uint64(i), Segment: feedchain.SegmentHash(data),
			Start: start.Add(time.Duration(i) * 2 * time.Second).UnixNano(), Duration: 2 * time.Second,
			Size: uint64(len(data)), Codec: "avc1.4d401e"}
		if i > 0 {
			r.Prev = out[i-1].Hash()
		}
		if err := r.Sign(k); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// encodeLog is the records.log of recs, per SPEC §9.
func encodeLog(recs []*feedchain.Record) []byte {
	b := layout.LogHeader()
	for _, r := range recs {
		b = layout.AppendEntry(b, r.Marshal())
	}
	return b
}

// logSeeds are the fuzzer's seed inputs: a good log and systematic
// corruptions of it.
func logSeeds(t testing.TB) map[string][]byte {
	good := encodeLog(testRecords(t, 3))
	entry := (len(good) - layout.LogHeaderSize) / 3
	flip := func(i int) []byte { b := bytes.Clone(good); b[i] ^= 1; return b }
	return map[string][]byte{
		"good":               good,
		"header-only":        good[:layout.LogHeaderSize],
		"short-header":       good[:10],
		"wrong-magic":        flip(0),
		"wrong-version":      flip(11),
		"reserved-nonzero":   flip(15),
		"torn-length":        good[:len(good)-entry+2],
		"torn-entry":         good[:len(good)-5],
		"crc-mismatch":       flip(len(good) - 1),
		"record-bit-flip":    flip(layout.LogHeaderSize + entry + 4 + 40),
		"zero-length":        append(bytes.Clone(good), 0, 0, 0, 0),
		"oversize-length":    append(bytes.Clone(good), 0, 0, 2, 0),
		"trailing-garbage":   append(bytes.Clone(good), "garbage"...),
		"bad-version-record": flip(layout.LogHeaderSize + 4),
	}
}

// TestWriteFuzzSeeds regenerates the committed seed corpus with
// -write-seeds; without it, it checks the corpus is current.
func TestWriteFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzReadRecordsLog")
	for name, b := range logSeeds(t) {
		p := filepath.Join(dir, name)
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if *writeSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != content {
			t.Errorf("%s is missing or stale (err %v): run go test ./internal/verify -run TestWriteFuzzSeeds -write-seeds", p, err)
		}
	}
}

func TestReadLog(t *testing.T) {
	recs := testRecords(t, 3)
	seeds := logSeeds(t)
	good := seeds["good"]
	entry := int64(len(good)-layout.LogHeaderSize) / 3
	tests := []struct {
		name    string
		records int
		err     error
		damage  string // substring of Damage.Reason; "" for a clean end
		offset  int64
	}{
		{"good", 3, nil, "", 0},
		{"header-only", 0, nil, "", 0},
		{"short-header", 0, ErrNotLog, "", 0},
		{"wrong-magic", 0, ErrNotLog, "", 0},
		{"wrong-version", 0, ErrLogVersion, "", 0},
		{"reserved-nonzero", 0, ErrNotLog, "", 0},
		{"torn-length", 2, nil, "torn length prefix", layout.LogHeaderSize + 2*entry},
		{"torn-entry", 2, nil, "torn entry", layout.LogHeaderSize + 2*entry},
		{"crc-mismatch", 2, nil, "CRC-32C mismatch", layout.LogHeaderSize + 2*entry},
		{"record-bit-flip", 1, nil, "CRC-32C mismatch", layout.LogHeaderSize + entry},
		{"zero-length", 3, nil, "entry length 0", int64(len(good))},
		{"oversize-length", 3, nil, "entry length 512", int64(len(good))},
		{"trailing-garbage", 3, nil, "entry length", int64(len(good))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := seeds[tc.name]
			l, err := ReadLog(bytes.NewReader(in))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Records) != tc.records {
				t.Fatalf("%d records, want %d", len(l.Records), tc.records)
			}
			for i, r := range l.Records {
				if r.Hash() != recs[i].Hash() || r.Sig != recs[i].Sig {
					t.Errorf("record %d differs from what was written", i)
				}
			}
			switch {
			case tc.damage == "" && l.Damage != nil:
				t.Errorf("damage %v on a clean log", l.Damage)
			case tc.damage != "" && (l.Damage == nil || !strings.Contains(l.Damage.Reason, tc.damage)):
				t.Errorf("damage %v, want %q", l.Damage, tc.damage)
			case l.Damage != nil && (l.Damage.Offset != tc.offset || l.Damage.Offset+l.Damage.Trailing != int64(len(in))):
				t.Errorf("damage at %d with %d trailing, want at %d of %d bytes", l.Damage.Offset, l.Damage.Trailing, tc.offset, len(in))
			}
		})
	}
}

// TestReadLogOfTheStore reads a log internal/store wrote, so the layout
// repeated here cannot drift from the store's.
func TestReadLogOfTheStore(t *testing.T) {
	recs := testRecords(t, 5)
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := st.Chain(recs[0].Camera, recs[0].Epoch)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		if err := ch.Append(r, bytes.Repeat([]byte{byte(i)}, 1000+i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	chainDir := filepath.Join(dir, fmt.Sprintf("%x", recs[0].Camera[:]), "1")
	raw, err := os.ReadFile(filepath.Join(chainDir, LogName))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, encodeLog(recs)) {
		t.Fatal("the store's records.log is not the documented layout")
	}
	l, err := ReadLogFile(filepath.Join(chainDir, LogName))
	if err != nil || l.Damage != nil || len(l.Records) != len(recs) {
		t.Fatalf("ReadLogFile: %v, damage %v, %d records", err, l.Damage, len(l.Records))
	}
	cam, epoch, _, ok := ParseChainDir(chainDir)
	if !ok || cam != recs[0].Camera || epoch != 1 {
		t.Fatalf("ChainID(%s) = %s, %d, %v", chainDir, cam.Hex(), epoch, ok)
	}
}

// FuzzReadRecordsLog checks that ReadLog never panics, refuses exactly the
// inputs with a bad header, and returns records that re-encode to exactly
// the bytes before the damage it reports.
func FuzzReadRecordsLog(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ReadLog(bytes.NewReader(data))
		badHeader := len(data) < layout.LogHeaderSize || !bytes.Equal(data[:layout.LogHeaderSize], layout.LogHeader())
		if (err != nil) != badHeader {
			t.Fatalf("err %v for a header that is good: %v", err, !badHeader)
		}
		if err != nil {
			return
		}
		end := int64(len(data))
		if l.Damage != nil {
			if l.Damage.Offset+l.Damage.Trailing != end || l.Damage.Trailing <= 0 || l.Damage.Reason == "" {
				t.Fatalf("damage %+v in %d bytes", l.Damage, end)
			}
			end = l.Damage.Offset
		}
		if again := encodeLog(l.Records); !bytes.Equal(again, data[:end]) {
			t.Fatalf("the records re-encode to %d bytes that differ from the %d read", len(again), end)
		}
	})
}
