package store

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/store/layout"
)

var update = flag.Bool("update", false, "rewrite testdata/fuzz/FuzzOpenLog")

// The fuzz chain: a fixed key, so the seeds are reproducible bytes.
const (
	fuzzCameraSeed = 0x07
	fuzzEpoch      = 5
)

// fuzzSeeds are the committed seed corpus of FuzzOpenLog: a valid
// 3-record log, the same log torn inside its last entry, and garbage
// after a valid header.
func fuzzSeeds(t testing.TB) map[string][]byte {
	cam := fixedCamera(t, fuzzCameraSeed, fuzzEpoch)
	valid := layout.LogHeader()
	for i := range 3 {
		r := cam.next(t, segment(uint64(i), 64))
		valid = append(valid, layout.AppendEntry(nil, r.Marshal())...)
	}
	garbage := append(layout.LogHeader(), bytes.Repeat([]byte("\x00\x00\x00\xcaCCRECLOG\xff"), 30)...)
	return map[string][]byte{
		"valid-3-records": valid,
		"torn-last-entry": valid[:len(valid)-37],
		"garbage":         garbage,
	}
}

func fuzzCorpusFile(b []byte) []byte { return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b) }

// TestFuzzSeeds keeps testdata/fuzz/FuzzOpenLog equal to fuzzSeeds
// (regenerate with -update).
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzOpenLog")
	for name, b := range fuzzSeeds(t) {
		p := filepath.Join(dir, name)
		if *update {
			os.MkdirAll(dir, 0o755)
			if err := os.WriteFile(p, fuzzCorpusFile(b), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, fuzzCorpusFile(b)) {
			t.Errorf("%s differs from what fuzzSeeds generates; run go test ./internal/store -run TestFuzzSeeds -update", p)
		}
	}
	// What each seed is for.
	cam := fixedCamera(t, fuzzCameraSeed, fuzzEpoch)
	for name, want := range map[string]string{
		"valid-3-records": "3 records",
		"torn-last-entry": "2 records",
		"garbage":         "damaged",
	} {
		dir := t.TempDir()
		s := openStore(t, dir, Options{})
		os.MkdirAll(filepath.Join(chainDir(dir, cam), layout.SegDirName), 0o755)
		os.WriteFile(filepath.Join(chainDir(dir, cam), layout.LogName), fuzzSeeds(t)[name], 0o644)
		got := "damaged"
		if c, err := s.Chain(cam.addr(), cam.epoch); err == nil {
			got = fmt.Sprintf("%d records", c.Len())
		} else if !errors.Is(err, ErrCorrupt) {
			got = err.Error()
		}
		if got != want {
			t.Errorf("seed %s opens as %s, want %s", name, got, want)
		}
	}
}

// FuzzOpenLog: arbitrary bytes as a records.log. Open never panics; it
// either refuses the log (a format or damage error, leaving the file
// alone) or loads a prefix of it that verifies, cutting the file there.
func FuzzOpenLog(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	cam := fixedCamera(f, fuzzCameraSeed, fuzzEpoch)
	f.Fuzz(func(t *testing.T, log []byte) {
		dir := fuzzDir(t)
		cdir := chainDir(dir, cam)
		logPath := filepath.Join(cdir, layout.LogName)
		if err := os.MkdirAll(filepath.Join(cdir, layout.SegDirName), 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, layout.FormatName), []byte(layout.FormatLine), 0o644)
		os.WriteFile(logPath, log, 0o644)

		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		c, err := s.Chain(cam.addr(), cam.epoch)
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("refused with an unexpected error: %v", err)
			}
			if b, _ := os.ReadFile(logPath); !bytes.Equal(b, log) {
				t.Fatal("a refused log was changed")
			}
			return
		}
		kept, _ := os.ReadFile(logPath)
		if !bytes.HasPrefix(log, kept) || len(log)-len(kept) > layout.MaxEntrySize {
			t.Fatalf("Open kept %d of %d bytes, not a prefix within one entry of the end", len(kept), len(log))
		}
		var head feedchain.Head
		for seq := range c.Len() {
			r, err := c.Record(seq)
			if err != nil {
				t.Fatal(err)
			}
			if err := feedchain.Verify(r); err != nil {
				t.Fatal(err)
			}
			if err := feedchain.VerifyNext(cam.addr(), cam.epoch, head, r); err != nil {
				t.Fatal(err)
			}
			head = feedchain.HeadOf(r)
		}
		if c.Head() != head {
			t.Fatalf("head %s, records end at %s", c.Head(), head)
		}
		// What Open kept opens again unchanged.
		s.Close()
		s2, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		c2, err := s2.Chain(cam.addr(), cam.epoch)
		if err != nil || c2.Head() != head {
			t.Fatalf("reopen: %v, head %v want %s", err, c2, head)
		}
	})
}

// fuzzDir is a fresh directory, on tmpfs when there is one: fsync on a
// real disk makes each run take milliseconds, and the fuzzer's input
// minimization runs thousands of them.
func fuzzDir(t *testing.T) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "camchain-store-fuzz-*"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}
