package agent

import (
	"runtime"
	"testing"
)

func TestProcsFor(t *testing.T) {
	for _, c := range []struct{ cameras, requested, ncpu, want int }{
		{1, 0, 2, 1},  // the single --source case: one processor
		{4, 0, 8, 1},  // four cameras share one
		{5, 0, 8, 2},  // the fifth gets a second
		{40, 0, 8, 8}, // never more than the machine has
		{0, 0, 8, 1},  // at least one
		{1, 3, 8, 3},  // --procs wins
		{1, 16, 8, 8}, // capped at the cores too
		{9, -1, 1, 1}, // a negative --procs is the default
	} {
		if got := procsFor(c.cameras, c.requested, c.ncpu); got != c.want {
			t.Errorf("procsFor(%d cameras, --procs %d, %d cores) = %d, want %d", c.cameras, c.requested, c.ncpu, got, c.want)
		}
	}
}

// TestSetProcs: the runtime is given procsFor's answer, and GOMAXPROCS in
// the environment is left alone.
func TestSetProcs(t *testing.T) {
	was := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(was) })
	runtime.GOMAXPROCS(2)

	t.Setenv("GOMAXPROCS", "2")
	setProcs(1, 0)
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Fatalf("with GOMAXPROCS=2 set, setProcs changed the runtime to %d processors", got)
	}
	t.Setenv("GOMAXPROCS", "")
	setProcs(1, 0)
	if got, want := runtime.GOMAXPROCS(0), procsFor(1, 0, runtime.NumCPU()); got != want || got != 1 {
		t.Fatalf("setProcs(1 camera): the runtime has %d processors, want %d (1)", got, want)
	}
}
