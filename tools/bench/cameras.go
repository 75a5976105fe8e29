package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/feedchain/feedchaintest"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/store"
)

// Cameras per hub: simulated 4 Mbit/s cameras (in this process, over real
// TLS on loopback) against one hub (a child process: link server and real
// store on disk), ramped up in steps until the hub no longer keeps up.
const (
	camStart         = 50              // cameras in the first step
	camStep          = 50              // cameras added at each step
	camMax           = 600             // the ramp stops here even if the hub keeps up
	camSegmentBytes  = 1_000_000       // one segment per period: 4 Mbit/s
	camSegmentPeriod = 2 * time.Second // a segment's duration, as a camera records them
	camStepFor       = 10 * time.Second
	camDiskWriters   = 64 // concurrent writers of the disk baseline
	camDiskFor       = 4 * time.Second
	// camAckBudget is the p99 acknowledgement latency a step may reach
	// and still keep up: one segment period, so that a camera's segment
	// is acknowledged before its next one is due.
	camAckBudget     = camSegmentPeriod
	camGrace         = camAckBudget // after a step's last segment, for its acknowledgement
	camConnectWithin = 30 * time.Second
	camPool          = 16 // distinct random segments the cameras send (hashed once)
)

// simCamera is one simulated camera: keys, its chain in memory and its
// link client.
type simCamera struct {
	key    *keys.PrivateKey
	id     *link.Identity
	chain  *feedchaintest.Chain
	alarms *countAlarms
	notify chan struct{}

	connected    atomic.Bool
	connects     atomic.Int64
	disconnected atomic.Int64
	lastErr      atomic.Pointer[string]
}

// camStepResult is what one step of the ramp measured.
type camStepResult struct {
	n             int
	keptUp        bool
	why           string // why it did not keep up
	p50, p99, max time.Duration
	segments      int
	hubCPU        float64 // hub process, % of one core
	camCPU        float64 // camera process, % of one core
	machineBusy   float64 // the whole machine, % of all cores (other programs included)
	appendMS      float64 // mean wall time of one store append (verify, SHA-256, write, fsync)
	appendBusy    float64 // store appends in progress at once, on average
	stall         time.Duration
}

func (r camStepResult) String() string {
	s := fmt.Sprintf("%d cameras: ack p50 %.0f ms, p99 %.0f ms, max %.0f ms over %d segments; hub CPU %.0f %% of a core, cameras %.0f %%, machine %.0f %% busy; "+
		"store append %.1f ms mean, %.1f in progress on average; longest stall %s",
		r.n, ms(r.p50), ms(r.p99), ms(r.max), r.segments, r.hubCPU, r.camCPU, r.machineBusy, r.appendMS, r.appendBusy, r.stall.Round(time.Millisecond))
	if !r.keptUp {
		s += "; DID NOT KEEP UP: " + r.why
	}
	return s
}

func benchCameras(ctx context.Context, o *options) ([]Row, error) {
	return runCamerasBench(ctx, o, camStart, camStep, camMax, camStepFor)
}

