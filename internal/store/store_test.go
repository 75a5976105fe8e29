package store

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/store/layout"
)

func TestAppendReopenRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cam := newCamera(t, 3)
	s := openStore(t, dir, Options{})
	c := mustChain(t, s, cam)
	if c.Head().Valid || c.Len() != 0 {
		t.Fatalf("new chain: head %s, len %d", c.Head(), c.Len())
	}
	var recs []*feedchain.Record
	var segs [][]byte
	for i := range 5 {
		r, d := appendN(t, c, cam, 1, 1000+i*37)
		recs, segs = append(recs, r...), append(segs, d...)
	}
	check := func(c *Chain) {
		t.Helper()
		if c.Len() != 5 || c.Head() != cam.head {
			t.Fatalf("len %d head %s, want 5 and %s", c.Len(), c.Head(), cam.head)
		}
		var wantStored int64
		for i, r := range recs {
			seq := uint64(i)
			got, err := c.Record(seq)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Marshal(), r.Marshal()) {
				t.Fatalf("record %d differs", i)
			}
			data, err := c.Segment(seq)
			if err != nil || !bytes.Equal(data, segs[i]) {
				t.Fatalf("segment %d: %v", i, err)
			}
			info, ok := c.Info(seq)
			want := SegmentInfo{Seq: seq, Start: r.StartTime(), Duration: r.Duration, Size: r.Size, Hash: r.Hash()}
			if !ok || info != want {
				t.Fatalf("Info(%d) = %+v, want %+v", i, info, want)
			}
			wantStored += int64(len(segs[i]))
		}
		if c.Stored() != wantStored {
			t.Fatalf("Stored() = %d, want %d", c.Stored(), wantStored)
		}
		if _, err := c.Record(5); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Record(5): %v", err)
		}
		if _, err := c.Segment(5); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Segment(5): %v", err)
		}
		if _, ok := c.Info(5); ok {
			t.Fatal("Info(5) found")
		}
		var seen []uint64
		c.Range(1, 100, func(si SegmentInfo) bool { seen = append(seen, si.Seq); return si.Seq < 3 })
		if fmt.Sprint(seen) != "[1 2 3]" {
			t.Fatalf("Range(1, 100) stopped after 3 saw %v", seen)
		}
		verifyChain(t, c)
	}
	check(c)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Append(cam.next(t, segment(5, 10)), segment(5, 10)); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after Close: %v", err)
	}
	cam.head = feedchain.HeadOf(recs[4])

	// The layout is what doc.go promises.
	chainDir := filepath.Join(dir, hex.EncodeToString(cam.addr().Bytes()), "3")
	if b, _ := os.ReadFile(filepath.Join(dir, "FORMAT")); string(b) != "camchain-store 1\n" {
		t.Fatalf("FORMAT = %q", b)
	}
	log, _ := os.ReadFile(filepath.Join(chainDir, "records.log"))
	if !bytes.HasPrefix(log, []byte("CCRECLOG\x00\x00\x00\x01\x00\x00\x00\x00")) {
		t.Fatalf("records.log header %x", log[:16])
	}
	if b, _ := os.ReadFile(filepath.Join(chainDir, "seg", "0000000000000004.mp4")); !bytes.Equal(b, segs[4]) {
		t.Fatal("segment 4 is not at seg/0000000000000004.mp4")
	}

	s = openStore(t, dir, Options{})
	ids, err := s.Chains()
	if err != nil || len(ids) != 1 || ids[0] != (ChainRef{Camera: cam.addr(), Epoch: 3}) {
		t.Fatalf("Chains() = %v, %v", ids, err)
	}
	c = mustChain(t, s, cam)
	check(c)
	if s.Stored() != c.Stored() {
		t.Fatalf("store holds %d bytes, its one chain %d", s.Stored(), c.Stored())
	}
	appendN(t, c, cam, 1, 50) // appending continues after a reopen
	if c2, _ := s.Chain(cam.addr(), 3); c2 != c {
		t.Fatal("Chain returned a second *Chain for one ID")
	}
	if _, err := s.Lookup(cam.addr(), 4); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Lookup of a missing chain: %v", err)
	}
	if ids, _ := s.Chains(); len(ids) != 1 {
		t.Fatalf("Lookup created a chain: %v", ids)
	}
}

func TestOpenRefuses(t *testing.T) {
	t.Run("other FORMAT version", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "FORMAT"), []byte("camchain-store 2\n"), 0o644)
		_, err := Open(dir, Options{})
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "camchain-store 2") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("not a store", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
		_, err := Open(dir, Options{})
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "not a camchain store") {
			t.Fatalf("got %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "FORMAT")); err == nil {
			t.Fatal("wrote FORMAT into a foreign directory")
		}
	})
	t.Run("records log of another version", func(t *testing.T) {
		dir := t.TempDir()
		cam := newCamera(t, 1)
		s := openStore(t, dir, Options{})
		mustChain(t, s, cam)
		s.Close()
		p := filepath.Join(dir, hex.EncodeToString(cam.addr().Bytes()), "1", "records.log")
		os.WriteFile(p, []byte("CCRECLOG\x00\x00\x00\x02\x00\x00\x00\x00"), 0o644)
		s = openStore(t, dir, Options{})
		if _, err := s.Chain(cam.addr(), 1); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "version 2") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("negative limits", func(t *testing.T) {
		if _, err := Open(t.TempDir(), Options{MaxBytes: -1}); err == nil {
			t.Fatal("accepted MaxBytes -1")
		}
	})
}

func TestOpenCreatesTheDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "store")
	s := openStore(t, dir, Options{})
	cam := newCamera(t, 0)
	appendN(t, mustChain(t, s, cam), cam, 1, 10)
	if b, err := os.ReadFile(filepath.Join(dir, "FORMAT")); err != nil || string(b) != layout.FormatLine {
		t.Fatalf("FORMAT: %q, %v", b, err)
	}
}

func TestSecondOpenIsLocked(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	_, err := Open(dir, Options{})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	for _, want := range []string{dir, "another process"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	s.Close()
	s2, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}

func TestConcurrentCameras(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	const cameras, perCamera = 6, 15
	var wg sync.WaitGroup
	errs := make(chan error, cameras*2)
	chains := make([]*Chain, cameras)
	cams := make([]*camera, cameras)
	for i := range cameras {
		cams[i] = newCamera(t, uint64(i))
		// Each camera opens its chain from its own goroutine, as the hub's
		// link handlers do.
		wg.Go(func() {
			c, err := s.Chain(cams[i].addr(), cams[i].epoch)
			if err != nil {
				errs <- err
				return
			}
			chains[i] = c
			for range perCamera {
				data := segment(cams[i].nextSeq(), 2000+i)
				r := cams[i].unsigned(data)
				if err := r.Sign(cams[i].k); err != nil {
					errs <- err
					return
				}
				cams[i].head = feedchain.HeadOf(r)
				if err := c.Append(r, data); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	// Readers play back while the writers write.
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 3 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, id := range mustChains(t, s) {
					c, err := s.Lookup(id.Camera, id.Epoch)
					if err != nil {
						continue // not yet created
					}
					head := c.Head()
					c.Range(0, c.Len(), func(si SegmentInfo) bool {
						if _, err := c.Segment(si.Seq); err != nil {
							errs <- err
						}
						return true
					})
					if head.Valid {
						if _, err := c.Record(head.Seq); err != nil {
							errs <- err
						}
					}
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var total int64
	for i, c := range chains {
		if c.Len() != perCamera || c.Head() != cams[i].head {
			t.Fatalf("camera %d: len %d head %s", i, c.Len(), c.Head())
		}
		verifyChain(t, c)
		total += c.Stored()
	}
	if s.Stored() != total {
		t.Fatalf("store counts %d bytes, chains %d", s.Stored(), total)
	}
}

func mustChains(t *testing.T, s *Store) []ChainRef {
	ids, err := s.Chains()
	if err != nil {
		t.Error(err)
	}
	return ids
}

// A chain's records and segments survive even with a clock far in the
// future when retention is off.
func TestNoRetentionKeepsEverything(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{Clock: func() time.Time { return t0.AddDate(10, 0, 0) }})
	cam := newCamera(t, 0)
	c := mustChain(t, s, cam)
	appendN(t, c, cam, 3, 100)
	res, err := c.Prune(c.Len())
	if err != nil || res.Deleted != 0 {
		t.Fatalf("Prune without limits: %+v, %v", res, err)
	}
	if err := c.Reserve(1 << 40); err != nil {
		t.Fatalf("Reserve without limits: %v", err)
	}
}

// A segment file that no longer matches its record: Segment refuses it,
// SegmentAsStored returns its bytes as they are with the damage, so that
// playback can forward them and the viewer's check names them.
func TestSegmentAsStoredReturnsDamagedBytes(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	cam := newCamera(t, 0)
	c := mustChain(t, s, cam)
	_, segs := appendN(t, c, cam, 3, 4096)
	data, damage, err := c.SegmentAsStored(1)
	if err != nil || damage != nil || !bytes.Equal(data, segs[1]) {
		t.Fatalf("intact segment: %d bytes, damage %v, err %v", len(data), damage, err)
	}
	bad := bytes.Clone(segs[1])
	bad[100] ^= 1
	if err := os.WriteFile(c.segPath(1), bad, 0o600); err != nil {
		t.Fatal(err)
	}
	var ce *CorruptError
	if _, err := c.Segment(1); !errors.As(err, &ce) {
		t.Fatalf("Segment of a damaged file: %v, want a CorruptError", err)
	}
	data, damage, err = c.SegmentAsStored(1)
	if err != nil || !errors.As(damage, &ce) || !bytes.Equal(data, bad) {
		t.Fatalf("damaged segment: %d bytes (want the damaged %d), damage %v, err %v", len(data), len(bad), damage, err)
	}
	if err := os.Remove(c.segPath(2)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.SegmentAsStored(2); !errors.Is(err, ErrMissing) {
		t.Fatalf("a deleted segment: %v, want ErrMissing", err)
	}
}
