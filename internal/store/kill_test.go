package store

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/store/layout"
)

// killChildEnv makes the test binary an appender process for TestKill9.
const killChildEnv = "CAMCHAIN_STORE_KILL_CHILD_DIR"

// killCameraSeed fixes the appender's key, so every child run extends one
// chain.
const killCameraSeed = 0x42

// TestKill9 is the hub's durability guarantee: a process appending to the
// store is killed with SIGKILL at a random moment; after a reopen, every
// segment whose Append had returned is there, and the chain verifies.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cam := fixedCamera(t, killCameraSeed, 1)
	var acked uint64 // appends confirmed so far, over every round
	for round := range 6 {
		cmd := exec.Command(exe, "-test.run=^TestKillChild$", "-test.timeout=2m")
		cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill() })

		lines := make(chan string)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Let it append a random number of segments, then kill it at a
		// random moment within the next one.
		wantLines := 1 + rand.IntN(25)
		confirmed := map[uint64]bool{}
		var last uint64
		got := 0
		deadline := time.After(time.Minute)
	read:
		for got < wantLines {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("round %d: the child exited early", round)
				}
				if seq, ok := strings.CutPrefix(l, "appended "); ok {
					n, err := strconv.ParseUint(seq, 10, 64)
					if err != nil {
						t.Fatalf("child printed %q", l)
					}
					confirmed[n], last = true, n
					got++
				}
			case <-deadline:
				break read
			}
		}
		time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		for l := range lines { // what it confirmed before dying counts too
			if seq, ok := strings.CutPrefix(l, "appended "); ok {
				if n, err := strconv.ParseUint(seq, 10, 64); err == nil {
					confirmed[n], last = true, n
				}
			}
		}
		cmd.Wait()

		var lb logBuffer
		s, err := Open(dir, Options{Logger: lb.logger()})
		if err != nil {
			t.Fatalf("round %d: reopen after kill -9: %v", round, err)
		}
		c, err := s.Lookup(cam.addr(), cam.epoch)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if c.Len() <= last {
			t.Fatalf("round %d: the child confirmed #%d but the chain has %d records", round, last, c.Len())
		}
		for seq := range confirmed {
			if _, err := c.Segment(seq); err != nil {
				t.Fatalf("round %d: confirmed segment %d: %v", round, seq, err)
			}
		}
		verifyChain(t, c)
		if n := len(segFiles(t, dir, cam)); uint64(n) != c.Len() {
			t.Fatalf("round %d: %d segment files for %d records", round, n, c.Len())
		}
		repaired := "nothing to repair"
		if l := lb.String(); l != "" {
			repaired = "repaired: " + strings.TrimSpace(l)
		}
		t.Logf("round %d: killed after %d confirmed appends (last #%d); chain has %d records; %s", round, len(confirmed), last, c.Len(), repaired)
		acked += uint64(len(confirmed))
		s.Close()
	}
	if acked == 0 {
		t.Fatal("no append was ever confirmed")
	}
}

func segFiles(t *testing.T, dir string, cam *camera) []os.DirEntry {
	es, err := os.ReadDir(filepath.Join(chainDir(dir, cam), layout.SegDirName))
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestKillChild is the appender TestKill9 starts and kills; without the
// environment variable it does nothing.
func TestKillChild(t *testing.T) {
	dir := os.Getenv(killChildEnv)
	if dir == "" {
		t.Skip("run by TestKill9")
	}
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cam := fixedCamera(t, killCameraSeed, 1)
	c, err := s.Chain(cam.addr(), cam.epoch)
	if err != nil {
		t.Fatal(err)
	}
	cam.head = c.Head()
	stop := time.Now().Add(time.Minute) // the parent kills it long before
	for time.Now().Before(stop) {
		seq := cam.nextSeq()
		data := segment(seq, 1+rand.IntN(256<<10))
		r := cam.next(t, data)
		if err := c.Append(r, data); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(os.Stdout, "appended %d\n", seq) // os.Stdout is unbuffered
	}
}
