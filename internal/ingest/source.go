package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph265"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtpmpeg4audio"
	"github.com/pion/rtp"

	"github.com/camchain/camchain/internal/media"
)

// Transport is the RTSP transport of the media.
type Transport string

// Transports.
const (
	TCP Transport = "tcp" // RTP interleaved in the RTSP connection: the default, through NAT and firewalls
	UDP Transport = "udp" // RTP over UDP: lower latency on a clean LAN, loses packets on a busy one
)

// Errors a connection ends with (wrapped, with the camera's details).
var (
	// ErrNoVideo: the camera offers no H.264 or H.265 video.
	ErrNoVideo = errors.New("ingest: the camera offers no H.264 or H.265 video")
	// ErrStalled: the camera sent no usable video for a while (nothing, or
	// nothing the segmenter could take: garbage, no keyframe).
	ErrStalled = errors.New("ingest: the camera sent no usable video")
)

// Defaults.
const (
	DefaultMinBackoff  = 500 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
	DefaultReadTimeout = 10 * time.Second
	// MinTarget is the shortest segment target a Source takes.
	MinTarget = time.Second
)

// Source records one camera stream over RTSP. Set the fields, then Run.
type Source struct {
	// URL is the camera's stream, rtsp://[user:pass@]host[:port]/path.
	URL string
	// Transport is TCP (the default) or UDP.
	Transport Transport
	// Target is the segment length aimed for (default media.DefaultTarget,
	// at least MinTarget); segments are cut at the first IDR after it.
	Target time.Duration
	// Name labels log lines (e.g. "main", "sub", a camera's name).
	Name string
	// Logger receives connection news; nil discards.
	Logger *slog.Logger
	// MinBackoff and MaxBackoff bound the wait between connection attempts
	// (defaults 500 ms and 30 s); it doubles after each failure and starts
	// again from MinBackoff after a connection that recorded something.
	MinBackoff, MaxBackoff time.Duration
	// ReadTimeout is how long the camera may stay silent, in the RTSP
	// exchange or in the media, before the connection is dropped (default
	// 10 s).
	ReadTimeout time.Duration
	// OnState, if set, hears "connecting", "recording" and "retrying in
	// …: <why>" (redacted) as they happen.
	OnState func(state string)
	// Parts, if above zero, streams each segment as parts of about this
	// length as it is recorded (media.Segmenter.Parts, SPEC §7.3) to
	// OnPart, which is then required.
	Parts  time.Duration
	OnPart func(media.Part)
	// OnFrame, if set, hears each video frame a segment takes: its decode
	// time (tfdt, 90 kHz) and when it arrived (live-latency benchmarks
	// match frames by it).
	OnFrame func(decodeTime uint64, at time.Time)

	mu          sync.Mutex // guards droppedOnce
	droppedOnce map[string]bool
}

