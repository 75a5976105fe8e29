package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/store"
)

// Cameras per hub: simulated cameras streaming to one hub that stores
// everything, all in this process, over real TLS on loopback.
const (
	camCount         = 100
	camSegmentBytes  = 1_000_000       // one segment per period: 4 Mbit/s
	camSegmentPeriod = 2 * time.Second // a segment's duration, as a camera records them
	camRunFor        = 24 * time.Second
	camGrace         = 5 * time.Second // after the last segment is made, for its acknowledgement
	camConnectWithin = 30 * time.Second
)

// simCamera is one simulated camera: keys, its chain in memory and its
// link client.
type simCamera struct {
	key    *keys.PrivateKey
	id     *link.Identity
	chain  *camChain
	alarms *countAlarms
	notify chan struct{}

	connected    atomic.Bool
	connects     atomic.Int64
	disconnected atomic.Int64
	lastErr      atomic.Pointer[string]
}

func benchCameras(ctx context.Context, o *options) ([]Row, error) {
	tmp, err := os.MkdirTemp("", "camchain-bench-cameras-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	hubKey, err := keys.Generate()
	if err != nil {
		return nil, err
	}
	hubID, err := link.NewIdentity()
	if err != nil {
		return nil, err
	}
	st, err := store.Open(filepath.Join(tmp, "store"), store.Options{})
	if err != nil {
		return nil, err
	}
	defer st.Close()

	cams := make([]*simCamera, camCount)
	backend := &benchBackend{pins: map[keys.Address]link.Pin{}, chain: func(cam keys.Address, epoch uint64) (link.ServerChain, error) {
		c, err := st.Chain(cam, epoch)
		if err != nil {
			return nil, err
		}
		return c, nil
	}}
	for i := range cams {
		c := &simCamera{alarms: &countAlarms{}, notify: make(chan struct{}, 1)}
		if c.key, err = keys.Generate(); err != nil {
			return nil, err
		}
		if c.id, err = link.NewIdentity(); err != nil {
			return nil, err
		}
		c.chain = newCamChain(c.key, 0)
		backend.pins[c.key.Address()] = c.id.Pin
		cams[i] = c
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &link.Server{Identity: hubID, Key: hubKey, Backend: backend}
	go srv.Serve(ln)
	defer srv.Close()

	runCtx, stopClients := context.WithCancel(ctx)
	var clients sync.WaitGroup
	defer func() { stopClients(); clients.Wait() }()
	for _, c := range cams {
		cl := &link.Client{Addr: ln.Addr().String(), Identity: c.id, HubPin: hubID.Pin, Hub: hubKey.Address(),
			Key: c.key, Chain: c.chain, Alarms: c.alarms, Notify: c.notify,
			OnState: func(s string, err error) {
				if s == "connected" {
					c.connects.Add(1)
					c.connected.Store(true)
					return
				}
				c.connected.Store(false)
				c.disconnected.Add(1)
				msg := s + ": " + fmt.Sprint(err)
				c.lastErr.Store(&msg)
			}}
		clients.Add(1)
		go func() { defer clients.Done(); cl.Run(runCtx) }()
	}
	o.Progress.Printf("   %d cameras connecting to one hub (store in %s)", camCount, tmp)
	if err := waitUntil(ctx, camConnectWithin, func() bool {
		for _, c := range cams {
			if !c.connected.Load() {
				return false
			}
		}
		return true
	}); err != nil {
		return nil, fmt.Errorf("cameras connected: %d of %d: %w", countIf(cams, func(c *simCamera) bool { return c.connected.Load() }), camCount, err)
	}

	// Each camera makes one segment per period from t0 until end, the
	// cameras' phases spread evenly over the period as independent cameras'
	// would be.
	o.Progress.Printf("   all connected; each camera makes a %d-byte segment every %s for %s", camSegmentBytes, camSegmentPeriod, camRunFor)
	stalls := watchStalls()
	t0 := time.Now()
	end := t0.Add(camRunFor)
	cpu0, err := processCPU()
	if err != nil {
		return nil, err
	}
	var made, genErrs atomic.Int64
	var producers sync.WaitGroup
	for i, c := range cams {
		producers.Add(1)
		go func() {
			defer producers.Done()
			var seed [32]byte
			binary.BigEndian.PutUint64(seed[:], uint64(i))
			rng := rand.NewChaCha8(seed)
			for at := t0.Add(time.Duration(i) * camSegmentPeriod / camCount); at.Before(end); at = at.Add(camSegmentPeriod) {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(at)):
				}
				data := make([]byte, camSegmentBytes)
				rng.Read(data)
				if err := c.chain.add(data, time.Now(), camSegmentPeriod); err != nil {
					genErrs.Add(1)
					return
				}
				made.Add(1)
				select {
				case c.notify <- struct{}{}:
				default:
				}
			}
		}()
	}
	stop := sync.OnceFunc(o.Progress.Every(2*time.Second, func() string {
		var acked, backlog, maxBacklog int64
		for _, c := range cams {
			b := c.backlog()
			acked += c.chain.ackedCount()
			backlog += b
			maxBacklog = max(maxBacklog, b)
		}
		return fmt.Sprintf("%d segments made, %d acknowledged; unacknowledged: %d in all, at most %d on one camera; %d cameras connected",
			made.Load(), acked, backlog, maxBacklog, countIf(cams, func(c *simCamera) bool { return c.connected.Load() }))
	}))
	defer stop()
	producers.Wait()
	lastMade := time.Now()
	cpu1, err := processCPU()
	if err != nil {
		return nil, err
	}
	cpuPct := float64(cpu1-cpu0) / float64(lastMade.Sub(t0)) * 100
	allAcked := func() bool {
		for _, c := range cams {
			if c.backlog() > 0 {
				return false
			}
		}
		return true
	}
	drainErr := waitUntil(ctx, camGrace, allAcked)
	stop()
	stall := stalls()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if genErrs.Load() > 0 {
		return nil, errors.New("a simulated camera failed to sign a segment")
	}
	drained := time.Since(lastMade)
	stopClients()
	clients.Wait()

	// Judge each camera: every segment acknowledged to the camera, and the
	// hub's store holding exactly the camera's chain.
	served := 0
	var problems []string
	var lat []time.Duration
	var madeBytes, ackedBytes int64
	reconnects, lastDisconnect := 0, ""
	for i, c := range cams {
		if p := c.check(st); p != "" {
			problems = append(problems, fmt.Sprintf("camera %d: %s", i, p))
		} else {
			served++
		}
		lat = append(lat, c.chain.ackLatencies(t0)...)
		madeBytes += c.chain.madeBytesBetween(t0, end)
		ackedBytes += c.chain.ackedBytesBetween(t0, end)
		reconnects += int(c.connects.Load() - 1)
		if p := c.lastErr.Load(); p != nil && lastDisconnect == "" {
			lastDisconnect = *p
		}
	}
	if a := backend.alarmList(); len(a) > 0 {
		problems = append(problems, fmt.Sprintf("hub alarms: %q", a))
		served = 0
	}
	for _, p := range problems[:min(len(problems), 5)] {
		o.Progress.Printf("   !! %s", p)
	}
	window := end.Sub(t0).Seconds()
	p99, p50, worst := percentile(lat, 99), percentile(lat, 50), percentile(lat, 100)
	status := fmt.Sprintf("all acknowledged %s after the last segment", drained.Round(time.Millisecond))
	if drainErr != nil {
		status = fmt.Sprintf("NOT all acknowledged %s after the last segment", camGrace)
	}
	setup := fmt.Sprintf("%d in-process cameras (own keys, TLS identities, chains in memory), one %d-byte segment every %s each for %s, "+
		"phases spread over the period; one link.Server, real store on disk (fsync per segment), real TLS 1.3 on loopback, "+
		"pins checked in memory (no ledger); cameras and hub share the machine's %d cores",
		camCount, camSegmentBytes, camSegmentPeriod, camRunFor, runtime.NumCPU())
	note := fmt.Sprintf("served = every segment acknowledged within %s of the last and the hub's store holding the camera's exact chain; %s; %d reconnects; "+
		"the bench process (hub and cameras) used %.0f %% of one core (of %d) while the cameras recorded; "+
		"its longest stall (a 10 ms sleep overrunning) was %s; %s",
		camGrace, status, reconnects, cpuPct, runtime.NumCPU(), stall.Round(time.Millisecond), setup)
	if lastDisconnect != "" {
		note += "; a disconnect: " + lastDisconnect
	}
	if len(problems) > 0 {
		note += fmt.Sprintf("; %d problems, first: %s", len(problems), problems[0])
	}
	return []Row{
		NewRow("hub.cameras", "cameras", float64(served), "hub.cameras.offered", camCount, AtLeast(100), note),
		NewRow("hub.cameras.throughput", "MB/s", float64(ackedBytes)/1e6/window, "hub.cameras.offered_throughput", float64(madeBytes)/1e6/window, nil,
			fmt.Sprintf("segment bytes acknowledged vs made during the %s window, all %d cameras", camRunFor, camCount)),
		NewRow("hub.cameras.ack_latency.p99", "ms", ms(p99), "camera.segment_period", ms(camSegmentPeriod), nil,
			fmt.Sprintf("segment made on the camera to its acknowledgement checked by the camera, %d segments; p50 %.1f ms, max %.1f ms", len(lat), ms(p50), ms(worst))),
	}, nil
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