func runCamerasBench(ctx context.Context, o *options, start, step, maxCams int, stepFor time.Duration) ([]Row, error) {
	tmp, err := os.MkdirTemp("", "camchain-bench-cameras-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	o.Progress.Printf("   making %d camera identities", maxCams)
	cams, err := newSimCameras(maxCams)
	if err != nil {
		return nil, err
	}
	pool, poolHash := segmentPool(3)
	// The baseline: how many cameras' worth of segment files the disk
	// takes, written and fsynced one file per segment by many writers at
	// once, with nothing else (no TLS, no hashing, no record log).
	diskDir := filepath.Join(tmp, "disk")
	if err := os.Mkdir(diskDir, 0o755); err != nil {
		return nil, err
	}
	diskRate, err := diskStreams(ctx, diskDir, pool, camDiskWriters, min(camDiskFor, stepFor))
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(diskDir); err != nil {
		return nil, err
	}
	diskCams := diskRate / (camSegmentBytes / camSegmentPeriod.Seconds())
	o.Progress.Printf("   disk baseline: %d writers, write+fsync of %d-byte files: %.0f MB/s, %.0f cameras' worth", camDiskWriters, camSegmentBytes, diskRate/1e6, diskCams)
	pinsPath, storeDir := filepath.Join(tmp, "pins"), filepath.Join(tmp, "store")
	if err := writePins(pinsPath, cams); err != nil {
		return nil, err
	}
	hub, err := startLinkHub("cameras", camerasPinsEnv+"="+pinsPath, camerasStoreEnv+"="+storeDir)
	if err != nil {
		return nil, err
	}
	hubDone := false
	defer func() {
		if !hubDone {
			hub.kill()
		}
	}()

	runCtx, stopClients := context.WithCancel(ctx)
	var clients sync.WaitGroup
	defer func() { stopClients(); clients.Wait() }()
	connectCam := func(c *simCamera) {
		cl := &link.Client{Addr: hub.Addr, Identity: c.id, HubPin: hub.Pin, Hub: hub.Hub,
			Key: c.key, Chain: c.chain, Alarms: c.alarms, Notify: c.notify,
			OnState: func(s link.State, err error) {
				if s == link.StateConnected {
					c.connects.Add(1)
					c.connected.Store(true)
					return
				}
				c.connected.Store(false)
				c.disconnected.Add(1)
				msg := string(s) + ": " + fmt.Sprint(err)
				c.lastErr.Store(&msg)
			}}
		clients.Add(1)
		go func() { defer clients.Done(); cl.Run(runCtx) }()
	}

	var results []camStepResult
	live := 0
	for n := start; n <= maxCams; n += step {
		for _, c := range cams[live:n] {
			connectCam(c)
		}
		live = n
		if err := waitUntil(ctx, camConnectWithin, func() bool {
			return countIf(cams[:n], func(c *simCamera) bool { return c.connected.Load() }) == n
		}); err != nil {
			return nil, fmt.Errorf("cameras connected: %d of %d: %w", countIf(cams[:n], func(c *simCamera) bool { return c.connected.Load() }), n, err)
		}
		r, err := camerasStep(ctx, o, hub, cams[:n], pool, poolHash, stepFor)
		if err != nil {
			return nil, err
		}
		o.Progress.Printf("   %s", r)
		results = append(results, r)
		if !r.keptUp {
			break
		}
	}
	stopClients()
	clients.Wait()
	if _, err := hub.query("done", 1); err != nil {
		return nil, err
	}
	hubDone = true
	if err := hub.cmd.Wait(); err != nil {
		return nil, fmt.Errorf("child hub: %w; stderr: %s", err, hub.stderr.String())
	}

	// Every camera's chain is in the hub's store, exactly, up to what was
	// acknowledged to it.
	st, err := store.Open(storeDir, store.Options{})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	for i, c := range cams[:live] {
		if p := c.check(st); p != "" {
			return nil, fmt.Errorf("camera %d: %s", i, p)
		}
	}

	best := camStepResult{}
	for _, r := range results {
		if r.keptUp {
			best = r
		}
	}
	last := results[len(results)-1]
	bound := fmt.Sprintf("the ramp stopped at its cap of %d cameras, all kept up", maxCams)
	if !last.keptUp {
		bound = fmt.Sprintf("at %d cameras: %s", last.n, camBound(results[0], last))
	}
	var steps []string
	for _, r := range results {
		steps = append(steps, r.String())
	}
	setup := fmt.Sprintf("simulated cameras in this process (own keys, TLS identities, chains in memory), each sending a %d-byte segment every %s (4 Mbit/s), phases spread over the period; "+
		"one hub in a child process: link.Server and the real store on disk (verify signature, link and SHA-256, segment file and record log, fsync each), real TLS 1.3 on loopback, pins checked in memory (no ledger), the connection limits raised to the ramp's cap (all cameras come from one address); "+
		"ramp from %d cameras in steps of %d, %s per step; a step keeps up if every segment is acknowledged within %s of the step's end, the p99 acknowledgement latency is within %s, "+
		"and no camera disconnects or raises an alarm; afterwards every camera's chain is checked against the hub's store; cameras and hub share the machine's %d cores",
		camSegmentBytes, camSegmentPeriod, start, step, stepFor, camGrace, camAckBudget, runtime.NumCPU())
	return []Row{
		NewRow("hub.cameras", "cameras", float64(best.n), "disk.write_fsync.cameras", diskCams, AtLeast(300),
			fmt.Sprintf("the largest step that kept up; bound: %s; steps: %s; %s; baseline: %d writers at once each writing a %d-byte file and fsyncing it, for %s, "+
				"in cameras' worth (%.0f MB/s over %s per camera): the disk's own limit for one fsynced file per segment, before the store adds its record log and directory fsyncs",
				bound, strings.Join(steps, " | "), setup, camDiskWriters, camSegmentBytes, min(camDiskFor, stepFor), diskRate/1e6, formatNumber(camSegmentBytes/camSegmentPeriod.Seconds()/1e6)+" MB/s")),
		NewBudgetRow("hub.cameras.ack_latency.p99", "ms", ms(best.p99), "hub.cameras.ack_budget", ms(camAckBudget), nil,
			fmt.Sprintf("at %d cameras: segment made on the camera to its acknowledgement checked by the camera, %d segments; p50 %.1f ms, max %.1f ms; the budget is the keep-up criterion (one segment period)",
				best.n, best.segments, ms(best.p50), ms(best.max))),
	}, nil
}

// newSimCameras makes n simulated cameras: keys, TLS identities, empty
// chains in memory.
func newSimCameras(n int) ([]*simCamera, error) {
	cams := make([]*simCamera, n)
	for i := range cams {
		c := &simCamera{alarms: &countAlarms{}, notify: make(chan struct{}, 1)}
		var err error
		if c.key, err = keys.Generate(); err != nil {
			return nil, err
		}
		if c.id, err = link.NewIdentity(); err != nil {
			return nil, err
		}
		c.chain = &feedchaintest.Chain{Camera: c.key.Address(), DropSegments: true}
		cams[i] = c
	}
	return cams, nil
}

// segmentPool is camPool random segments (from seed) and their hashes,
// which the simulated cameras send in turn.
func segmentPool(seed byte) ([][]byte, []feedchain.Hash) {
	pool := make([][]byte, camPool)
	poolHash := make([]feedchain.Hash, camPool)
	rng := rand.NewChaCha8([32]byte{seed})
	for i := range pool {
		pool[i] = make([]byte, camSegmentBytes)
		rng.Read(pool[i])
		poolHash[i] = feedchain.SegmentHash(pool[i])
	}
	return pool, poolHash
}

// diskStreams writes the pool's segments as new files, each fsynced, from
// writers goroutines at once for d, and returns the bytes per second.
func diskStreams(ctx context.Context, dir string, pool [][]byte, writers int, d time.Duration) (float64, error) {
	var written atomic.Int64
	errs := make(chan error, writers)
	t0 := time.Now()
	end := t0.Add(d)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(end) && ctx.Err() == nil; i++ {
				data := pool[(w+i)%len(pool)]
				if err := writeSync(filepath.Join(dir, fmt.Sprintf("%03d-%06d.mp4", w, i)), data); err != nil {
					errs <- err
					return
				}
				written.Add(int64(len(data)))
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(written.Load()) / time.Since(t0).Seconds(), ctx.Err()
}

// camBound says what a step that did not keep up ran out of, judged
// against the first step: the hub's own CPU (the machine's other programs
// are not the hub's limit) or the store's appends (verify, write, fsync).
func camBound(first, r camStepResult) string {
	cores := float64(runtime.NumCPU()) * 100
	switch {
	case r.hubCPU+r.camCPU >= 0.8*cores:
		return fmt.Sprintf("CPU: hub %.0f %% and cameras %.0f %% of one core, of %.0f %%", r.hubCPU, r.camCPU, cores)
	case r.appendMS > 4*first.appendMS:
		return fmt.Sprintf("the disk: a store append (verify, SHA-256, segment file, directory and record log, each fsynced) took %.1f ms on average, %.1f at once, against %.1f ms with %d cameras, "+
			"while the hub process used %.0f %% of one core (of %.0f %%) and the machine was %.0f %% busy (other programs included)",
			r.appendMS, r.appendBusy, first.appendMS, first.n, r.hubCPU, cores, r.machineBusy)
	}
	return fmt.Sprintf("neither the hub's CPU (%.0f %% of one core) nor its store (append %.1f ms) saturated; the machine was %.0f %% busy (other programs included): %s",
		r.hubCPU, r.appendMS, r.machineBusy, r.why)
}

// camerasStep lets cams record for stepFor and judges whether the hub kept
// up.
func camerasStep(ctx context.Context, o *options, hub *linkHubProc, cams []*simCamera, pool [][]byte, poolHash []feedchain.Hash, stepFor time.Duration) (camStepResult, error) {
	r := camStepResult{n: len(cams), keptUp: true}
	n := len(cams)
	disc0 := make([]int64, n)
	for i, c := range cams {
		disc0[i] = c.disconnected.Load()
	}
	h0, err := hub.query("stats", 4)
	if err != nil {
		return r, err
	}
	busy0, err := machineCPU()
	if err != nil {
		return r, err
	}
	cam0, err := processCPU()
	if err != nil {
		return r, err
	}
	stalls := watchStalls()
	t0 := time.Now()
	end := t0.Add(stepFor)
	var producers sync.WaitGroup
	var genErrs atomic.Int64
	for i, c := range cams {
		producers.Add(1)
		go func() {
			defer producers.Done()
			k := i
			for at := t0.Add(time.Duration(i) * camSegmentPeriod / time.Duration(n)); at.Before(end); at = at.Add(camSegmentPeriod) {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(at)):
				}
				if _, err := c.chain.AddHashed(c.key, pool[k%len(pool)], poolHash[k%len(pool)], time.Now(), camSegmentPeriod); err != nil {
					genErrs.Add(1)
					return
				}
				k++
				select {
				case c.notify <- struct{}{}:
				default:
				}
			}
		}()
	}
	producers.Wait()
	wall := time.Since(t0)
	h1, err := hub.query("stats", 4)
	if err != nil {
		return r, err
	}
	busy1, err := machineCPU()
	if err != nil {
		return r, err
	}
	cam1, err := processCPU()
	if err != nil {
		return r, err
	}
	drainErr := waitUntil(ctx, camGrace, func() bool {
		for _, c := range cams {
			if c.backlog() > 0 {
				return false
			}
		}
		return true
	})
	r.stall = stalls()
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	if genErrs.Load() > 0 {
		return r, errors.New("a simulated camera failed to sign a segment")
	}
	var lat []time.Duration
	var backlog int64
	disconnects := 0
	for i, c := range cams {
		lat = append(lat, ackLatencies(c.chain.Stamps(), t0)...)
		backlog += c.backlog()
		disconnects += int(c.disconnected.Load() - disc0[i])
		if a := c.alarms.list(); len(a) > 0 {
			return r, fmt.Errorf("camera %d raised alarms: %q", i, a)
		}
	}
	r.segments = len(lat)
	r.p50, r.p99, r.max = percentile(lat, 50), percentile(lat, 99), percentile(lat, 100)
	var hs0, hs1 [3]int64
	for i := range 3 {
		fmt.Sscan(h0[i+1], &hs0[i])
		fmt.Sscan(h1[i+1], &hs1[i])
	}
	r.hubCPU = float64(hs1[0]-hs0[0]) / float64(wall) * 100
	r.camCPU = float64(cam1-cam0) / float64(wall) * 100
	r.machineBusy = busy1.busySince(busy0)
	if a := hs1[1] - hs0[1]; a > 0 {
		r.appendMS = float64(hs1[2]-hs0[2]) / float64(a) / 1e6
	}
	r.appendBusy = float64(hs1[2]-hs0[2]) / float64(wall)
	var why []string
	if drainErr != nil {
		why = append(why, fmt.Sprintf("%d segments not acknowledged %s after the step", backlog, camGrace))
	}
	if r.p99 > camAckBudget {
		why = append(why, fmt.Sprintf("p99 acknowledgement latency %.0f ms over the %.0f ms budget", ms(r.p99), ms(camAckBudget)))
	}
	if disconnects > 0 {
		why = append(why, fmt.Sprintf("%d disconnects", disconnects))
	}
	if len(why) > 0 {
		r.keptUp, r.why = false, strings.Join(why, "; ")
	}
	return r, nil
}

