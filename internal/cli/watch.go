package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/api/playconn"
	"github.com/camchain/camchain/internal/export"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/viewchain"
)

func newWatchCmd(e *env) *cobra.Command {
	var camera, stream, from, to, out string
	var segments int
	var duration time.Duration
	var parts bool
	cmd := &cobra.Command{
		Use:   "watch --camera ADDRESS",
		Short: "Watch a camera live (or a recorded range), verifying every segment, into a playable file",
		Long: `Watch a camera through its hub: live, or a recorded range with --from
(and --to). Every segment is checked before it is written: the camera's
signature on its record, the segment's bytes against the record, the
record chain, and the hub's own chain over what it forwarded in this
session (docs/SPEC.md §15), answering a fresh nonce of ours. A segment
dropped, reordered, replayed, substituted or altered on the way stops the
command at once, naming the first break and the record.

The verified video goes to --out as one fragmented MP4 (the first
segment's init section, then each segment's fragment) that ordinary
players and ffmpeg read. Live, it runs until --segments or --duration is
reached, or Ctrl-C; a range ends with the hub's signed end.

With --parts (live) the hub also sends the segment being recorded in
parts, as the camera streams them, for low latency: each part is checked
(signed by the camera, following the part before it and the last record,
its bytes its statement's) and written at once; the segment's record,
when it arrives, must seal them (its size and SHA-256 cover the parts'
bytes). Until then a part is the camera's word about a segment not yet
recorded: the summary says how many were left unsealed when watching
stopped.

An end-to-end encrypted camera's segments and parts are verified as they
arrive (sealed: the record hashes the sealed bytes) and decrypted here, on
this machine, for --out: each content key's envelope comes from the hub,
checked as the camera's, and opens with your viewing key, derived from
your wallet (--keystore, --passphrase-file) the first time one is needed.
Video not encrypted to you (recorded while you had no grant) stops the
command, saying so.

Exit status: 0 when everything received verified (and a range arrived
whole), 1 on the first break or any error, 2 for a bad command line.`,
		Args: cobra.NoArgs,
	}
	hf := addHubFlags(cmd)
	ks := addKeystoreFlags(cmd)
	cmd.Flags().StringVar(&camera, "camera", "", "the camera `ADDRESS` (required)")
	cmd.Flags().StringVar(&stream, "stream", "main", "main or sub")
	cmd.Flags().StringVar(&from, "from", "", "play recordings from this `TIME` (RFC 3339, or a duration ago: 10m): the key frame at or before it")
	cmd.Flags().StringVar(&to, "to", "", "end the range at this `TIME` (RFC 3339, or a duration ago); needs --from")
	cmd.Flags().StringVar(&out, "out", "", "write the verified video to this `FILE` (fragmented MP4)")
	cmd.Flags().IntVar(&segments, "segments", 0, "stop after this many verified segments (0: no limit)")
	cmd.Flags().DurationVar(&duration, "duration", 0, "stop after this long (0: no limit)")
	cmd.Flags().BoolVar(&parts, "parts", false, "live: also take the segment being recorded in parts, before it closes (low latency; the camera must stream parts: camchain-agent --parts)")
	cmd.RunE = func(*cobra.Command, []string) error {
		cam, err := parseAddrFlag("camera", camera)
		if err != nil {
			return err
		}
		w := watch{camera: cam, segments: segments, duration: duration, out: out, parts: parts, keystore: ks}
		switch stream {
		case "main":
			w.stream = feedchain.StreamMain
		case "sub":
			w.stream = feedchain.StreamSub
		default:
			return usageError{fmt.Errorf("--stream %q: want main or sub", stream)}
		}
		now := time.Now()
		if w.from, err = parseAgo("from", from, now); err != nil {
			return err
		}
		if w.to, err = parseAgo("to", to, now); err != nil {
			return err
		}
		if !w.to.IsZero() && (w.from.IsZero() || !w.to.After(w.from)) {
			return usageError{errors.New("--to needs a --from before it")}
		}
		if w.parts && !w.to.IsZero() {
			return usageError{errors.New("--parts is for live view: a range (--to) has only whole segments")}
		}
		return e.watch(hf, w)
	}
	return cmd
}

// parseAgo reads an RFC 3339 time or a duration before now.
func parseAgo(name, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	d, err := parseDuration(v)
	if err != nil {
		return time.Time{}, usageError{fmt.Errorf("--%s %q: want an RFC 3339 time (2026-12-24T18:00:00Z) or a duration ago (10m, 2h)", name, v)}
	}
	return now.Add(-d), nil
}

type watch struct {
	camera   keys.Address
	stream   feedchain.Stream
	from, to time.Time
	segments int
	duration time.Duration
	out      string
	parts    bool
	keystore *keystoreFlags // the viewing key's wallet, for an encrypted camera
}

