package main

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// The sampler reports a live process's peak, a restart starts a new one,
// and a process that is gone is an error, not a peak of 0.
func TestRSSSampler(t *testing.T) {
	s := sampleRSS(os.Getpid())
	time.Sleep(2 * agentSample)
	if p := s.restart(); p <= 0 {
		t.Fatalf("peak before the restart %v MB", p)
	}
	time.Sleep(2 * agentSample)
	if p, err := s.end(); err != nil || p <= 0 {
		t.Fatalf("end: %v MB, %v", p, err)
	}
	if _, err := s.end(); err != nil {
		t.Fatalf("a second end: %v", err)
	}

	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	gone := sampleRSS(cmd.Process.Pid)
	time.Sleep(agentSample)
	if _, err := gone.end(); err == nil {
		t.Fatal("sampling a process that has exited reported no error")
	}
}