// cpuTimes are the machine's CPU times from /proc/stat, in clock ticks.
type cpuTimes struct{ busy, total int64 }

// busySince is the share of all cores busy between t0 and t, in %.
func (t cpuTimes) busySince(t0 cpuTimes) float64 {
	if t.total == t0.total {
		return 0
	}
	return float64(t.busy-t0.busy) / float64(t.total-t0.total) * 100
}

// machineCPU reads the first line of /proc/stat ("cpu user nice system
// idle iowait irq softirq steal ..."): busy is everything but idle and
// iowait.
func machineCPU() (cpuTimes, error) {
	var t cpuTimes
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return t, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return t, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	for i, v := range f[1:] {
		if i >= 8 { // guest times are already in user and nice
			break
		}
		var x int64
		if _, err := fmt.Sscan(v, &x); err != nil {
			return t, fmt.Errorf("/proc/stat: %q: %w", v, err)
		}
		t.total += x
		if i != 3 && i != 4 {
			t.busy += x
		}
	}
	return t, nil
}

// backlog is how many of the camera's records await acknowledgement.
func (c *simCamera) backlog() int64 {
	h, a := c.chain.Head(), c.chain.Acked()
	switch {
	case !h.Valid:
		return 0
	case !a.Valid:
		return int64(h.Seq) + 1
	}
	return int64(h.Seq - a.Seq)
}

