package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/home"
	"github.com/camchain/camchain/internal/version"
)

// DefaultDataDir is $CAMCHAIN_HOME/agent (CAMCHAIN_HOME defaults to
// ~/.camchain).
func DefaultDataDir() string { return home.DirOr("agent") }

// Main is the camchain-agent command line; it returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	var cfg Config
	var logLevel string
	var speed float64
	var padBitrate int64
	var memLimit int64
	var procs int
	var src SourceFlags
	var camerasFile string
	root := &cobra.Command{
		Use:           "camchain-agent",
		Short:         "camchain-agent: records, chains, signs and ships a camera's video to its hub",
		Version:       version.String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	root.PersistentFlags().StringVar(&cfg.DataDir, "data", DefaultDataDir(), "agent data directory (the camera's storage)")

	run := &cobra.Command{
		Use:   "run",
		Short: "Record a camera (RTSP, or the built-in sample clip), show a pairing code while unowned, upload to the paired hub",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
				return errors.New("--log-level: want debug, info, warn or error")
			}
			cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
			cfg.Out = stdout
			setMemoryLimit(memLimit)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if camerasFile != "" {
				f, err := LoadCamerasFile(camerasFile)
				if err != nil {
					return err
				}
				setProcs(len(f.Cameras), procs)
				return RunCameras(ctx, f, cfg)
			}
			setProcs(1, procs)
			src.Speed = speed
			if err := src.expand(os.Getenv); err != nil {
				return err
			}
			var setState func(feedchain.Stream, string)
			if err := src.apply(&cfg, cfg.Logger, &setState); err != nil {
				return err
			}
			if p, ok := cfg.Source.(*PacedSample); ok {
				p.PadBitrate = padBitrate
			}
			a, err := Open(cfg)
			if err != nil {
				return err
			}
			setState = a.SetSourceState
			fmt.Fprintf(stdout, "camchain-agent: camera %s, data %s\n", a.Address().Hex(), cfg.DataDir)
			return a.Run(ctx)
		},
	}
	run.Flags().StringVar(&cfg.PairListen, "pair-listen", "127.0.0.1:0", "pairing endpoint listen address")
	run.Flags().StringVar(&cfg.PairAdvertise, "pair-advertise", "", "address put in the pairing code (default: the bound listen address)")
	run.Flags().Int64Var(&cfg.MaxBytes, "max-bytes", DefaultMaxBytes, "storage budget for segments in bytes (the SD card)")
	run.Flags().DurationVar(&cfg.MaxAge, "retention", DefaultMaxAge, "keep acknowledged segments this long")
	run.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	run.Flags().Int64Var(&padBitrate, "pad-bitrate", 0, "pad the sample's segments up to this many bits/s (benchmarks of a higher-bitrate camera)")
	run.Flags().MarkHidden("pad-bitrate")
	run.Flags().Int64Var(&memLimit, "memory-limit", DefaultMemoryLimit, "soft memory limit in bytes for the Go runtime (0: none; GOMEMLIMIT overrides)")
	run.Flags().IntVar(&procs, "procs", 0, "processors the Go runtime runs on (0: one per 4 cameras, at most the machine's cores; GOMAXPROCS overrides)")
	run.Flags().DurationVar(&cfg.CodeTTL, "code-ttl", 0, "pairing code lifetime (default 15m)")
	run.Flags().MarkHidden("code-ttl")
	run.Flags().DurationVar(&cfg.MaxBackoff, "max-backoff", 0, "longest wait between reconnects to the hub (default 30s)")
	run.Flags().StringVar(&src.Source, "source", SampleSourceName, "what to record: rtsp://[user:pass@]host[:port]/path, or \"sample\" (the built-in clip); ${NAME} is read from the environment (keep the password off the command line)")
	run.Flags().StringVar(&src.SubSource, "sub-source", "", "the camera's sub stream (rtsp://…), recorded as stream \"sub\" of the same chain")
	run.Flags().StringVar(&src.Transport, "rtsp-transport", "tcp", "RTSP media transport: tcp or udp")
	run.Flags().DurationVar(&src.Segment, "segment", 2*time.Second, "segment length to aim for (cut at the first IDR after it; at least 1s)")
	run.Flags().DurationVar(&src.Parts, "parts", 0, "also stream each segment as it is recorded, in parts of this length (e.g. 200ms), for low-latency live view (RTSP sources; 0: off)")
	run.Flags().DurationVar(&src.ReadTimeout, "camera-timeout", 0, "drop and retry a camera silent this long (default 10s)")
	run.Flags().DurationVar(&src.MaxBackoff, "camera-max-backoff", 0, "longest wait between reconnects to the camera (default 30s)")
	run.Flags().StringVar(&camerasFile, "config", "", "a cameras file (YAML): record several cameras in this process, each with its own data directory (see cameras.example.yaml); --data and the source flags are then ignored")
	run.Flags().Float64Var(&speed, "speed", 1, "play the sample clip at this multiple of real time (tests and demos)")

	reset := &cobra.Command{
		Use:   "reset",
		Short: "The physical reset button: sign the camera's Reset, forget the owner and hub, show a new pairing code",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			var r controlReply
			err := Control(cfg.DataDir, "reset", &r)
			if errors.Is(err, ErrNotRunning) {
				// Not running: reset the stored state directly.
				cfg.Out = stdout
				a, err := Open(cfg)
				if err != nil {
					return err
				}
				defer a.Close()
				msg, err := a.Reset()
				if err != nil {
					return err
				}
				fmt.Fprintln(stdout, msg)
				return nil
			}
			if err != nil {
				return err
			}
			if !r.OK {
				return errors.New(r.Error)
			}
			fmt.Fprintln(stdout, r.Message)
			return nil
		},
	}

	status := &cobra.Command{
		Use:   "status",
		Short: "Show the running agent's state as JSON",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			var s Status
			if err := Control(cfg.DataDir, "status", &s); err != nil {
				return err
			}
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(s)
		},
	}
	root.AddCommand(run, reset, status)
	if err := root.Execute(); err != nil {
		fmt.Fprintf(stderr, "camchain-agent: error: %v\n", err)
		return 1
	}
	return 0
}
