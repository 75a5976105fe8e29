package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"sync/atomic"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
)

// Link throughput: one camera streaming pre-signed segments to one hub.
const (
	linkSegments    = 400     // segments per run
	linkSegmentSize = 1 << 20 // bytes per segment
	linkWindow      = 8       // segments awaiting acknowledgement, both runs
	linkRuns        = 3       // runs of each; the median is reported
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
	// What the hub's SHA-256 of the segment bytes costs alone, on one core.
	t0 := time.Now()
	for _, seg := range cam.segs {
		feedchain.SegmentHash(seg)
	}
	shaRate := float64(len(cam.segs)) * linkSegmentSize / 1e6 / time.Since(t0).Seconds()
	var linkRates, hashedRates, plainRates []float64
	var plainCPU, hashedCPU time.Duration // process CPU time, both ends
	for i := range linkRuns {
		c0, _ := processCPU()
		r, err := plainTLSRun(ctx, p, frames)
		if err != nil {
			return nil, fmt.Errorf("plain TLS run %d: %w", i+1, err)
		}
		plainRates = append(plainRates, r)
		c1, _ := processCPU()
		plainCPU += c1 - c0
		l, err := linkRun(ctx, p, cam.fresh(), false)
		if err != nil {
			return nil, fmt.Errorf("link run %d: %w", i+1, err)
		}
		linkRates = append(linkRates, l)
		c2, _ := processCPU()
		h, err := linkRun(ctx, p, cam.fresh(), true)
		if err != nil {
			return nil, fmt.Errorf("link run %d with SHA-256: %w", i+1, err)
		}
		hashedRates = append(hashedRates, h)
		c3, _ := processCPU()
		hashedCPU += c3 - c2
		o.Progress.Printf("   run %d/%d: link %.0f MB/s, link + segment SHA-256 %.0f MB/s, plain TLS 1.3 %.0f MB/s", i+1, linkRuns, l, h, r)
	}
	gb := float64(linkRuns) * linkSegments * linkSegmentSize / 1e9
	lr, hr, pr := medianFloat(linkRates), medianFloat(hashedRates), medianFloat(plainRates)
	setup := fmt.Sprintf("median of %d runs; one camera, %d pre-signed %d-byte segments, %d in flight, loopback; first segment byte to last ack; "+
		"baseline: the same frames over crypto/tls with the link's TLS configs, a 1-byte reply each",
		linkRuns, linkSegments, linkSegmentSize, linkWindow)
	// The target is a ratio: value ≥ 0.8 × baseline, with the
	// baseline of this very run. It measures the link: TLS, channel
	// binding, framing, each record's signature and chain link, signed
	// acks. The SHA-256 of the segment bytes is the store's check
	// (store.Chain.Append, in hub.store_append), reported beside it.
	return []Row{
		NewRow("link.throughput", "MB/s", lr, "tls13.plain.throughput", pr, AtLeast(0.8*pr),
			"target is 0.8 × baseline; hub verifies each record's signature, chain link and size and signs each ack, keeps records in memory; "+setup),
		NewRow("link.throughput.sha256", "MB/s", hr, "tls13.plain.throughput", pr, nil,
			fmt.Sprintf("as link.throughput, the hub also checking each segment's SHA-256 before it acknowledges, as its store does: the full path without the disk; "+
				"SHA-256 alone runs at %.0f MB/s on one core of this machine; CPU, both ends: %.2f core-s/GB, plain TLS %.2f core-s/GB; ",
				shaRate, hashedCPU.Seconds()/gb, plainCPU.Seconds()/gb)+setup),
	}, nil
}

// presignedFrames makes n segments of size random bytes as the camera's
// chain, and the link frames (length, type, CBOR body) that carry them.
// The chain's segments share memory with the frames: each segment is the
// tail of its frame, where the CBOR encoding puts the data byte string.
func presignedFrames(k *keys.PrivateKey, n, size int) (*camChain, [][]byte, error) {
	cam := newCamChain(k, 0)
	rng := rand.NewChaCha8([32]byte{1})
	frames := make([][]byte, n)
	start := time.Now().Add(-time.Duration(n) * 2 * time.Second)
	for i := range n {
		data := make([]byte, size)
		rng.Read(data)
		if err := cam.add(data, start.Add(time.Duration(i)*2*time.Second), 2*time.Second); err != nil {
			return nil, nil, err
		}
		r, _ := cam.Record(uint64(i))
		var b bytes.Buffer
		if err := link.NewConn(&b).Write(link.TypeSegment, &link.Segment{Record: r.Marshal(), Data: data}); err != nil {
			return nil, nil, err
		}
		frames[i] = b.Bytes()
		tail := frames[i][len(frames[i])-size:]
		if !bytes.Equal(tail, data) {
			return nil, nil, errors.New("a segment frame does not end with the segment")
		}
		cam.segs[i] = tail
	}
	return cam, frames, nil
}

