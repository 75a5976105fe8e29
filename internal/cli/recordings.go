package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/camchain/camchain/internal/feedchain"
)

func newRecordingsCmd(e *env) *cobra.Command {
	var stream string
	var epoch int64
	var from uint64
	var limit int
	cmd := &cobra.Command{
		Use:   "recordings CAMERA",
		Short: "List the segments a hub stores for a camera, with each one's stream, clock and integrity",
		Long: `List the recordings the hub stores for CAMERA in one epoch (default: its
current one), oldest first: sequence number, start time, duration, size,
the stream the segment is of, where its start time comes from (rtcp: the
camera's own clock; arrival: the recording machine's; unknown: a version 1
record), and its integrity state against the ledger's checkpoints.

Each of a camera's streams is its own chain (docs/SPEC.md §6.5): --stream
sub lists the sub stream's, with its own sequence numbers.`,
		Args: exactArgs(1),
	}
	hf := addHubFlags(cmd)
	cmd.Flags().StringVar(&stream, "stream", "main", "which chain to list: main or sub")
	cmd.Flags().Int64Var(&epoch, "epoch", -1, "the epoch to list (default: the camera's current one)")
	cmd.Flags().Uint64Var(&from, "from", 0, "the first sequence number to list")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many (default: the hub's page size, 50)")
	cmd.RunE = func(_ *cobra.Command, args []string) error {
		cam, err := parseAddrFlag("camera", args[0])
		if err != nil {
			return err
		}
		if _, err := feedchain.ParseStream(stream); err != nil {
			return usageError{fmt.Errorf("--stream: %w", err)}
		}
		c, ctx, cancel, err := hf.client()
		if err != nil {
			return err
		}
		defer cancel()
		l, err := c.StreamRecordings(ctx, cam.Hex(), stream, epoch, from, limit)
		if err != nil {
			return err
		}
		if hf.jsonOut {
			return e.printJSON(l)
		}
		live := "not connected"
		if l.Live {
			live = "connected"
		}
		fmt.Fprintf(e.stdout, "camera %s epoch %d, %s stream (%s): %d recording(s)\n", l.Camera, l.Epoch, l.Stream, live, len(l.Items))
		if len(l.Items) > 0 {
			fmt.Fprintf(e.stdout, "%-8s %-30s %9s %10s %-6s %-8s %s\n", "SEQ", "START", "DURATION", "SIZE", "STREAM", "CLOCK", "INTEGRITY")
		}
		for _, r := range l.Items {
			integrity := r.Integrity
			if r.Pruned {
				integrity += " (file pruned)"
			}
			fmt.Fprintf(e.stdout, "%-8d %-30s %8.3fs %10d %-6s %-8s %s\n", r.Seq, r.Start, r.Duration, r.Size, r.Stream, r.Clock, integrity)
		}
		if l.Next != "" {
			fmt.Fprintf(e.stdout, "more: --from %s\n", l.Next)
		}
		return nil
	}
	return cmd
}
