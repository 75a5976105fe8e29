package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/api/playconn"
	"github.com/camchain/camchain/internal/evidence/evidencetest"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/viewchain"
)

// Recorded playback: the time to the first byte of a seek into a 24-hour
// timeline of 2 s segments, through the hub's playback socket (handshake
// with a bearer token, authorization on the ledger, the seek, the
// segment's record and a signed viewer-chain link), beside the store
// doing the same seek and read in-process.
const (
	playbackSegments    = 24 * 3600 / 2 // 24 h of 2 s segments
	playbackSegmentSize = 16 << 10      // small: the seek is measured, not the transfer
	playbackSeeks       = 25
)

func benchPlaybackSeek(ctx context.Context, o *options) ([]Row, error) {
	// tmpfs: 43,200 fsynced appends on a disk would take minutes to set up;
	// the measured reads come from the page cache either way.
	base := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		base = "/dev/shm"
	}
	tmp, err := os.MkdirTemp(base, "camchain-bench-playback-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	h, err := evidencetest.StartHub(filepath.Join(tmp, "hub"))
	if err != nil {
		return nil, err
	}
	defer h.Close()
	cam, err := evidencetest.NewCamera(ctx, h)
	if err != nil {
		return nil, err
	}
	t0 := time.Now().Add(-25 * time.Hour).Truncate(time.Second)
	o.Progress.Printf("   recording a 24 h timeline: %d segments of %d bytes", playbackSegments, playbackSegmentSize)
	if err := cam.Record(playbackSegments, t0, 2*time.Second, playbackSegmentSize); err != nil {
		return nil, err
	}
	tok, err := cam.OwnerToken(ctx)
	if err != nil {
		return nil, err
	}
	c, _ := api.NewClient(cam.URL)
	c.WithCredentials(api.StaticToken(tok))
	chain, err := h.Store().Lookup(cam.Key.Address(), 0)
	if err != nil {
		return nil, err
	}
	var apiT, storeT []time.Duration
	for range playbackSeeks {
		n, _ := rand.Int(rand.Reader, big.NewInt(24*3600*1000))
		at := t0.Add(time.Duration(n.Int64()) * time.Millisecond)
		want := uint64(at.Sub(t0) / (2 * time.Second)) // the segment holding at

		start := time.Now()
		p, err := playconn.Dial(ctx, c, cam.Key.Address().Hex(), api.PlayOptions{From: at, To: at.Add(time.Minute), Epoch: -1, MaxFrame: viewchain.MaxFrame})
		if err != nil {
			return nil, err
		}
		var first []byte
		for first == nil {
			m, err := p.Next(ctx)
			if err != nil {
				p.Close()
				return nil, err
			}
			first = m.Frame
		}
		apiT = append(apiT, time.Since(start))
		p.Close()
		f, err := viewchain.DecodeFrame(first)
		if err != nil {
			return nil, err
		}
		r, err := feedchain.Parse(f.Record)
		if err != nil || r.Seq != want {
			return nil, fmt.Errorf("seek to %s: first record %v, want #%d (%v)", at, r, want, err)
		}

		start = time.Now()
		seq := sort.Search(int(chain.Len()), func(i int) bool { si, _ := chain.Info(uint64(i)); return si.Start.After(at) }) - 1
		rec, err := chain.Record(uint64(seq))
		if err != nil {
			return nil, err
		}
		data, err := chain.Segment(uint64(seq))
		if err != nil || rec.Seq != want {
			return nil, fmt.Errorf("store seek: record %d, %v", rec.Seq, err)
		}
		io.Discard.Write(data)
		storeT = append(storeT, time.Since(start))
	}
	slices.Sort(apiT)
	slices.Sort(storeT)
	p50 := func(d []time.Duration) float64 { return float64(d[len(d)/2].Microseconds()) / 1000 }
	note := fmt.Sprintf("%d seeks to random times of a %d-segment (24 h) timeline; p50, max %.1f ms; from dialing the socket (bearer token, ledger authorization) to the first segment frame (record, signed link, bytes); baseline: the store's seek and read of the same segment in-process", playbackSeeks, playbackSegments, float64(apiT[len(apiT)-1].Microseconds())/1000)
	return []Row{NewRow("playback.seek_ttfb_ms", "ms", p50(apiT), "store seek + read in-process", p50(storeT), AtMost(100), note)}, nil
}
