package main

import (
	"context"
	"io"
	"os"
	"testing"
	"time"
)

// TestMain lets the test binary be the link benchmark's child hub, as the
// bench program is.
func TestMain(m *testing.M) {
	if os.Getenv(linkHubEnv) != "" {
		os.Exit(linkHubMain(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// TestLinkBenchSmall runs both sides of link.throughput on a few small
// segments: the child hubs receive every byte (the link's hub ending on the
// camera's head), and both report their CPU time.
func TestLinkBenchSmall(t *testing.T) {
	p, err := newLinkPeers()
	if err != nil {
		t.Fatal(err)
	}
	const n, size = 20, 64 << 10
	cam, frames, err := presignedFrames(p.camKey, n, size)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, run := range map[string]func() (float64, linkCPU, error){
		"link":  func() (float64, linkCPU, error) { return linkRun(ctx, p, cam.Unacked(), size) },
		"plain": func() (float64, linkCPU, error) { return plainTLSRun(ctx, p, frames, size) },
	} {
		rate, cpu, err := run()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rate <= 0 || cpu.bytes != n*size || cpu.hub <= 0 || cpu.cam <= 0 {
			t.Errorf("%s: rate %v, cpu %+v", name, rate, cpu)
		}
	}
}

// TestCamerasBenchSmall runs one short step of hub.cameras with a few
// cameras: they keep up, the hub's store holds their chains, and the rows
// are well formed.
func TestCamerasBenchSmall(t *testing.T) {
	o := &options{Progress: &progress{w: io.Discard, start: time.Now()}}
	rows, err := runCamerasBench(context.Background(), o, 4, 4, 4, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Name != "hub.cameras" || rows[0].Value != 4 || !rows[1].Budget || rows[1].Value <= 0 {
		t.Fatalf("rows %+v", rows)
	}
}
