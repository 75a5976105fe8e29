package store

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/store/layout"
)

func chainDir(dir string, cam *camera) string {
	return filepath.Join(dir, hex.EncodeToString(cam.addr().Bytes()), strconv.FormatUint(cam.epoch, 10))
}

// threeRecords makes a store holding a 3-record chain and returns the
// log's bytes and where the last entry starts.
func threeRecords(t *testing.T) (dir string, cam *camera, recs []*feedchain.Record, segs [][]byte, log []byte, lastOff int) {
	dir = t.TempDir()
	cam = newCamera(t, 1)
	s := openStore(t, dir, Options{})
	recs, segs = appendN(t, mustChain(t, s, cam), cam, 3, 700)
	s.Close()
	log, err := os.ReadFile(filepath.Join(chainDir(dir, cam), layout.LogName))
	if err != nil {
		t.Fatal(err)
	}
	lastOff = len(log) - len(layout.AppendEntry(nil, recs[2].Marshal()))
	return
}

// Cutting the log anywhere inside its last entry (a crash while appending
// it) leaves exactly the first two records, and appending goes on.
func TestTornTailAtEveryOffset(t *testing.T) {
	dir, cam, recs, segs, log, lastOff := threeRecords(t)
	logPath := filepath.Join(chainDir(dir, cam), layout.LogName)
	for cut := lastOff; cut < len(log); cut++ {
		if err := os.WriteFile(logPath, log[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		var lb logBuffer
		s, err := Open(dir, Options{Logger: lb.logger()})
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.Chain(cam.addr(), cam.epoch)
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if c.Len() != 2 || c.Head() != feedchain.HeadOf(recs[1]) {
			t.Fatalf("cut at %d: len %d head %s", cut, c.Len(), c.Head())
		}
		if fi, _ := os.Stat(logPath); fi.Size() != int64(lastOff) {
			t.Fatalf("cut at %d: log is %d bytes, want truncation to %d", cut, fi.Size(), lastOff)
		}
		if torn := strings.Contains(lb.String(), "torn tail"); torn != (cut > lastOff) {
			t.Fatalf("cut at %d: logged a torn tail: %v\n%s", cut, torn, lb.String())
		}
		// Segment 2's file, written before the record, is now a stray.
		if _, err := os.Stat(filepath.Join(chainDir(dir, cam), "seg", layout.SegName(2))); err == nil {
			t.Fatalf("cut at %d: segment 2 kept without its record", cut)
		}
		if err := c.Append(recs[2], segs[2]); err != nil {
			t.Fatalf("cut at %d: re-append: %v", cut, err)
		}
		verifyChain(t, c)
		s.Close()
	}
	if b, _ := os.ReadFile(logPath); !bytes.Equal(b, log) {
		t.Fatal("re-appending gives different log bytes")
	}
}

// Damage at the tail that is not a torn write — a whole entry with a
// valid CRC but a bad signature, or another camera's record — is dropped
// the same way.
func TestTailRecordThatFailsVerification(t *testing.T) {
	other := newCamera(t, 1)
	for name, mutate := range map[string]func(rec []byte) []byte{
		"bad signature": func(rec []byte) []byte { rec[len(rec)-10] ^= 1; return rec },
		"other camera": func(rec []byte) []byte {
			var r feedchain.Record
			p, _ := feedchain.Parse(rec)
			r = *p
			r.Camera = other.addr()
			r.Sign(other.k)
			return r.Marshal()
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir, cam, recs, _, log, lastOff := threeRecords(t)
			bad := append(log[:lastOff:lastOff], layout.AppendEntry(nil, mutate(recs[2].Marshal()))...)
			os.WriteFile(filepath.Join(chainDir(dir, cam), layout.LogName), bad, 0o644)
			var lb logBuffer
			s := openStore(t, dir, Options{Logger: lb.logger()})
			c := mustChain(t, s, cam)
			if c.Len() != 2 {
				t.Fatalf("len %d", c.Len())
			}
			if !strings.Contains(lb.String(), "record 2") {
				t.Fatalf("the log does not say which record was dropped:\n%s", lb.String())
			}
		})
	}
}

func TestGarbageAfterTheLog(t *testing.T) {
	dir, cam, _, _, log, _ := threeRecords(t)
	logPath := filepath.Join(chainDir(dir, cam), layout.LogName)
	lenPrefix := binary.BigEndian.AppendUint32(nil, 200) // a plausible length
	for _, g := range [][]byte{
		{0}, {0xff, 0xff, 0xff, 0xff}, lenPrefix, append(lenPrefix, make([]byte, 204)...),
		bytes.Repeat([]byte{0x5a}, 100), make([]byte, layout.MaxEntrySize),
	} {
		os.WriteFile(logPath, append(append([]byte(nil), log...), g...), 0o644)
		s := openStore(t, dir, Options{})
		c := mustChain(t, s, cam)
		if c.Len() != 3 {
			t.Fatalf("%d bytes of garbage: len %d", len(g), c.Len())
		}
		verifyChain(t, c)
		s.Close()
		if b, _ := os.ReadFile(logPath); !bytes.Equal(b, log) {
			t.Fatalf("%d bytes of garbage not truncated", len(g))
		}
	}

	// More than one entry's worth of bytes after the damage is not a torn
	// write: Open refuses and changes nothing.
	long := append(append([]byte(nil), log...), make([]byte, layout.MaxEntrySize+1)...)
	os.WriteFile(logPath, long, 0o644)
	s := openStore(t, dir, Options{})
	_, err := s.Chain(cam.addr(), cam.epoch)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Offset != int64(len(log)) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("long garbage: %v", err)
	}
	if b, _ := os.ReadFile(logPath); !bytes.Equal(b, long) {
		t.Fatal("Open changed a damaged log it refused")
	}
}