func (e *env) watch(hf *hubFlags, w watch) error {
	c, ctx, cancel, err := hf.client()
	if err != nil {
		return err
	}
	defer cancel()
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	d, err := c.Device(ctx, w.camera.Hex())
	if err != nil {
		return err
	}
	hubAddr, err := keys.ParseAddress(st.HubAddress)
	if err != nil {
		return fmt.Errorf("the hub's status names no valid hub address: %w", err)
	}
	if d.Hub != "" && d.Hub != st.HubAddress {
		return fmt.Errorf("camera %s is bound to hub %s on the ledger, not to this hub %s: watch it through its own hub", w.camera.Hex(), d.Hub, st.HubAddress)
	}
	nonce, err := viewchain.NewNonce()
	if err != nil {
		return err
	}
	sctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if w.duration > 0 {
		var c2 context.CancelFunc
		sctx, c2 = context.WithTimeout(sctx, w.duration)
		defer c2()
	}
	p, err := playconn.Dial(ctx, c, w.camera.Hex(), api.PlayOptions{Stream: w.stream.String(), From: w.from, To: w.to, Nonce: nonce.String(), Epoch: -1, MaxFrame: viewchain.MaxFrame, Parts: w.parts})
	if err != nil {
		return fmt.Errorf("open the stream: %w", err)
	}
	defer p.Close()
	if p.Start.Nonce != nonce.String() || p.Start.Camera != w.camera.Hex() || p.Start.Hub != st.HubAddress {
		return fmt.Errorf("the hub's start message does not answer our request (nonce %s, camera %s, hub %s)", p.Start.Nonce, p.Start.Camera, p.Start.Hub)
	}
	var file *fmp4Writer
	if w.out != "" {
		f, err := os.OpenFile(w.out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		file = &fmp4Writer{f: f}
	}
	v := viewchain.NewVerifier(hubAddr, w.camera, nonce, w.stream)
	dec := &opener{e: e, ks: w.keystore, c: c, camera: w.camera}
	var n, nparts int
	var first, last uint64
	var skipped uint64
	report := func() {
		if n == 0 {
			fmt.Fprintf(e.stdout, "no segment received (session %s)\n", p.Start.Session)
			return
		}
		fmt.Fprintf(e.stdout, "verified %d segment(s), records #%d–#%d of camera %s (%s stream), session %s", n, first, last, w.camera.Hex(), w.stream, p.Start.Session)
		if skipped > 0 {
			fmt.Fprintf(e.stdout, "; %d record(s) between them not forwarded (other stream, pruned or missing)", skipped)
		}
		fmt.Fprintln(e.stdout)
		if nparts > 0 {
			fmt.Fprintf(e.stdout, "%d part(s) checked before their segment closed", nparts)
			if p, k := v.Open(); p != nil {
				fmt.Fprintf(e.stdout, "; the last %d, of record #%d, not sealed by its record yet (watching stopped before the segment closed): the camera's word only", k, p.Seq)
			}
			fmt.Fprintln(e.stdout)
		}
		if file != nil {
			fmt.Fprintf(e.stdout, "wrote %s\n", w.out)
		}
	}
	for {
		if w.segments > 0 && n >= w.segments {
			report()
			return nil
		}
		m, err := p.Next(sctx)
		switch {
		case errors.Is(err, api.ErrPlayEnded):
			if err := v.Finish(!w.to.IsZero()); err != nil {
				return err
			}
			report()
			return nil
		case err != nil && sctx.Err() != nil:
			report() // --duration or Ctrl-C
			return nil
		case err != nil:
			return err
		}
		if m.Codec != nil {
			fmt.Fprintf(e.stderr, "codec %s (%s)\n", m.Codec.Codec, m.Codec.Video)
			continue
		}
		fr, err := viewchain.DecodeFrame(m.Frame)
		if err != nil {
			return &viewchain.BreakError{Break: viewchain.BreakMalformed, Detail: err.Error()}
		}
		var ck *viewchain.Checked
		switch fr.Type {
		case viewchain.FrameEnd:
			if err := v.End(fr.Link); err != nil {
				return err
			}
			continue
		case viewchain.FramePart:
			cp, err := v.Part(fr.Link, fr.Record, fr.Data)
			if err != nil {
				return err
			}
			if file != nil {
				plain, err := dec.open(sctx, fr.Data, false)
				if err != nil {
					return err
				}
				if err := file.writePart(cp.Part.Index == 0, plain); err != nil {
					return fmt.Errorf("write %s: %w", w.out, err)
				}
			}
			nparts++
			continue
		case viewchain.FrameTail:
			if ck, err = v.Tail(fr.Link, fr.Record, fr.Data); err != nil {
				return err
			}
			if file != nil {
				plain, err := dec.open(sctx, fr.Data, false)
				if err != nil {
					return err
				}
				if err := file.writePart(false, plain); err != nil {
					return fmt.Errorf("write %s: %w", w.out, err)
				}
			}
		default:
			if ck, err = v.Segment(fr.Link, fr.Record, fr.Data); err != nil {
				return err
			}
			if file != nil {
				plain, err := dec.open(sctx, fr.Data, true)
				if err != nil {
					return err
				}
				if err := file.write(plain); err != nil {
					return fmt.Errorf("write %s: %w", w.out, err)
				}
			}
		}
		if n == 0 {
			first = ck.Record.Seq
		} else {
			skipped += ck.Skipped
		}
		last = ck.Record.Seq
		n++
	}
}

// fmp4Writer joins self-contained fMP4 segments (§6.5: ftyp, moov, moof,
// mdat) into one fragmented MP4: the first segment whole, then only the
// fragments of those whose init section is the same. A segment with
// another init section (the camera changed resolution or codec) is written
// whole; players that honour a second moov then follow it.
type fmp4Writer struct {
	f    *os.File
	init []byte
}

func (w *fmp4Writer) write(seg []byte) error {
	init, frag, ok := export.SplitInit(seg)
	if !ok || w.init == nil || !bytes.Equal(init, w.init) {
		if ok && w.init == nil {
			w.init = bytes.Clone(init)
		}
		_, err := w.f.Write(seg)
		return err
	}
	_, err := w.f.Write(frag)
	return err
}

// writePart writes a verified part: part 0 begins with its segment's init
// section (written as a segment's is), later parts and a tail's rest are
// fragments.
func (w *fmp4Writer) writePart(first bool, data []byte) error {
	if first {
		return w.write(data)
	}
	_, err := w.f.Write(data)
	return err
}
