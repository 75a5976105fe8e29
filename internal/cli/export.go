package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/export"
)

// camchain export: a verifiable MP4 of a time range (internal/export,
// docs/SPEC.md §14.5); camchain verify checks it (verify_export.go).

func newExportCmd(e *env) *cobra.Command {
	var camera, from, to, out, pin, stream string
	var epoch int64
	var force bool
	var trust pinFlags
	cmd := &cobra.Command{
		Use:   "export --camera CAMERA --from TIME --to TIME -o clip.mp4",
		Short: "Export a camera's recordings of a time range as a playable MP4 that verifies offline",
		Long: `Fetch from the hub the evidence bundle of CAMERA's recordings (of --stream,
main by default) that start in [--from, --to) (RFC 3339 times, or a duration ago: 10m),
verify it, and write the video as one MP4 that ordinary players read (ffplay,
VLC, a browser), keeping every segment's bytes as the camera recorded them,
and beside it the evidence (FILE.evidence: records, inclusion proofs,
checkpoints and the ledger's proofs, without the video bytes).
"camchain verify FILE" then proves every second of FILE against the ledger,
offline, and names the seconds that do not verify.

Where one file cannot hold the range — the camera changed its parameter
sets, or its agent restarted and the decode time starts again — the export
says so and writes several: FILE, then FILE-2.mp4, FILE-3.mp4, … (verify
reads them all). Gaps (time with no recording) are listed.

The hub files every export on the ledger as a hub/evidence-export audit
event carrying the SHA-256 of the bundle it served, which this command
prints: chain of custody. Every recording in the range must be under a
checkpoint already on the ledger. Files are written atomically; existing
ones are kept unless --force.

An end-to-end encrypted camera's clips are decrypted here, for you: each
content key's envelope comes from the hub, checked as the camera's, and
opens with your viewing key, derived from your wallet (--keystore,
--passphrase-file). FILE then holds the plaintext, and FILE.keys beside it
discloses the segment keys of exactly these clips (nothing of any other
segment), with which "camchain verify FILE" seals the video again and
checks it against what the camera signed.`,
		Args: noArgs,
	}
	hf := addHubFlags(cmd)
	ks := addKeystoreFlags(cmd)
	cmd.Flags().StringVar(&camera, "camera", "", "camera `ADDRESS`")
	cmd.Flags().StringVar(&from, "from", "", "first recording start to include, RFC 3339 (2026-05-01T12:00:00Z) or a duration ago (1h)")
	cmd.Flags().StringVar(&to, "to", "", "end of the range (exclusive), RFC 3339 or a duration ago")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the video to `FILE` (.mp4)")
	cmd.Flags().StringVar(&stream, "stream", "main", "the stream to export, main or sub (each is its own chain, with its own checkpoints)")
	cmd.Flags().Int64Var(&epoch, "epoch", -1, "binding epoch (default: the camera's current one)")
	cmd.Flags().StringVar(&pin, "validators-hash", "", "verify against this pinned validator-set `HASH` (hex) before writing")
	cmd.Flags().StringArrayVar(&trust.witnesses, "witness", nil, "require each checkpoint to be cosigned by this witness `VKEY` before writing (repeatable)")
	cmd.Flags().StringArrayVar(&trust.tsaCerts, "tsa-cert", nil, "require each checkpoint to be timestamped by the TSA of this PEM `FILE` before writing (repeatable)")
	cmd.Flags().BoolVar(&force, "force", false, "replace the files if they exist")
	cmd.RunE = func(_ *cobra.Command, _ []string) error {
		cam, err := parseAddrFlag("camera", camera)
		if err != nil {
			return err
		}
		now := time.Now()
		t1, err := parseAgo("from", from, now)
		if err != nil {
			return err
		}
		t2, err := parseAgo("to", to, now)
		if err != nil {
			return err
		}
		if from == "" || to == "" {
			return usageError{errors.New("--from and --to are required")}
		}
		if !t1.Before(t2) {
			return usageError{fmt.Errorf("--from %s is not before --to %s", from, to)}
		}
		if out == "" {
			return usageError{errors.New("-o FILE is required")}
		}
		if stream != "main" && stream != "sub" {
			return usageError{fmt.Errorf("--stream %q: want main or sub", stream)}
		}
		pinned, err := parsePin(pin)
		if err != nil {
			return err
		}
		opts := evidence.Options{PinnedValidatorsHash: pinned, Now: now}
		if opts.Witnesses, err = trust.trusted(); err != nil {
			return err
		}
		if opts.TSARoots, err = trust.tsaRoots(); err != nil {
			return err
		}
		c, ctx, cancel, err := hf.client()
		if err != nil {
			return err
		}
		defer cancel()
		data, err := c.Evidence(ctx, cam.Hex(), api.EvidenceQuery{From: t1, To: t2, Epoch: epoch, Stream: stream}, evidence.MaxBundleBytes)
		if err != nil {
			return err
		}
		dec := &opener{e: e, ks: ks, c: c, camera: cam}
		saved, err := export.SaveWith(data, out, opts, force, func(sealed []byte) ([]byte, *e2ee.SegmentKey, e2ee.Layout, error) {
			return dec.openLayout(ctx, sealed)
		})
		if errors.Is(err, export.ErrExists) {
			return usageError{err}
		}
		if err != nil {
			return err
		}
		rep, parts, b, files := saved.Report, saved.Parts, saved.Bundle, append([]string{saved.Evidence}, saved.Files...)
		sum := saved.BundleSHA256
		if hf.jsonOut {
			return e.printJSON(saved)
		}
		var secs float64
		for _, cl := range rep.Clips {
			secs += cl.Duration
		}
		first, last := rep.Clips[0], rep.Clips[len(rep.Clips)-1]
		fmt.Fprintf(e.stdout, "exported %d segment(s) of camera %s epoch %d, records #%d–#%d, %.1f s recorded from %s (last starts %s), into %s\n",
			len(rep.Clips), rep.Camera, rep.Epoch, first.Seq, last.Seq, secs, first.Start, last.Start, strings.Join(files[1:], ", "))
		for _, p := range parts[1:] {
			fmt.Fprintf(e.stdout, "  %s starts at record #%d: %s, so one file cannot hold the range\n", p.Name, b.Clips[p.First].LeafIndex, p.Why)
		}
		for _, g := range rep.Missing {
			fmt.Fprintf(e.stdout, "  gap: records #%d–#%d are not in the range's bundle\n", g.First, g.Last)
		}
		for i := 1; i < len(rep.Clips); i++ {
			a, z := rep.Clips[i-1], rep.Clips[i]
			ta, _ := time.Parse(time.RFC3339Nano, a.Start)
			tz, _ := time.Parse(time.RFC3339Nano, z.Start)
			if end := ta.Add(time.Duration(a.Duration * float64(time.Second))); tz.Sub(end) > 500*time.Millisecond {
				fmt.Fprintf(e.stdout, "  gap: no recording for %v after record #%d (%s → %s)\n", tz.Sub(end).Round(time.Millisecond), a.Seq, end.UTC().Format(time.RFC3339Nano), z.Start)
			}
		}
		fmt.Fprintf(e.stdout, "evidence: %s; the hub filed this export on the ledger (hub/evidence-export) as bundle sha256 %s\n", files[0], sum)
		if !rep.Pinned {
			fmt.Fprintf(e.stdout, "verified as self-consistent only (validator set %s, not pinned): a recipient should run camchain verify %s --validators-hash …\n", strings.Join(rep.ValidatorsHashes, ", "), out)
		}
		return nil
	}
	return cmd
}