// Validate checks the configuration and fills defaults.
func (s *Source) Validate() error {
	if _, err := parseURL(s.URL); err != nil {
		return fmt.Errorf("%w: %s", err, Redact(s.URL))
	}
	switch s.Transport {
	case "":
		s.Transport = TCP
	case TCP, UDP:
	default:
		return fmt.Errorf("ingest: transport %q: want tcp or udp", s.Transport)
	}
	if s.Target == 0 {
		s.Target = media.DefaultTarget
	}
	if s.Target < MinTarget || s.Target > media.MaxSegmentDuration {
		return fmt.Errorf("ingest: segment target %v outside [%v, %v]", s.Target, MinTarget, media.MaxSegmentDuration)
	}
	if s.MinBackoff <= 0 {
		s.MinBackoff = DefaultMinBackoff
	}
	if s.MaxBackoff <= 0 {
		s.MaxBackoff = DefaultMaxBackoff
	}
	s.MaxBackoff = max(s.MaxBackoff, s.MinBackoff)
	if s.ReadTimeout <= 0 {
		s.ReadTimeout = DefaultReadTimeout
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Parts < 0 || s.Parts > s.Target {
		return fmt.Errorf("ingest: part length %v outside [0, the segment target %v]", s.Parts, s.Target)
	}
	return nil
}

// onFrame adapts OnFrame for the Segmenter (nil without it).
func (s *Source) onFrame() func(uint64) {
	if s.OnFrame == nil {
		return nil
	}
	return func(dt uint64) { s.OnFrame(dt, time.Now()) }
}

// Redacted is the source's URL without its password.
func (s *Source) Redacted() string { return Redact(s.URL) }

// Run records until ctx ends, passing each segment to emit in order. It
// returns ctx's error, or the first error emit returns (the store failed:
// recording cannot go on). Everything the camera does wrong — refusing the
// credentials, sending no usable video, garbage, going silent, going away —
// is logged and retried with backoff.
func (s *Source) Run(ctx context.Context, emit func(media.Segment) error) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if emit == nil {
		return errors.New("ingest: Source.Run: emit is nil")
	}
	log := s.Logger.With("camera", s.Redacted(), "stream", s.Name)
	var timeline media.Timeline
	backoff := s.MinBackoff
	for {
		s.state("connecting")
		recorded, err := s.connect(ctx, log, emit, &timeline)
		var fatal *emitError
		if errors.As(err, &fatal) {
			return fatal.err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if recorded {
			backoff = s.MinBackoff
		}
		log.Warn("camera connection ended; retrying", "err", err, "in", backoff)
		s.state(fmt.Sprintf("retrying in %v: %v", backoff, err))
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, s.MaxBackoff)
	}
}

func (s *Source) state(st string) {
	if s.OnState != nil {
		s.OnState(st)
	}
}

// emitError carries an error from emit out of a connection: it ends Run.
type emitError struct{ err error }

func (e *emitError) Error() string { return e.err.Error() }

// once reports whether key is new for this Source (for one-time log lines).
func (s *Source) once(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.droppedOnce == nil {
		s.droppedOnce = map[string]bool{}
	}
	if s.droppedOnce[key] {
		return false
	}
	s.droppedOnce[key] = true
	return true
}

