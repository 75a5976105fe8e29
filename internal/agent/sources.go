package agent

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/ingest"
)

// SampleSourceName is what --source takes for the built-in sample clip
// (the default).
const SampleSourceName = "sample"

// SourceFlags are the recording options of `camchain-agent run` and of a
// camera in a cameras file.
type SourceFlags struct {
	Source    string        `yaml:"source"`         // "sample" (default) or rtsp://…
	SubSource string        `yaml:"sub_source"`     // optional rtsp://… of the sub stream
	Transport string        `yaml:"rtsp_transport"` // tcp (default) or udp
	Segment   time.Duration `yaml:"segment"`        // segment target, default 2s, at least 1s
	// Parts, if set, streams each segment as it is recorded in parts of
	// about this length, for low-latency live view (RTSP sources only;
	// SPEC §7.3).
	Parts time.Duration `yaml:"parts"`
	Speed float64       `yaml:"-"` // the sample's speed (tests and demos)
	// ReadTimeout and MaxBackoff tune the camera connection (defaults
	// 10 s and 30 s).
	ReadTimeout time.Duration `yaml:"camera_timeout"`
	MaxBackoff  time.Duration `yaml:"camera_max_backoff"`
}

// apply sets cfg's sources from the flags. The RTSP sources' state reaches
// the agent's status through setState, once the agent exists.
func (f *SourceFlags) apply(cfg *Config, log *slog.Logger, setState *func(feedchain.Stream, string)) error {
	if f.Source == "" || f.Source == SampleSourceName {
		if f.Parts != 0 {
			return fmt.Errorf("--parts needs an RTSP --source (the built-in sample is paced segment by segment, not frame by frame)")
		}
		if f.SubSource != "" {
			return fmt.Errorf("--sub-source needs an RTSP --source (the built-in sample has no sub stream)")
		}
		speed := f.Speed
		if speed == 0 {
			speed = 1
		}
		cfg.Source, cfg.SourceName = &PacedSample{Speed: speed}, SampleSourceName
		return nil
	}
	mk := func(url string, stream feedchain.Stream) (*ingest.Source, error) {
		s := &ingest.Source{URL: url, Transport: ingest.Transport(f.Transport), Target: f.Segment, Name: stream.String(), Parts: f.Parts,
			Logger: log, ReadTimeout: f.ReadTimeout, MaxBackoff: f.MaxBackoff,
			OnState: func(st string) {
				if *setState != nil {
					(*setState)(stream, st)
				}
			}}
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("%s source: %w", stream, err)
		}
		return s, nil
	}
	main, err := mk(f.Source, feedchain.StreamMain)
	if err != nil {
		return err
	}
	cfg.Source, cfg.SourceName = main, main.Redacted()
	if f.SubSource != "" {
		sub, err := mk(f.SubSource, feedchain.StreamSub)
		if err != nil {
			return err
		}
		cfg.SubSource, cfg.SubSourceName = sub, sub.Redacted()
	}
	return nil
}