// A flipped bit in an early entry, with good entries after it, is not a
// crash: Open refuses rather than cut off the good history.
func TestDamageInsideTheLogIsRefused(t *testing.T) {
	dir, cam, _, _, log, _ := threeRecords(t)
	logPath := filepath.Join(chainDir(dir, cam), layout.LogName)
	bad := append([]byte(nil), log...)
	bad[layout.LogHeaderSize+40] ^= 0x01
	os.WriteFile(logPath, bad, 0o644)
	s := openStore(t, dir, Options{})
	_, err := s.Chain(cam.addr(), cam.epoch)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Offset != layout.LogHeaderSize || !strings.Contains(err.Error(), "CRC") {
		t.Fatalf("got %v", err)
	}
	if b, _ := os.ReadFile(logPath); !bytes.Equal(b, bad) {
		t.Fatal("Open changed a damaged log it refused")
	}
}

// A crash after the segment file was written but before its record was
// appended: Open deletes the orphan, and the camera's resend is stored.
func TestSegmentWithoutRecord(t *testing.T) {
	dir := t.TempDir()
	cam := newCamera(t, 0)
	s := openStore(t, dir, Options{})
	c := mustChain(t, s, cam)
	appendN(t, c, cam, 2, 300)
	s.Close()
	seg := filepath.Join(chainDir(dir, cam), "seg")
	os.WriteFile(filepath.Join(seg, layout.SegName(2)), []byte("half a segment"), 0o644)
	os.WriteFile(filepath.Join(seg, ".tmp-"+layout.SegName(3)+"-123"), []byte("torn"), 0o644)
	os.WriteFile(filepath.Join(chainDir(dir, cam), ".tmp-acked-456"), []byte("torn"), 0o644)

	s = openStore(t, dir, Options{})
	c = mustChain(t, s, cam)
	if c.Len() != 2 || c.Stored() != 600 {
		t.Fatalf("len %d stored %d", c.Len(), c.Stored())
	}
	entries, _ := os.ReadDir(seg)
	if len(entries) != 2 {
		t.Fatalf("seg/ holds %d files after Open, want the 2 with records", len(entries))
	}
	if _, err := os.Stat(filepath.Join(chainDir(dir, cam), ".tmp-acked-456")); err == nil {
		t.Fatal("a torn temporary file in the chain directory was kept")
	}
	data := segment(2, 333)
	if err := c.Append(cam.next(t, data), data); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Segment(2); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("segment 2 after re-append: %v", err)
	}
	verifyChain(t, c)
}

