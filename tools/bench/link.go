package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/camchain/camchain/internal/feedchain/feedchaintest"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
)

// Link throughput: one camera streaming pre-signed segments to one hub.
const (
	linkSegments    = 400     // segments per run
	linkSegmentSize = 1 << 20 // bytes per segment
	linkWindow      = 8       // segments awaiting acknowledgement, both runs
	linkRuns        = 7       // runs of each; the median is reported (3 runs of ~1 s swung the ratio 0.76–0.99 on a loaded machine)
	linkRunTimeout  = time.Minute
)

// linkPeers are the keys and TLS identities of one camera and its hub.
type linkPeers struct {
	hubKey, camKey *keys.PrivateKey
	hubID, camID   *link.Identity
}

func newLinkPeers() (*linkPeers, error) {
	var p linkPeers
	var err error
	if p.hubKey, err = keys.Generate(); err != nil {
		return nil, err
	}
	if p.camKey, err = keys.Generate(); err != nil {
		return nil, err
	}
	if p.hubID, err = link.NewIdentity(); err != nil {
		return nil, err
	}
	if p.camID, err = link.NewIdentity(); err != nil {
		return nil, err
	}
	return &p, nil
}

func benchLinkThroughput(ctx context.Context, o *options) ([]Row, error) {
	p, err := newLinkPeers()
	if err != nil {
		return nil, err
	}
	o.Progress.Printf("   signing %d segments of %d bytes", linkSegments, linkSegmentSize)
	cam, frames, err := presignedFrames(p.camKey, linkSegments, linkSegmentSize)
	if err != nil {
		return nil, err
	}
	var linkRates, plainRates []float64
	var linkCPUs, plainCPUs linkCPU
	for i := range linkRuns {
		// Alternate which goes first, so neither always runs on a machine
		// the other has just warmed (or loaded).
		runPlain := func() error {
			r, c, err := plainTLSRun(ctx, p, frames, linkSegmentSize)
			if err != nil {
				return fmt.Errorf("plain TLS run %d: %w", i+1, err)
			}
			plainRates = append(plainRates, r)
			plainCPUs.add(c)
			return nil
		}
		runLink := func() error {
			r, c, err := linkRun(ctx, p, cam.Unacked(), linkSegmentSize)
			if err != nil {
				return fmt.Errorf("link run %d: %w", i+1, err)
			}
			linkRates = append(linkRates, r)
			linkCPUs.add(c)
			return nil
		}
		order := []func() error{runPlain, runLink}
		if i%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, f := range order {
			if err := f(); err != nil {
				return nil, err
			}
		}
		o.Progress.Printf("   run %d/%d: link %.0f MB/s, plain TLS 1.3 + SHA-256 %.0f MB/s", i+1, linkRuns, linkRates[i], plainRates[i])
	}
	lr, pr := medianFloat(linkRates), medianFloat(plainRates)
	setup := fmt.Sprintf("median of %d runs of each, alternating; one camera (this process) and one hub (a child process), %d pre-signed %d-byte segments, %d in flight, loopback; "+
		"first segment byte to last ack",
		linkRuns, linkSegments, linkSegmentSize, linkWindow)
	return []Row{
		NewRow("link.throughput", "MB/s", lr, "tls13.sha256.throughput", pr, RatioAtLeast(0.9),
			"what a camera gets: TLS 1.3 with channel binding, framing, and a hub that checks each record's signature, chain link, size and segment SHA-256 "+
				"before it signs the ack (the store's checks, without the disk: hub.store_append); "+
				"baseline: the same frames over crypto/tls with the link's TLS configs, the hub computing the SHA-256 of each segment (reading the next frame meanwhile, as the link's hub does) "+
				"before a 1-byte reply; the ratio is what the link's own work (framing, signatures, chain checks, acks) leaves; "+setup),
		NewRow("link.hub_cpu", "core-s/GB", linkCPUs.hubPerGB(), "tls13.sha256.hub_cpu", plainCPUs.hubPerGB(), nil,
			fmt.Sprintf("CPU time (user+system, the child's rusage) of the hub process per GB (10^9 bytes) of segments received, all runs; "+
				"camera process: %.2f core-s/GB, baseline client %.2f core-s/GB; %s", linkCPUs.camPerGB(), plainCPUs.camPerGB(), setup)),
	}, nil
}

