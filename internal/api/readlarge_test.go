package api

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestReadLarge(t *testing.T) {
	for _, n := range []int{0, 1, 1<<20 - 1, 1 << 20, 1<<20 + 1, 3 << 20, 7<<20 + 12345} {
		want := make([]byte, n)
		rand.Read(want)
		// A reader that hands out odd-sized pieces, as a socket does.
		// Announced right, not at all, and too short: what is sent is
		// what is read.
		for _, length := range []int64{int64(n), 0, int64(n / 2)} {
			got, err := readLarge(io.MultiReader(bytes.NewReader(want[:n/3]), bytes.NewReader(want[n/3:])), length)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%d bytes, %d announced: got %d bytes, err %v", n, length, len(got), err)
			}
		}
	}
	// A body that ends before the length announced is broken, not short.
	if got, err := readLarge(bytes.NewReader(make([]byte, 5000)), 5010); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("5,000 bytes of 5,010 announced: got %d bytes, err %v", len(got), err)
	}
	boom := errors.New("connection reset")
	if _, err := readLarge(io.MultiReader(bytes.NewReader(make([]byte, 3<<20)), iotest.ErrReader(boom)), 0); !errors.Is(err, boom) {
		t.Fatalf("a read error midway: got %v, want %v", err, boom)
	}
	if _, err := readLarge(io.MultiReader(bytes.NewReader(make([]byte, 3<<20)), iotest.ErrReader(boom)), 4<<20); !errors.Is(err, boom) {
		t.Fatalf("a read error midway of an announced length: got %v, want %v", err, boom)
	}
}

// ReadLimited reads what is sent, up to the limit, whatever length was
// announced (right, none, too short, too long, over the limit).
func TestReadLimited(t *testing.T) {
	const limit = 4096
	for _, n := range []int{0, 1, 511, 512, 513, 4095, 4096, 4097, 10000} {
		src := make([]byte, n)
		rand.Read(src)
		want := src[:min(n, limit)]
		for _, size := range []int64{-1, 0, int64(n), int64(n / 2), int64(n) + 7, limit + 1} {
			got, err := ReadLimited(io.MultiReader(bytes.NewReader(src[:n/3]), iotest.OneByteReader(bytes.NewReader(src[n/3:]))), size, limit)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%d bytes, %d announced, limit %d: got %d bytes, err %v", n, size, limit, len(got), err)
			}
		}
	}
	boom := errors.New("connection reset")
	if _, err := ReadLimited(io.MultiReader(bytes.NewReader(make([]byte, 100)), iotest.ErrReader(boom)), 200, limit); !errors.Is(err, boom) {
		t.Fatalf("a read error midway: got %v, want %v", err, boom)
	}
}