// connect runs one RTSP session: it returns when the camera goes away,
// ctx ends or emit fails (as an *emitError), and whether any segment was
// recorded. The timeline is read at the start and updated at the end.
func (s *Source) connect(ctx context.Context, log *slog.Logger, emit func(media.Segment) error, timeline *media.Timeline) (recorded bool, err error) {
	u, _ := parseURL(s.URL) // checked by Validate
	defer func() { err = scrub(err, u) }()
	bu, err := base.ParseURL(s.URL)
	if err != nil {
		return false, ErrBadURL
	}
	proto := gortsplib.ProtocolTCP
	if s.Transport == UDP {
		proto = gortsplib.ProtocolUDP
	}
	c := &gortsplib.Client{Scheme: bu.Scheme, Host: bu.Host, Protocol: &proto,
		ReadTimeout: s.ReadTimeout, WriteTimeout: s.ReadTimeout, InitialUDPReadTimeout: s.ReadTimeout,
		UserAgent: "camchain-agent"}
	if err := c.Start(); err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, c.Close)
	defer stop()

	desc, _, err := c.Describe(bu)
	if err != nil {
		return false, fmt.Errorf("DESCRIBE: %w", err)
	}
	tr, err := s.pickTracks(log, desc)
	if err != nil {
		return false, err
	}

	var mu sync.Mutex // the segmenter is fed from the reader goroutine(s)
	var emitErr error
	lastVideo, accepted := time.Now(), uint64(0)
	seg := &media.Segmenter{Target: s.Target, Video: tr.codec, Audio: tr.audio, Resume: *timeline,
		Parts: s.Parts, OnPart: s.OnPart, OnFrame: s.onFrame(),
		OnSegment: func(sg media.Segment) error {
			if err := emit(sg); err != nil {
				emitErr = err
				return err
			}
			if !recorded {
				s.state("recording")
				log.Info("recording", "codec", sg.Codec, "size", fmt.Sprintf("%dx%d", sg.Width, sg.Height), "clock", sg.Clock.String())
			}
			recorded = true
			return nil
		}}
	if err := seg.Initialize(); err != nil {
		return false, err
	}
	if len(tr.params) > 0 {
		seg.WriteAU(0, tr.params) //nolint:errcheck // a parameter-set-only unit adds no frame
	}
	medias := []*description.Media{tr.video}
	if tr.audioMedia != nil {
		medias = append(medias, tr.audioMedia)
	}
	for _, m := range medias {
		if _, err := c.Setup(desc.BaseURL, m, 0, 0); err != nil {
			return false, fmt.Errorf("SETUP: %w", err)
		}
	}

	warn := newLimiter(log)
	c.OnPacketRTP(tr.video, tr.videoFormat, func(pkt *rtp.Packet) {
		pts, ok := c.PacketPTS(tr.video, pkt)
		if !ok {
			return
		}
		au, err := tr.decodeVideo(pkt)
		if err != nil {
			if !errors.Is(err, rtph264.ErrMorePacketsNeeded) && !errors.Is(err, rtph264.ErrNonStartingPacketAndNoPrevious) &&
				!errors.Is(err, rtph265.ErrMorePacketsNeeded) && !errors.Is(err, rtph265.ErrNonStartingPacketAndNoPrevious) {
				warn.warn("undecodable video RTP packet dropped", err)
			}
			return
		}
		ntp, _ := c.PacketNTP(tr.video, pkt)
		mu.Lock()
		defer mu.Unlock()
		if err := seg.WriteVideo(pts, ntp, au); err != nil && emitErr == nil {
			warn.warn("video access unit dropped", err)
		}
		if n := seg.Accepted(); n != accepted {
			lastVideo, accepted = time.Now(), n
		}
		if emitErr != nil {
			c.Close()
		}
	})
	if tr.audioMedia != nil {
		c.OnPacketRTP(tr.audioMedia, tr.audioFormat, func(pkt *rtp.Packet) {
			pts, ok := c.PacketPTS(tr.audioMedia, pkt)
			if !ok {
				return
			}
			frames, err := tr.decodeAudio(pkt)
			if err != nil {
				if !errors.Is(err, rtpmpeg4audio.ErrMorePacketsNeeded) {
					warn.warn("undecodable audio RTP packet dropped", err)
				}
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for i, f := range frames {
				if err := seg.WriteAudio(pts+int64(i)*tr.audioFrameTicks, f); err != nil {
					warn.warn("audio frame dropped", err)
				}
			}
		})
	}
	if _, err := c.Play(nil); err != nil {
		return false, fmt.Errorf("PLAY: %w", err)
	}
	log.Info("camera connected", "video", tr.videoFormat.Codec(), "audio", tr.audioName(), "transport", string(s.Transport))

	// gortsplib's read timeout watches the connection; this watches the
	// video itself: a camera may keep sending audio or RTCP alone, or
	// garbage. Before the first keyframe it gets three times as long (a
	// long GOP).
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	tick := time.NewTicker(s.ReadTimeout / 4)
	defer tick.Stop()
	var end error
wait:
	for {
		select {
		case end = <-done:
			break wait
		case <-tick.C:
			mu.Lock()
			quiet, limit := time.Since(lastVideo), s.ReadTimeout
			if accepted == 0 {
				limit *= 3
			}
			mu.Unlock()
			if quiet > limit {
				c.Close()
				end = fmt.Errorf("%w for %v", ErrStalled, quiet.Round(time.Second))
				<-done
				break wait
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if emitErr == nil {
		if err := seg.Flush(); err != nil && emitErr == nil {
			warn.warn("last segment", err)
		}
	}
	*timeline = seg.Timeline()
	if emitErr != nil {
		return recorded, &emitError{emitErr}
	}
	if end == nil {
		end = errors.New("the camera closed the session")
	}
	return recorded, end
}

// tracks is what a connection records of a camera's offer.
type tracks struct {
	video       *description.Media
	videoFormat format.Format
	codec       media.VideoCodec
	params      [][]byte // out-of-band parameter sets from the SDP
	decodeVideo func(*rtp.Packet) ([][]byte, error)

	audioMedia      *description.Media
	audioFormat     format.Format
	audio           *media.AudioTrack
	audioFrameTicks int64
	decodeAudio     func(*rtp.Packet) ([][]byte, error)
}

func (t *tracks) audioName() string {
	if t.audioFormat == nil {
		return "none"
	}
	return t.audioFormat.Codec()
}

// pickTracks chooses the first H.264 or H.265 video and the first AAC or
// Opus audio of the camera's offer, and says once, clearly, what it drops.
func (s *Source) pickTracks(log *slog.Logger, desc *description.Session) (*tracks, error) {
	t := &tracks{}
	var offered []string
	for _, m := range desc.Medias {
		for _, f := range m.Formats {
			offered = append(offered, string(m.Type)+" "+f.Codec())
			switch f := f.(type) {
			case *format.H264:
				if t.video != nil {
					continue
				}
				dec, err := f.CreateDecoder()
				if err != nil {
					continue
				}
				t.video, t.videoFormat, t.codec, t.decodeVideo = m, f, media.H264, dec.Decode
				for _, p := range [][]byte{f.SPS, f.PPS} {
					if len(p) > 0 {
						t.params = append(t.params, p)
					}
				}
			case *format.H265:
				if t.video != nil {
					continue
				}
				dec, err := f.CreateDecoder()
				if err != nil {
					continue
				}
				t.video, t.videoFormat, t.codec, t.decodeVideo = m, f, media.H265, dec.Decode
				for _, p := range [][]byte{f.VPS, f.SPS, f.PPS} {
					if len(p) > 0 {
						t.params = append(t.params, p)
					}
				}
			case *format.MPEG4Audio:
				if t.audioMedia != nil || f.Config == nil {
					continue
				}
				dec, err := f.CreateDecoder()
				if err != nil {
					continue
				}
				t.audioMedia, t.audioFormat, t.audioFrameTicks, t.decodeAudio = m, f, 1024, dec.Decode
				t.audio = &media.AudioTrack{Codec: media.AAC, Config: f.Config}
			case *format.Opus:
				if t.audioMedia != nil {
					continue
				}
				dec, err := f.CreateDecoder()
				if err != nil {
					continue
				}
				t.audioMedia, t.audioFormat, t.decodeAudio = m, f, func(p *rtp.Packet) ([][]byte, error) {
					b, err := dec.Decode(p)
					return [][]byte{b}, err
				}
				ch := f.ChannelCount
				if ch < 1 || ch > 2 {
					ch = 2
				}
				t.audio = &media.AudioTrack{Codec: media.Opus, Channels: ch}
			}
		}
	}
	if t.video == nil {
		return nil, fmt.Errorf("%w (it offers: %s)", ErrNoVideo, strings.Join(offered, ", "))
	}
	for _, m := range desc.Medias {
		if m.Type != description.MediaTypeAudio || m == t.audioMedia {
			continue
		}
		for _, f := range m.Formats {
			if f == t.audioFormat {
				continue
			}
			if key := "audio " + f.Codec(); s.once(key) {
				log.Warn("camera audio not recorded: only AAC and Opus have a standard place in fMP4 that browsers play; "+
					"set the camera's audio to AAC to keep it", "codec", f.Codec())
			}
		}
	}
	return t, nil
}

// limiter logs a kind of warning at most once every 10 s, with how many
// were suppressed, so garbage from a camera cannot flood the log.
type limiter struct {
	mu   sync.Mutex
	log  *slog.Logger
	last map[string]time.Time
	n    map[string]int
}

func newLimiter(log *slog.Logger) *limiter {
	return &limiter{log: log, last: map[string]time.Time{}, n: map[string]int{}}
}

func (l *limiter) warn(what string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n[what]++
	if time.Since(l.last[what]) < 10*time.Second {
		return
	}
	l.log.Warn(what, "err", err, "count", l.n[what])
	l.last[what], l.n[what] = time.Now(), 0
}