// linkCPU sums the CPU time of both ends over runs.
type linkCPU struct {
	hub, cam time.Duration
	bytes    int64
}

func (c *linkCPU) add(r linkCPU) { c.hub += r.hub; c.cam += r.cam; c.bytes += r.bytes }
func (c *linkCPU) hubPerGB() float64 {
	return c.hub.Seconds() / (float64(c.bytes) / 1e9)
}
func (c *linkCPU) camPerGB() float64 {
	return c.cam.Seconds() / (float64(c.bytes) / 1e9)
}

// presignedFrames makes n segments of size random bytes as the camera's
// chain, and the link frames (length, type, CBOR body) that carry them.
// The chain's segments share memory with the frames: each segment is the
// tail of its frame, where the CBOR encoding puts the data byte string.
func presignedFrames(k *keys.PrivateKey, n, size int) (*feedchaintest.Chain, [][]byte, error) {
	cam := &feedchaintest.Chain{Camera: k.Address(), DropSegments: true}
	rng := rand.NewChaCha8([32]byte{1})
	frames := make([][]byte, n)
	start := time.Now().Add(-time.Duration(n) * 2 * time.Second)
	for i := range n {
		data := make([]byte, size)
		rng.Read(data)
		r, err := cam.Add(k, data, start.Add(time.Duration(i)*2*time.Second), 2*time.Second)
		if err != nil {
			return nil, nil, err
		}
		var b bytes.Buffer
		if err := link.NewConn(&b).Write(link.TypeSegment, &link.Segment{Record: r.Marshal(), Data: data}); err != nil {
			return nil, nil, err
		}
		frames[i] = b.Bytes()
		if err := cam.ShareSegment(uint64(i), frames[i][len(frames[i])-size:]); err != nil {
			return nil, nil, fmt.Errorf("a segment frame does not end with the segment: %w", err)
		}
	}
	return cam, frames, nil
}