// Append checks the record and the data before it writes anything.
func TestAppendRefusesAndStoresNothing(t *testing.T) {
	dir := t.TempDir()
	cam := newCamera(t, 4)
	other := newCamera(t, 4)
	s := openStore(t, dir, Options{})
	c := mustChain(t, s, cam)
	appendN(t, c, cam, 2, 400)

	good := segment(2, 400)
	sign := func(r *feedchain.Record) *feedchain.Record {
		if err := r.Sign(cam.k); err != nil {
			t.Fatal(err)
		}
		return r
	}
	link := func(field string) func(error) bool {
		return func(err error) bool {
			var le *feedchain.LinkError
			return errors.As(err, &le) && le.Field == field
		}
	}
	segErr := func(field string) func(error) bool {
		return func(err error) bool {
			var se *feedchain.SegmentError
			return errors.As(err, &se) && se.Field == field
		}
	}
	for _, tc := range []struct {
		name string
		rec  func() *feedchain.Record
		data []byte
		want func(error) bool
	}{
		{"signed by another key", func() *feedchain.Record {
			r := cam.unsigned(good)
			r.Sig, _ = other.k.SignDigest(r.Hash())
			return r
		}, good, func(err error) bool { return errors.Is(err, feedchain.ErrBadSignature) }},
		{"field changed after signing", func() *feedchain.Record {
			r := sign(cam.unsigned(good))
			r.Duration++
			return r
		}, good, func(err error) bool { return errors.Is(err, feedchain.ErrBadSignature) }},
		{"wrong prev", func() *feedchain.Record {
			r := cam.unsigned(good)
			r.Prev[0] ^= 1
			return sign(r)
		}, good, link("prev")},
		{"skips a seq", func() *feedchain.Record {
			r := cam.unsigned(good)
			r.Seq++
			return sign(r)
		}, good, link("seq")},
		{"repeats the head", func() *feedchain.Record {
			r, _ := c.Record(1)
			return r
		}, segment(1, 400), link("seq")},
		{"another camera", func() *feedchain.Record {
			r := other.unsigned(good)
			r.Seq, r.Prev = 2, cam.head.Hash
			r.Sign(other.k)
			return r
		}, good, link("camera")},
		{"another epoch", func() *feedchain.Record {
			r := cam.unsigned(good)
			r.Epoch = 5
			return sign(r)
		}, good, link("epoch")},
		{"modified data", func() *feedchain.Record { return sign(cam.unsigned(good)) },
			func() []byte { b := bytes.Clone(good); b[100] ^= 1; return b }(), segErr("sha256")},
		{"truncated data", func() *feedchain.Record { return sign(cam.unsigned(good)) }, good[:399], segErr("size")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tree(t, dir)
			err := c.Append(tc.rec(), tc.data)
			if err == nil || !tc.want(err) {
				t.Fatalf("got %v", err)
			}
			if after := tree(t, dir); !maps.Equal(before, after) {
				t.Fatal("a refused append changed files")
			}
			if c.Len() != 2 || c.Head() != cam.head {
				t.Fatalf("a refused append moved the head to %s", c.Head())
			}
		})
	}
	if err := c.Append(sign(cam.unsigned(good)), good); err != nil {
		t.Fatalf("the valid append after the refusals: %v", err)
	}
}

// Retention writes its mark before deleting: a crash in between leaves
// files below the mark, which Open finishes deleting.
func TestPruneInterruptedBeforeDeleting(t *testing.T) {
	dir := t.TempDir()
	cam := newCamera(t, 0)
	s := openStore(t, dir, Options{})
	appendN(t, mustChain(t, s, cam), cam, 4, 100)
	s.Close()
	os.WriteFile(filepath.Join(chainDir(dir, cam), layout.PrunedName), layout.EncodePruned(2), 0o644)

	s = openStore(t, dir, Options{})
	c := mustChain(t, s, cam)
	for seq, pruned := range []bool{true, true, false, false} {
		info, _ := c.Info(uint64(seq))
		_, statErr := os.Stat(filepath.Join(chainDir(dir, cam), "seg", layout.SegName(uint64(seq))))
		if info.Pruned != pruned || (statErr == nil) == pruned {
			t.Fatalf("segment %d: pruned %v, file present %v", seq, info.Pruned, statErr == nil)
		}
	}
	if c.Stored() != 200 {
		t.Fatalf("stored %d", c.Stored())
	}
}

// A segment that vanished without retention is reported as lost, loudly.
func TestMissingSegmentIsReported(t *testing.T) {
	dir := t.TempDir()
	cam := newCamera(t, 0)
	s := openStore(t, dir, Options{})
	appendN(t, mustChain(t, s, cam), cam, 3, 100)
	s.Close()
	os.Remove(filepath.Join(chainDir(dir, cam), "seg", layout.SegName(1)))

	var lb logBuffer
	s = openStore(t, dir, Options{Logger: lb.logger()})
	c := mustChain(t, s, cam)
	if info, _ := c.Info(1); !info.Missing || info.Pruned {
		t.Fatalf("Info(1) = %+v", info)
	}
	if _, err := c.Segment(1); !errors.Is(err, ErrMissing) {
		t.Fatalf("Segment(1): %v", err)
	}
	if c.Stored() != 200 {
		t.Fatalf("stored %d", c.Stored())
	}
	if !strings.Contains(lb.String(), "level=ERROR") || !strings.Contains(lb.String(), "lost") {
		t.Fatalf("no error logged:\n%s", lb.String())
	}
}

// A segment file changed on disk is not served.
func TestSegmentChangedOnDisk(t *testing.T) {
	dir := t.TempDir()
	cam := newCamera(t, 0)
	s := openStore(t, dir, Options{})
	c := mustChain(t, s, cam)
	appendN(t, c, cam, 1, 100)
	p := filepath.Join(chainDir(dir, cam), "seg", layout.SegName(0))
	b, _ := os.ReadFile(p)
	b[0] ^= 1
	os.WriteFile(p, b, 0o644)
	if _, err := c.Segment(0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v", err)
	}
}

// An entry is u32be length, the record, u32be CRC-32C of the record.
func TestEntryLayout(t *testing.T) {
	rec := []byte("abc")
	e := layout.AppendEntry(nil, rec)
	want := append([]byte{0, 0, 0, 3, 'a', 'b', 'c'}, binary.BigEndian.AppendUint32(nil, crc32.Checksum(rec, crc32.MakeTable(crc32.Castagnoli)))...)
	if !bytes.Equal(e, want) {
		t.Fatalf("entry %x, want %x", e, want)
	}
}
