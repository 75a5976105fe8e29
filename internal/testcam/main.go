package testcam

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// Main is the camchain-testcam command line; it returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("camchain-testcam", flag.ContinueOnError)
	fs.SetOutput(stderr)
	s := &Server{}
	fs.StringVar(&s.Addr, "addr", "127.0.0.1:8554", "RTSP listen address")
	fs.StringVar(&s.UDPRTP, "udp-rtp", "", "UDP RTP address (an even port), e.g. 127.0.0.1:8000; empty: TCP only")
	fs.StringVar(&s.UDPRTCP, "udp-rtcp", "", "UDP RTCP address (the RTP port + 1)")
	fs.StringVar(&s.User, "user", "", "require this user name of readers and publishers")
	passEnv := fs.String("pass-env", "TESTCAM_PASS", "environment variable holding the password for --user")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "camchain-testcam: no arguments expected")
		return 2
	}
	if s.User != "" {
		s.Pass = os.Getenv(*passEnv)
		if s.Pass == "" {
			fmt.Fprintf(stderr, "camchain-testcam: --user needs a password in $%s\n", *passEnv)
			return 2
		}
	}
	s.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	if err := s.Start(); err != nil {
		fmt.Fprintf(stderr, "camchain-testcam: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "camchain-testcam: ready: sample at rtsp://%s%s; publish to rtsp://%s/NAME\n", s.Address(), SamplePath, s.Address())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	s.Close()
	return 0
}
