package testcam

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"
	"github.com/pion/rtp"
)

// SamplePath is the path that plays the built-in sample clip.
const SamplePath = "/sample"

// Server is the test camera. Set the fields, then Start, then Close.
type Server struct {
	// Addr is the RTSP listen address, e.g. "127.0.0.1:8554" (":0" picks a
	// port; Addr() tells which).
	Addr string
	// UDPRTP and UDPRTCP, if set, are the UDP ports' addresses (an even
	// port and the next one, e.g. "127.0.0.1:8000" and "127.0.0.1:8001");
	// without them the server is TCP-only.
	UDPRTP, UDPRTCP string
	// User and Pass, if set, are required of readers and publishers.
	User, Pass string
	// Logger receives one line per session; nil discards.
	Logger *slog.Logger

	srv    *gortsplib.Server
	ln     net.Listener
	mu     sync.Mutex
	paths  map[string]*published
	sample *sampleStreamer
}

// published is a path's stream and the session that feeds it.
type published struct {
	stream    *gortsplib.ServerStream
	publisher *gortsplib.ServerSession
}

// Start listens and starts serving, including the sample stream.
func (s *Server) Start() error {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	// Bind first so that ":0" works and Addr() is known before any client.
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("testcam: listen %s: %w", s.Addr, err)
	}
	s.ln = ln
	s.paths = map[string]*published{}
	s.srv = &gortsplib.Server{
		Handler:        s,
		RTSPAddress:    ln.Addr().String(),
		UDPRTPAddress:  s.UDPRTP,
		UDPRTCPAddress: s.UDPRTCP,
		Listen: func(network, address string) (net.Listener, error) {
			if network == "tcp" && address == ln.Addr().String() {
				return ln, nil
			}
			return net.Listen(network, address)
		},
	}
	if err := s.srv.Start(); err != nil {
		ln.Close()
		return fmt.Errorf("testcam: %w", err)
	}
	sample, err := newSampleStreamer(s.srv)
	if err != nil {
		s.srv.Close()
		return err
	}
	s.sample = sample
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Address() string { return s.ln.Addr().String() }

// Close stops the server, the sample stream and every session.
func (s *Server) Close() {
	s.sample.close()
	s.mu.Lock()
	for _, p := range s.paths {
		p.stream.Close()
	}
	s.paths = map[string]*published{}
	s.mu.Unlock()
	s.srv.Close()
}

// authorized checks the request's credentials when the server has some.
func (s *Server) authorized(c *gortsplib.ServerConn, req *base.Request) bool {
	return s.User == "" || c.VerifyCredentials(req, s.User, s.Pass)
}

func unauthorized() (*base.Response, error) {
	return &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
}

// OnSessionClose drops a path whose publisher left, disconnecting its
// readers, as a camera that goes away would.
func (s *Server) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for path, p := range s.paths {
		if p.publisher == ctx.Session {
			p.stream.Close()
			delete(s.paths, path)
			s.Logger.Info("publisher left", "path", path)
		}
	}
}

// streamFor is the stream readers of path get, or nil.
func (s *Server) streamFor(path string) *gortsplib.ServerStream {
	if path == SamplePath {
		return s.sample.stream
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.paths[path]; p != nil {
		return p.stream
	}
	return nil
}

// serve answers a reader's DESCRIBE or SETUP: the path's stream, to a
// reader with the credentials.
func (s *Server) serve(c *gortsplib.ServerConn, req *base.Request, path string) (*base.Response, *gortsplib.ServerStream, error) {
	if !s.authorized(c, req) {
		r, err := unauthorized()
		return r, nil, err
	}
	st := s.streamFor(path)
	if st == nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, st, nil
}

// OnDescribe serves the path's stream description.
func (s *Server) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return s.serve(ctx.Conn, ctx.Request, ctx.Path)
}

// OnAnnounce takes a publisher for any path but the sample's; a new
// publisher replaces the previous one.
func (s *Server) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	if !s.authorized(ctx.Conn, ctx.Request) {
		return unauthorized()
	}
	if ctx.Path == SamplePath || !strings.HasPrefix(ctx.Path, "/") {
		return &base.Response{StatusCode: base.StatusBadRequest}, errors.New("testcam: cannot publish to " + ctx.Path)
	}
	st := &gortsplib.ServerStream{Server: s.srv, Desc: ctx.Description}
	if err := st.Initialize(); err != nil {
		return &base.Response{StatusCode: base.StatusBadRequest}, err
	}
	s.mu.Lock()
	old := s.paths[ctx.Path]
	s.paths[ctx.Path] = &published{stream: st, publisher: ctx.Session}
	s.mu.Unlock()
	if old != nil {
		old.stream.Close()
		old.publisher.Close()
	}
	s.Logger.Info("publisher announced", "path", ctx.Path, "medias", len(ctx.Description.Medias))
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnSetup sets up a reader on the path's stream, or a publisher's media.
func (s *Server) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if ctx.Session.State() == gortsplib.ServerSessionStatePreRecord {
		return &base.Response{StatusCode: base.StatusOK}, nil, nil
	}
	return s.serve(ctx.Conn, ctx.Request, ctx.Path)
}

// OnPlay lets a set-up reader play.
func (s *Server) OnPlay(*gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnRecord routes the publisher's packets to the path's readers.
func (s *Server) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (*base.Response, error) {
	s.mu.Lock()
	p := s.paths[ctx.Path]
	s.mu.Unlock()
	if p == nil || p.publisher != ctx.Session {
		return &base.Response{StatusCode: base.StatusBadRequest}, errors.New("testcam: RECORD without ANNOUNCE")
	}
	st := p.stream
	ctx.Session.OnPacketRTPAny(func(medi *description.Media, _ format.Format, pkt *rtp.Packet) {
		st.WritePacketRTP(medi, pkt) //nolint:errcheck // a reader gone is not the publisher's problem
	})
	return &base.Response{StatusCode: base.StatusOK}, nil
}