// linkRun streams cam's records from a link.Client in this process to a
// link.Server in a child process that verifies them as the store does
// (segment SHA-256 included) and keeps them in memory, and returns the
// segment payload MB/s from the first segment byte to the last
// acknowledgement, with the CPU time of both ends.
func linkRun(ctx context.Context, p *linkPeers, cam *feedchaintest.Chain, size int) (float64, linkCPU, error) {
	var cpu linkCPU
	ctx, cancel := context.WithTimeout(ctx, linkRunTimeout)
	defer cancel()
	hub, err := startLinkHub("link", linkHubCamEnv+"="+p.camKey.Address().Hex(), linkHubPinEnv+"="+p.camID.Pin.String())
	if err != nil {
		return 0, cpu, err
	}
	finished := false
	defer func() {
		if !finished {
			hub.kill()
		}
	}()

	head := cam.Head()
	done := cam.AckedUpTo(head.Seq)
	var start atomic.Pointer[time.Time]
	stateErr := make(chan error, 1)
	alarms := &countAlarms{}
	c := &link.Client{Addr: hub.Addr, Identity: p.camID, HubPin: hub.Pin, Hub: hub.Hub,
		Key: p.camKey, Chain: cam, Alarms: alarms, Window: linkWindow,
		OnState: func(s link.State, err error) {
			if s == link.StateConnected {
				now := time.Now()
				start.Store(&now)
				return
			}
			select {
			case stateErr <- fmt.Errorf("link %s: %v", s, err):
			default:
			}
		}}
	cpu0, err := processCPU()
	if err != nil {
		return 0, cpu, err
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { c.Run(runCtx); close(ran) }()
	defer func() { stop(); <-ran }()

	select {
	case <-done:
	case err := <-stateErr:
		return 0, cpu, err
	case <-ctx.Done():
		return 0, cpu, fmt.Errorf("%w: hub acknowledged %v of %v", ctx.Err(), cam.Acked(), head)
	}
	t0 := start.Load()
	if t0 == nil {
		return 0, cpu, errors.New("acknowledged before connected")
	}
	elapsed := time.Since(*t0)
	cpu1, err := processCPU()
	if err != nil {
		return 0, cpu, err
	}
	stop()
	<-ran
	finished = true
	n, hubCPU, hubHead, err := hub.finish()
	if err != nil {
		return 0, cpu, err
	}
	if a := alarms.list(); len(a) > 0 {
		return 0, cpu, fmt.Errorf("alarms raised: %q", a)
	}
	if hubHead != headHex(head) {
		return 0, cpu, fmt.Errorf("hub head %s, camera head %v", hubHead, head)
	}
	if want := int64(cam.Len()) * int64(size); n != want {
		return 0, cpu, fmt.Errorf("hub received %d segment bytes, camera sent %d", n, want)
	}
	cpu = linkCPU{hub: hubCPU, cam: cpu1 - cpu0, bytes: n}
	return float64(n) / 1e6 / elapsed.Seconds(), cpu, nil
}

// plainTLSRun sends frames over a plain TLS 1.3 connection on loopback to
// the baseline hub in a child process (plainHashServe: SHA-256 of each
// segment, a 1-byte reply), with the link's own TLS configurations and the
// same window, and returns the segment payload MB/s from the first byte to
// the last reply, with the CPU time of both ends.
func plainTLSRun(ctx context.Context, p *linkPeers, frames [][]byte, size int) (float64, linkCPU, error) {
	var cpu linkCPU
	ctx, cancel := context.WithTimeout(ctx, linkRunTimeout)
	defer cancel()
	hub, err := startLinkHub("plain", linkHubSizeEnv+"="+strconv.Itoa(size))
	if err != nil {
		return 0, cpu, err
	}
	finished := false
	defer func() {
		if !finished {
			hub.kill()
		}
	}()
	cpu0, err := processCPU()
	if err != nil {
		return 0, cpu, err
	}
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", hub.Addr)
	if err != nil {
		return 0, cpu, err
	}
	tc := tls.Client(raw, link.ClientConfig(p.camID, hub.Pin))
	defer tc.Close()
	stopOnCancel := context.AfterFunc(ctx, func() { tc.Close() })
	defer stopOnCancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return 0, cpu, err
	}

	window := make(chan struct{}, linkWindow)
	replies := make(chan error, 1)
	go func() {
		var b [1]byte
		for range frames {
			if _, err := io.ReadFull(tc, b[:]); err != nil {
				replies <- err
				return
			}
			<-window
		}
		replies <- nil
	}()
	start := time.Now()
	for _, f := range frames {
		select {
		case window <- struct{}{}:
		case err := <-replies:
			return 0, cpu, fmt.Errorf("reading replies: %v", err)
		}
		if _, err := tc.Write(f); err != nil {
			return 0, cpu, err
		}
	}
	if err := <-replies; err != nil {
		return 0, cpu, fmt.Errorf("reading replies: %w", err)
	}
	elapsed := time.Since(start)
	cpu1, err := processCPU()
	if err != nil {
		return 0, cpu, err
	}
	tc.Close()
	finished = true
	n, hubCPU, _, err := hub.finish()
	if err != nil {
		return 0, cpu, err
	}
	if want := int64(len(frames)) * int64(size); n != want {
		return 0, cpu, fmt.Errorf("baseline hub hashed %d segment bytes, client sent %d", n, want)
	}
	cpu = linkCPU{hub: hubCPU, cam: cpu1 - cpu0, bytes: n}
	return float64(n) / 1e6 / elapsed.Seconds(), cpu, nil
}

func medianFloat(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}
