package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/objstore"
	"github.com/camchain/camchain/internal/store/layout"
	"github.com/camchain/camchain/internal/testutil/s3server"
)

// openBucket opens prefix in a real versitygw's bucket.
func openBucket(t *testing.T, srv *s3server.Server, prefix string) *objstore.Objstore {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := objstore.Open(ctx, srv.Config(prefix))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bucketHolds checks, on the server's own disk, that the bucket holds
// exactly the segments and records.log entries of recs below n, from seq
// from on (the segments below from pruned).
func bucketHolds(t *testing.T, srv *s3server.Server, prefix string, c *Chain, segs [][]byte, from uint64) {
	t.Helper()
	dir := prefix + "/" + layout.ObjChainDir(c.ID().Camera, c.ID().Epoch, c.ID().Stream)
	for seq := range c.Len() {
		r, err := c.Record(seq)
		if err != nil {
			t.Fatal(err)
		}
		rec, ok := srv.Object(layout.ObjRecName(dir, seq))
		if !ok || !bytes.Equal(rec, layout.AppendEntry(nil, r.Marshal())) {
			t.Fatalf("bucket: record %d missing or different (present %v)", seq, ok)
		}
		seg, ok := srv.Object(layout.ObjSegName(dir, seq))
		switch {
		case seq < from && ok:
			t.Fatalf("bucket: segment %d is below the pruned mark %d but still there", seq, from)
		case seq >= from && (!ok || !bytes.Equal(seg, segs[seq])):
			t.Fatalf("bucket: segment %d missing or different (present %v)", seq, ok)
		}
	}
}

func TestObjectsOnly(t *testing.T) {
	srv := s3server.Start(t, "recordings")
	b := openBucket(t, srv, "hub1")
	dir := t.TempDir()
	now := t0.Add(time.Hour)
	opts := Options{Objects: b, ObjectsOnly: true, Clock: func() time.Time { return now }}
	s := openStore(t, dir, opts)
	cam := newCamera(t, 1)
	c := mustChain(t, s, cam)
	_, segs := appendN(t, c, cam, 20, 3000)
	verifyChain(t, c)

	if fmt, ok := srv.Object("hub1/" + layout.FormatName); !ok || string(fmt) != layout.ObjFormatLine {
		t.Fatalf("bucket FORMAT = %q, %v", fmt, ok)
	}
	bucketHolds(t, srv, "hub1", c, segs, 0)
	if files, _ := os.ReadDir(filepath.Join(dir, layout.ChainDir(cam.addr(), 1, 0), layout.SegDirName)); len(files) != 0 {
		t.Fatalf("objects only, yet the disk holds %d segment files", len(files))
	}
	if got := s.Stored(); got != 20*3000 {
		t.Fatalf("Stored = %d, want %d", got, 20*3000)
	}
	for seq := range uint64(20) {
		data, err := c.Segment(seq)
		if err != nil || !bytes.Equal(data, segs[seq]) {
			t.Fatalf("Segment(%d) from the bucket: %v", seq, err)
		}
	}

	// Retention deletes in the bucket, behind a pruned mark there.
	res, err := c.PruneOlder(t0.Add(20*time.Second+time.Minute), time.Minute, c.Len(), func(si SegmentInfo) bool { return si.Seq == 6 })
	if err != nil || res.Deleted != 6 {
		t.Fatalf("PruneOlder: %+v, %v (want 6 deleted: seq 6 is held)", res, err)
	}
	bucketHolds(t, srv, "hub1", c, segs, 6)
	mark, _ := srv.Object("hub1/" + layout.ObjChainDir(cam.addr(), 1, 0) + "/" + layout.PrunedName)
	if string(mark) != string(layout.EncodePruned(6)) {
		t.Fatalf("bucket pruned mark = %q", mark)
	}
	if _, err := c.Segment(3); !errors.Is(err, ErrPruned) {
		t.Fatalf("Segment(3) after pruning: %v, want ErrPruned", err)
	}

	// Reopened, the store finds the segments in the bucket; one deleted
	// behind its back is missing, not pruned.
	s.Close()
	dirName := "hub1/" + layout.ObjChainDir(cam.addr(), 1, 0)
	raw := openBucket(t, srv, "") // the whole bucket, to plant objects
	b2put := func(data []byte, name string) error { return raw.Put(context.Background(), name, data) }
	if err := os.Remove(filepath.Join(srv.Root, srv.Bucket, filepath.FromSlash(layout.ObjSegName(dirName, 9)))); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir, opts)
	c = mustChain(t, s, cam)
	if data, err := c.Segment(10); err != nil || !bytes.Equal(data, segs[10]) {
		t.Fatalf("Segment(10) after reopening: %v", err)
	}
	if si, _ := c.Info(9); !si.Missing {
		t.Fatalf("segment 9 deleted from the bucket: Info %+v, want Missing", si)
	}
	if si, _ := c.Info(10); si.Missing || si.Pruned {
		t.Fatalf("segment 10: Info %+v", si)
	}
	if got := s.Stored(); got != 13*3000 {
		t.Fatalf("Stored after reopen = %d, want %d", got, 13*3000)
	}

	// A crash after the bucket took record 20 and its segment but before
	// the local log did: the next Open deletes both objects (never
	// acknowledged; the camera sends them again).
	data := segment(20, 3000)
	r := cam.next(t, data)
	for name, b := range map[string][]byte{layout.ObjSegName(dirName, 20): data, layout.ObjRecName(dirName, 20): layout.AppendEntry(nil, r.Marshal())} {
		if err := b2put(b, name); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s = openStore(t, dir, opts)
	c = mustChain(t, s, cam)
	for _, name := range []string{layout.ObjSegName(dirName, 20), layout.ObjRecName(dirName, 20)} {
		if _, ok := srv.Object(name); ok {
			t.Fatalf("%s beyond the head survived Open", name)
		}
	}
	if err := c.Append(r, data); err != nil {
		t.Fatalf("the camera sending record 20 again: %v", err)
	}
}

func TestObjectsBesideDisk(t *testing.T) {
	srv := s3server.Start(t, "recordings")
	b := openBucket(t, srv, "p")
	dir := t.TempDir()
	s := openStore(t, dir, Options{Objects: b})
	cam := newCamera(t, 0)
	c := mustChain(t, s, cam)
	_, segs := appendN(t, c, cam, 5, 1000)
	bucketHolds(t, srv, "p", c, segs, 0)
	local := filepath.Join(dir, layout.ChainDir(cam.addr(), 0, 0), layout.SegDirName, layout.SegName(2))
	if got, err := os.ReadFile(local); err != nil || !bytes.Equal(got, segs[2]) {
		t.Fatalf("disk copy of segment 2: %v", err)
	}
	// A file lost from the disk is read from the bucket.
	if err := os.Remove(local); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Segment(2); err != nil || !bytes.Equal(got, segs[2]) {
		t.Fatalf("Segment(2) with the disk copy gone: %v", err)
	}
	// Also after reopening: the bucket's copy keeps it from being missing.
	s.Close()
	s = openStore(t, dir, Options{Objects: b})
	c = mustChain(t, s, cam)
	if si, _ := c.Info(2); si.Missing {
		t.Fatal("segment 2, gone from the disk but in the bucket, is missing after reopening")
	}
	if got, err := c.Segment(2); err != nil || !bytes.Equal(got, segs[2]) {
		t.Fatalf("Segment(2) after reopening with the disk copy gone: %v", err)
	}
	// A damaged disk copy is damage (the bucket is a copy, not an oracle).
	if err := os.WriteFile(filepath.Join(dir, layout.ChainDir(cam.addr(), 0, 0), layout.SegDirName, layout.SegName(3)), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, damage, err := c.SegmentAsStored(3); err != nil || damage == nil {
		t.Fatalf("SegmentAsStored(3) damaged: damage %v, err %v", damage, err)
	}
}

// The object store unreachable: Append stores nothing and says
// ErrUnavailable; once it is back, the same record goes in.
func TestObjectsUnavailable(t *testing.T) {
	srv := s3server.Start(t, "recordings")
	b := openBucket(t, srv, "p")
	for _, only := range []bool{true, false} {
		dir := t.TempDir()
		s := openStore(t, dir, Options{Objects: b, ObjectsOnly: only})
		cam := newCamera(t, 0)
		c := mustChain(t, s, cam)
		_, segs := appendN(t, c, cam, 3, 1000)
		srv.Stop()
		data := segment(3, 1000)
		r := cam.next(t, data)
		start := time.Now()
		err := c.Append(r, data)
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("objects only %v: Append with the store down: %v, want ErrUnavailable", only, err)
		}
		if d := time.Since(start); d > objstore.OpTimeout+5*time.Second {
			t.Fatalf("Append took %v with the store down", d)
		}
		if c.Len() != 3 {
			t.Fatalf("Len = %d after a failed append", c.Len())
		}
		if _, err := os.Stat(filepath.Join(dir, layout.ChainDir(cam.addr(), 0, 0), layout.SegDirName, layout.SegName(3))); err == nil {
			t.Fatal("a failed append left its segment file")
		}
		srv.Run(t)
		if err := c.Append(r, data); err != nil {
			t.Fatalf("Append after the store returned: %v", err)
		}
		bucketHolds(t, srv, "p", c, append(segs, data), 0)
		s.Close()
	}
}

// A prefix that holds something else is refused.
func TestObjectsForeignPrefix(t *testing.T) {
	srv := s3server.Start(t, "recordings")
	b := openBucket(t, srv, "other")
	if err := b.Put(context.Background(), "notes.txt", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.TempDir(), Options{Objects: b}); !errors.Is(err, ErrFormat) {
		t.Fatalf("Open on a foreign prefix: %v, want ErrFormat", err)
	}
}