// check returns what is wrong with the camera's service, or "".
func (c *simCamera) check(st *store.Store) string {
	var p []string
	h, a := c.chain.Head(), c.chain.Acked()
	if !h.Valid {
		return "made no segment"
	}
	if a != h {
		p = append(p, fmt.Sprintf("acknowledged up to %v of %v", a, h))
	}
	hub, err := st.Lookup(c.key.Address(), 0)
	if err != nil {
		return fmt.Sprintf("hub store: %v", err)
	}
	if hh := hub.Head(); hh != h {
		p = append(p, fmt.Sprintf("hub store head %v, camera head %v", hh, h))
	}
	for s := uint64(0); s <= h.Seq; s++ {
		mine, _ := c.chain.HashAt(s)
		if theirs, ok := hub.HashAt(s); !ok || theirs != mine {
			p = append(p, fmt.Sprintf("record #%d missing or different in the hub store", s))
			break
		}
	}
	if al := c.alarms.list(); len(al) > 0 {
		p = append(p, fmt.Sprintf("camera alarms %q", al))
	}
	return strings.Join(p, "; ")
}

// watchStalls measures how late a goroutine sleeping 10 ms at a time
// wakes up, until the returned function is called; that returns the worst
// lateness. A long one means the whole process was held up (by the machine,
// another process or the Go runtime), and every latency measured meanwhile
// carries it.
func watchStalls() (stop func() time.Duration) {
	const nap = 10 * time.Millisecond
	done := make(chan struct{})
	worst := make(chan time.Duration, 1)
	go func() {
		var w time.Duration
		for {
			t := time.Now()
			select {
			case <-done:
				worst <- w
				return
			case <-time.After(nap):
			}
			w = max(w, time.Since(t)-nap)
		}
	}()
	return func() time.Duration { close(done); return <-worst }
}

// processCPU returns the user+system CPU time this process has used.
func processCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// waitUntil polls cond every 10 ms until it holds, within d.
func waitUntil(ctx context.Context, d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

func countIf[T any](xs []T, f func(T) bool) int {
	n := 0
	for _, x := range xs {
		if f(x) {
			n++
		}
	}
	return n
}