// linkRun streams cam's records from a link.Client to a link.Server that
// keeps them in memory (checking each segment's SHA-256 if hashSegments),
// and returns the segment payload MB/s from the first segment byte to the
// last acknowledgement.
func linkRun(ctx context.Context, p *linkPeers, cam *camChain, hashSegments bool) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, linkRunTimeout)
	defer cancel()
	hubChain := &memHubChain{camera: p.camKey.Address(), hashSegments: hashSegments}
	backend := &benchBackend{pins: map[keys.Address]link.Pin{p.camKey.Address(): p.camID.Pin},
		chain: func(keys.Address, uint64) (link.ServerChain, error) { return hubChain, nil }}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	srv := &link.Server{Identity: p.hubID, Key: p.hubKey, Backend: backend}
	go srv.Serve(ln)
	defer srv.Close()

	head := cam.Head()
	done := cam.notifyAt(head.Seq)
	var start atomic.Pointer[time.Time]
	stateErr := make(chan error, 1)
	alarms := &countAlarms{}
	c := &link.Client{Addr: ln.Addr().String(), Identity: p.camID, HubPin: p.hubID.Pin, Hub: p.hubKey.Address(),
		Key: p.camKey, Chain: cam, Alarms: alarms, Window: linkWindow,
		OnState: func(s string, err error) {
			if s == "connected" {
				now := time.Now()
				start.Store(&now)
				return
			}
			select {
			case stateErr <- fmt.Errorf("link %s: %v", s, err):
			default:
			}
		}}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { c.Run(runCtx); close(ran) }()
	defer func() { stop(); <-ran }()

	select {
	case <-done:
	case err := <-stateErr:
		return 0, err
	case <-ctx.Done():
		return 0, fmt.Errorf("%w: hub acknowledged %v of %v", ctx.Err(), cam.Acked(), head)
	}
	t0 := start.Load()
	if t0 == nil {
		return 0, errors.New("acknowledged before connected")
	}
	elapsed := time.Since(*t0)
	if a := append(alarms.list(), backend.alarmList()...); len(a) > 0 {
		return 0, fmt.Errorf("alarms raised: %q", a)
	}
	if h := hubChain.Head(); h != head {
		return 0, fmt.Errorf("hub head %v, camera head %v", h, head)
	}
	return float64(hubChain.bytes) / 1e6 / elapsed.Seconds(), nil
}

// plainTLSRun sends frames over a plain TLS 1.3 connection on loopback,
// with the link's own TLS configurations and the same window, the server
// answering each frame with one byte, and returns the segment payload MB/s
// (frames minus their record and framing) from the first byte to the last
// reply.
func plainTLSRun(ctx context.Context, p *linkPeers, frames [][]byte) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, linkRunTimeout)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() { served <- plainServe(ln, link.ServerConfig(p.hubID)) }()

	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		return 0, err
	}
	tc := tls.Client(raw, link.ClientConfig(p.camID, p.hubID.Pin))
	defer tc.Close()
	stopOnCancel := context.AfterFunc(ctx, func() { tc.Close() })
	defer stopOnCancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return 0, err
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
			return 0, fmt.Errorf("reading replies: %v", err)
		}
		if _, err := tc.Write(f); err != nil {
			return 0, err
		}
	}
	if err := <-replies; err != nil {
		return 0, fmt.Errorf("reading replies: %w (server: %v)", err, <-served)
	}
	elapsed := time.Since(start)
	tc.Close()
	if err := <-served; err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("server: %w", err)
	}
	return float64(len(frames)) * linkSegmentSize / 1e6 / elapsed.Seconds(), nil
}

// plainServe accepts one connection and answers each frame (u32be length ‖
// body, read through a 64 KiB buffer as link.Conn does) with one byte.
func plainServe(ln net.Listener, cfg *tls.Config) error {
	c, err := ln.Accept()
	if err != nil {
		return err
	}
	tc := tls.Server(c, cfg)
	defer tc.Close()
	r := bufio.NewReaderSize(tc, 64<<10)
	body := make([]byte, link.MaxFrame)
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return err
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n == 0 || n > link.MaxFrame {
			return fmt.Errorf("frame length %d", n)
		}
		if _, err := io.ReadFull(r, body[:n]); err != nil {
			return err
		}
		if _, err := tc.Write([]byte{1}); err != nil {
			return err
		}
	}
}

func medianFloat(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}
