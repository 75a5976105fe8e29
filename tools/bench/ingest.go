package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/pion/rtp"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/media"
	"github.com/camchain/camchain/internal/store"
)

// The ingest pipeline: what the agent does with a camera's RTP, in process.
const (
	ingestClip     = 10 * time.Second // the 1080p clip ffmpeg encodes once
	ingestBitrate  = "8M"             // its bitrate: a busy 1080p camera
	ingestMinBytes = 256 << 20        // segment bytes per run, at least
	ingestRuns     = 3                // runs of each, alternating; the median is reported
)

// makeClip encodes a noisy testsrc2 clip (noise keeps the encoder at its
// bitrate, as a real scene does) with ffmpeg into path, in the given
// container format.
func makeClip(ctx context.Context, path, size, bitrate string, d time.Duration, audio bool, container string) error {
	args := []string{"-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=25"}
	if audio {
		args = append(args, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000")
	}
	args = append(args, "-t", fmt.Sprint(d.Seconds()), "-vf", "noise=alls=12:allf=t", "-pix_fmt", "yuv420p",
		"-c:v", "libx264", "-preset", "veryfast", "-b:v", bitrate, "-maxrate", bitrate, "-bufsize", bitrate, "-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-bf", "2")
	if audio {
		args = append(args, "-c:a", "aac", "-b:a", "64k")
	} else {
		args = append(args, "-an")
	}
	args = append(args, "-f", container, path)
	out, err := exec.CommandContext(ctx, "ffmpeg", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ffmpeg (Debian's; .ci/run installs it): %w\n%s", err, out)
	}
	return nil
}

func benchIngestPipeline(ctx context.Context, o *options) ([]Row, error) {
	tmp, err := os.MkdirTemp("", "camchain-bench-ingest-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	clip := filepath.Join(tmp, "clip.h264")
	o.Progress.Printf("   encoding a %s 1080p H.264 clip at %s with ffmpeg", ingestClip, ingestBitrate)
	if err := makeClip(ctx, clip, "1920x1080", ingestBitrate, ingestClip, false, "h264"); err != nil {
		return nil, err
	}
	es, err := os.ReadFile(clip)
	if err != nil {
		return nil, err
	}
	aus, err := media.SplitAccessUnits(es)
	if err != nil {
		return nil, err
	}
	// The camera's side, outside the timing: RTP packets as bytes.
	forma := &format.H264{PayloadTyp: 96, PacketizationMode: 1}
	enc, err := forma.CreateEncoder()
	if err != nil {
		return nil, err
	}
	var pkts [][]byte
	var rtpBytes int
	for i, au := range aus {
		ps, err := enc.Encode(au)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			p.Timestamp = uint32(i * media.ClockRate / 25)
			b, err := p.Marshal()
			if err != nil {
				return nil, err
			}
			pkts = append(pkts, b)
			rtpBytes += len(b)
		}
	}
	loops := ingestMinBytes/len(es) + 1
	k, err := keys.Generate()
	if err != nil {
		return nil, err
	}
	st, err := store.Open(filepath.Join(tmp, "store"), store.Options{MaxBytes: 1 << 40})
	if err != nil {
		return nil, err
	}
	defer st.Close()

	var segs [][]byte // the last pipeline run's segments: the baseline's bytes
	var pRates, bRates []float64
	epoch := uint64(0)
	pipeline := func() error {
		chain, err := st.Chain(k.Address(), epoch)
		if err != nil {
			return err
		}
		epoch++
		segs = segs[:0]
		var head feedchain.Head
		var n int
		seg := &media.Segmenter{Target: 2 * time.Second, Epoch: time.Now(), OnSegment: func(s media.Segment) error {
			// What Agent.record does: hash, sign, store (write + fsync).
			r := &feedchain.Record{Version: feedchain.Version2, Camera: k.Address(), Epoch: chain.ID().Epoch, Segment: feedchain.SegmentHash(s.Data),
				Start: s.Start.UnixNano(), Duration: s.Duration, Size: uint64(len(s.Data)), Codec: s.Codec, Clock: s.Clock}
			if head.Valid {
				r.Seq, r.Prev = head.Seq+1, head.Hash
			}
			if err := r.Sign(k); err != nil {
				return err
			}
			if err := chain.Append(r, s.Data); err != nil {
				return err
			}
			head = feedchain.HeadOf(r)
			segs = append(segs, s.Data)
			n += len(s.Data)
			return nil
		}}
		if err := seg.Initialize(); err != nil {
			return err
		}
		dec, err := forma.CreateDecoder()
		if err != nil {
			return err
		}
		t0 := time.Now()
		var pkt rtp.Packet
		for loop := range loops {
			off := uint32(loop * len(aus) * media.ClockRate / 25)
			for _, b := range pkts {
				if err := pkt.Unmarshal(b); err != nil {
					return err
				}
				pkt.Timestamp += off
				au, err := dec.Decode(&pkt)
				if errors.Is(err, rtph264.ErrMorePacketsNeeded) {
					continue // the rest of a fragmented NAL unit follows
				}
				if err != nil {
					return fmt.Errorf("depacketise: %w", err)
				}
				if err := seg.WriteAU(int64(pkt.Timestamp), au); err != nil {
					return fmt.Errorf("segmenter: %w", err)
				}
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		if err := seg.Flush(); err != nil {
			return err
		}
		pRates = append(pRates, float64(n)/1e6/time.Since(t0).Seconds())
		return nil
	}
	run := 0
	baseline := func() error {
		dir := filepath.Join(tmp, fmt.Sprint("plain", run))
		if err := os.Mkdir(dir, 0o755); err != nil {
			return err
		}
		n := 0
		sums := make([][32]byte, 0, len(segs))
		t0 := time.Now()
		for i, s := range segs {
			sums = append(sums, sha256.Sum256(s))
			if err := writeSync(filepath.Join(dir, fmt.Sprintf("%016d.mp4", i)), s); err != nil {
				return err
			}
			n += len(s)
		}
		bRates = append(bRates, float64(n)/1e6/time.Since(t0).Seconds())
		if len(sums) != len(segs) {
			return fmt.Errorf("hashed %d of %d segments", len(sums), len(segs))
		}
		return os.RemoveAll(dir)
	}
	if err := pipeline(); err != nil { // a first run makes the baseline's bytes
		return nil, err
	}
	pRates = pRates[:0]
	for run = range ingestRuns {
		order := []func() error{pipeline, baseline}
		if run%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, f := range order {
			if err := f(); err != nil {
				return nil, err
			}
		}
		o.Progress.Printf("   run %d/%d: pipeline %.0f MB/s, SHA-256 + write + fsync %.0f MB/s", run+1, ingestRuns, pRates[run], bRates[run])
	}
	p, b := medianFloat(pRates), medianFloat(bRates)
	note := fmt.Sprintf("median of %d runs, alternating which goes first, each over %d loops of a %s 1080p25 H.264 clip ffmpeg encoded at %s "+
		"(testsrc2 with temporal noise, GOP 50, 2 B-frames; %d RTP packets, %.1f MB a loop); MB = segment bytes (10^6); pipeline: "+
		"rtp.Packet.Unmarshal, rtph264 depacketisation, media.Segmenter (parameter sets, DTS, 2 s fMP4 cut on IDR), record v2 SHA-256 and "+
		"secp256k1 signature, store append (temp file, fsync, rename, record log, fsync), one goroutine; baseline: the same segments' bytes, "+
		"SHA-256, then each to its own file, write, fsync; under %s", ingestRuns, loops, ingestClip, ingestBitrate, len(pkts), float64(rtpBytes)/1e6, os.TempDir())
	return []Row{
		NewRow("ingest.pipeline", "MB/s", p, "sha256.write_fsync", b, RatioAtLeast(0.5), note),
		NewRow("ingest.pipeline.floor", "MB/s", p, "sha256.write_fsync", b, AtLeast(50),
			"the same figure as ingest.pipeline against the absolute target: 50 MB/s is over 50 cameras at 8 Mbit/s"),
	}, nil
}
