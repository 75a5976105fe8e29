package main

import (
	"context"
	"io"
	"testing"
	"time"
)

// TestVerifyBenchSmall runs the verify.throughput group on a small chain:
// the pipeline verifies every clip and the row is well formed.
func TestVerifyBenchSmall(t *testing.T) {
	o := &options{Progress: &progress{w: io.Discard, start: time.Now()}}
	rows, err := runVerifyBench(context.Background(), o, 10, 64<<10, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%d rows", len(rows))
	}
	r := rows[0]
	if r.Name != "verify.throughput" || r.Unit != "MB/s" || r.Value <= 0 || r.Baseline <= 0 || r.Target == nil || r.Pass == nil {
		t.Fatalf("row %+v", r)
	}
}
