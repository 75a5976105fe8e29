//go:build camchain_cpuprofile

package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// A profiling build (go build -tags camchain_cpuprofile), never a release
// one: CAMCHAIN_CPUPROFILE=FILE writes a CPU profile of the agent to FILE
// over CAMCHAIN_CPUPROFILE_SECONDS (default 60) starting
// CAMCHAIN_CPUPROFILE_AFTER seconds (default 30) after start — a window of
// a running agent, such as the bench's ingest.agent_rtsp measurement
// (CAMCHAIN_BENCH_AGENT names the binary) — and beside it FILE.gc (GC
// cycles, bytes and objects allocated over the window, MemStats) and
// FILE.mem (runtime/metrics' memory classes at its end).
// CAMCHAIN_MEMPROFILE=1 also samples allocations (one per 4 KiB) and
// writes FILE.allocs and FILE.heap.
//
// The profiler's own buffers (about 1.4 MB of "profiling/buckets") count
// against the agent's soft memory limit, so the collector runs more often
// than in a release build: count GC cycles with GODEBUG=gctrace=1 on a
// release build instead.
func init() {
	path := os.Getenv("CAMCHAIN_CPUPROFILE")
	if path == "" {
		return
	}
	seconds := func(env string, def int) time.Duration {
		if n, err := strconv.Atoi(os.Getenv(env)); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
		return time.Duration(def) * time.Second
	}
	after, span := seconds("CAMCHAIN_CPUPROFILE_AFTER", 30), seconds("CAMCHAIN_CPUPROFILE_SECONDS", 60)
	if os.Getenv("CAMCHAIN_MEMPROFILE") != "" {
		go func() {
			time.Sleep(time.Millisecond)
			runtime.MemProfileRate = 4096 // after main set 0
		}()
	}
	go func() {
		time.Sleep(after)
		f, err := os.Create(path)
		if err != nil {
			return
		}
		defer f.Close()
		if pprof.StartCPUProfile(f) != nil {
			return
		}
		mem := os.Getenv("CAMCHAIN_MEMPROFILE") != ""
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		time.Sleep(span)
		pprof.StopCPUProfile()
		runtime.ReadMemStats(&m1)
		if mem {
			for _, name := range []string{"allocs", "heap"} {
				if w, err := os.Create(path + "." + name); err == nil {
					runtime.GC()
					pprof.Lookup(name).WriteTo(w, 0)
					w.Close()
				}
			}
		}
		var classes []metrics.Sample
		for _, d := range metrics.All() {
			if strings.HasPrefix(d.Name, "/memory/classes/") || strings.HasPrefix(d.Name, "/gc/heap/goal") || strings.HasPrefix(d.Name, "/gc/heap/live") {
				classes = append(classes, metrics.Sample{Name: d.Name})
			}
		}
		metrics.Read(classes)
		var mc []byte
		for _, c := range classes {
			if c.Value.Kind() == metrics.KindUint64 {
				mc = fmt.Appendf(mc, "%s %d\n", c.Name, c.Value.Uint64())
			}
		}
		os.WriteFile(path+".mem", mc, 0o644)
		os.WriteFile(path+".gc", fmt.Appendf(nil, "GCs %d, allocated %d MB in %v, %d objects; heap goal %d, heap sys %d, heap inuse %d, released %d, stack sys %d, gc sys %d, other %d, GC CPU fraction %.4f\n",
			m1.NumGC-m0.NumGC, (m1.TotalAlloc-m0.TotalAlloc)>>20, span, m1.Mallocs-m0.Mallocs, m1.NextGC, m1.HeapSys, m1.HeapInuse, m1.HeapReleased, m1.StackSys, m1.GCSys, m1.Sys-m1.HeapSys-m1.StackSys-m1.GCSys, m1.GCCPUFraction), 0o644)
	}()
}
