package store

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// t0 is when the test cameras start recording.
var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// camera signs a chain of records the way an agent does.
type camera struct {
	k     *keys.PrivateKey
	epoch uint64
	head  feedchain.Head
	every time.Duration // segment duration and spacing
	// stream, when not main, makes version 2 records of that stream.
	stream feedchain.Stream
}

// newCamera makes a camera with a fresh key from crypto/rand.
func newCamera(t testing.TB, epoch uint64) *camera {
	t.Helper()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return &camera{k: k, epoch: epoch, every: 2 * time.Second}
}

// fixedCamera makes a camera with a key from seed, for reproducible bytes.
func fixedCamera(t testing.TB, seed byte, epoch uint64) *camera {
	t.Helper()
	k, err := keys.FromBytes(bytes.Repeat([]byte{seed}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return &camera{k: k, epoch: epoch, every: 2 * time.Second}
}

func (cam *camera) addr() keys.Address { return cam.k.Address() }

func (cam *camera) nextSeq() uint64 {
	if cam.head.Valid {
		return cam.head.Seq + 1
	}
	return 0
}

// unsigned builds the record for data after the camera's head without
// signing it or moving the head.
func (cam *camera) unsigned(data []byte) *feedchain.Record {
	seq := cam.nextSeq()
	r := &feedchain.Record{Camera: cam.addr(), Epoch: cam.epoch, Seq: seq, Segment: feedchain.SegmentHash(data),
		Start: t0.Add(time.Duration(seq) * cam.every).UnixNano(), Duration: cam.every,
		Size: uint64(len(data)), Codec: "avc1.4d401e"}
	if cam.stream != feedchain.StreamMain {
		r.Version, r.Stream, r.Clock = feedchain.Version2, cam.stream, feedchain.ClockRTCP
	}
	if cam.head.Valid {
		r.Prev = cam.head.Hash
	}
	return r
}

// next signs the record for data and moves the head past it.
func (cam *camera) next(t testing.TB, data []byte) *feedchain.Record {
	t.Helper()
	r := cam.unsigned(data)
	if err := r.Sign(cam.k); err != nil {
		t.Fatal(err)
	}
	cam.head = feedchain.HeadOf(r)
	return r
}

// segment returns n deterministic bytes for segment seq.
func segment(seq uint64, n int) []byte {
	b := make([]byte, n)
	x := uint32(seq)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// appendN appends n segments of size bytes from cam to c.
func appendN(t testing.TB, c *Chain, cam *camera, n, size int) ([]*feedchain.Record, [][]byte) {
	t.Helper()
	var recs []*feedchain.Record
	var segs [][]byte
	for range n {
		data := segment(cam.nextSeq(), size)
		r := cam.next(t, data)
		if err := c.Append(r, data); err != nil {
			t.Fatalf("append %d: %v", r.Seq, err)
		}
		recs = append(recs, r)
		segs = append(segs, data)
	}
	return recs, segs
}

func openStore(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustChain(t testing.TB, s *Store, cam *camera) *Chain {
	t.Helper()
	c, err := s.Chain(cam.addr(), cam.epoch)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// verifyChain checks what a store holds for a chain: every record signed
// and linked, every segment present or pruned matches its record.
func verifyChain(t testing.TB, c *Chain) {
	t.Helper()
	var head feedchain.Head
	for seq := range c.Len() {
		r, err := c.Record(seq)
		if err != nil {
			t.Fatal(err)
		}
		if err := feedchain.Verify(r); err != nil {
			t.Fatal(err)
		}
		if err := feedchain.VerifyNext(c.ID().Camera, c.ID().Epoch, head, r); err != nil {
			t.Fatal(err)
		}
		head = feedchain.HeadOf(r)
		if h, _ := c.HashAt(seq); h != head.Hash {
			t.Fatalf("HashAt(%d) differs from the record's hash", seq)
		}
		if _, err := c.Segment(seq); err != nil && !errors.Is(err, ErrPruned) {
			t.Fatalf("segment %d: %v", seq, err)
		}
	}
	if c.Head() != head {
		t.Fatalf("Head() = %s, records end at %s", c.Head(), head)
	}
}

// tree returns every file under dir with its content.
func tree(t testing.TB, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		m[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// logBuffer is a slog destination tests can read.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
