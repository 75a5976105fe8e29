package link

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/store"
)

// HandshakeTimeout bounds the TLS handshake plus Hello/Welcome.
const HandshakeTimeout = 15 * time.Second

// ServerChain is the hub's store of one camera's chain in one epoch.
type ServerChain interface {
	ChainView
	SecretStore
	// Append verifies and durably stores a record and its segment; it
	// returns only once both survive a crash. It must not keep data: the
	// link reuses the buffer for the next segment.
	Append(r *feedchain.Record, data []byte) error
}

// Backend is what the link server needs from the hub.
type Backend interface {
	// Authorize decides whether this camera, in this epoch, presenting this
	// TLS key, may connect: it must be imprinted and bound to this hub on
	// the ledger, with the key pinned at pairing.
	Authorize(camera keys.Address, epoch uint64, pin Pin) error
	// Chain opens the chain of the camera's stream in the epoch (each
	// stream is its own chain, SPEC §6.5).
	Chain(camera keys.Address, epoch uint64, stream feedchain.Stream) (ServerChain, error)
	// Alarm reports an event for the audit log (chain divergence, clone
	// suspicion, alarms the camera sends).
	// It returns once the alarm is persisted (an error if it could not
	// be): a camera's alarm counts as delivered only then.
	Alarm(camera keys.Address, kind audit.Kind, detail string, at time.Time) error
}

// Resyncs is where the hub keeps owner-signed resyncs (SPEC §7.2) until
// their camera has re-keyed.
type Resyncs interface {
	// Pending returns the encoded SignedResync waiting for the camera in
	// the epoch, or nil.
	Pending(camera keys.Address, epoch uint64) []byte
	// Done is told that the camera proved a chain secret this hub holds:
	// a pending resync is no longer needed.
	Done(camera keys.Address, epoch uint64)
}

// Observer is told of sessions, refusals and segments as they happen. Its
// methods are called on the session's goroutine and must not block.
type Observer interface {
	SessionStarted(camera keys.Address)
	SessionEnded(camera keys.Address)
	// Refused: the hub refused a session with code; camera is zero when
	// refused before the camera was known.
	Refused(camera keys.Address, code RefuseCode)
	SegmentReceived(camera keys.Address, bytes int)
	// Acknowledged: record seq is stored and its Ack written, took after
	// the segment was read.
	Acknowledged(camera keys.Address, seq uint64, took time.Duration)
}

// PartSink takes the parts of a camera's open segment as they arrive,
// checked: signed by the camera, following the chain's head and the part
// before them. Called on the session's goroutine: it must not block. The
// data is the sink's to keep.
type PartSink interface {
	Part(camera keys.Address, p *feedchain.Part, data []byte)
}

type nopObserver struct{}

func (nopObserver) SessionStarted(keys.Address)                      {}
func (nopObserver) SessionEnded(keys.Address)                        {}
func (nopObserver) Refused(keys.Address, RefuseCode)                 {}
func (nopObserver) SegmentReceived(keys.Address, int)                {}
func (nopObserver) Acknowledged(keys.Address, uint64, time.Duration) {}

// Server accepts camera connections.
type Server struct {
	Identity *Identity
	Key      keys.Signer // the hub's ledger key
	Backend  Backend
	Logger   *slog.Logger
	// Limits bounds concurrent connections, in total and per source
	// address (zero: the defaults of ConnLimits).
	Limits ConnLimits
	// Resyncs holds owner-signed resyncs waiting for their camera (nil:
	// none are ever delivered).
	Resyncs Resyncs
	// Observer is told what the link does (metrics, integrations); nil:
	// nobody.
	Observer Observer
	// Parts receives the parts (SPEC §7.3) the hub checked, for live
	// viewers; nil: parts are checked and dropped.
	Parts PartSink
	// Access is what the hub forwards to cameras that speak version 5
	// (SPEC §7.4); nil: nothing.
	Access AccessSource
	// Envelopes keeps the content-key envelopes cameras send (SPEC §7.4);
	// nil: they are checked and dropped.
	Envelopes EnvelopeStore

	acceptor Acceptor
	mu       sync.Mutex
	live     map[liveKey]net.Conn
}

// liveKey is one chain's session: one per camera and stream.
type liveKey struct {
	cam    keys.Address
	stream feedchain.Stream
}

// Serve accepts connections on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Observer == nil {
		s.Observer = nopObserver{}
	}
	s.mu.Lock()
	s.live = map[liveKey]net.Conn{}
	s.mu.Unlock()
	cfg := ServerConfig(s.Identity)
	return s.acceptor.Serve(ln, s.Limits, func(c net.Conn) { s.session(tls.Server(c, cfg)) })
}

// Close stops accepting and ends every session, waiting for them.
func (s *Server) Close() error { return s.acceptor.Close() }

// LiveCameras returns the cameras connected now (with any stream).
func (s *Server) LiveCameras() []keys.Address {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]keys.Address, 0, len(s.live))
	seen := map[keys.Address]bool{}
	for k := range s.live {
		if !seen[k.cam] {
			seen[k.cam] = true
			out = append(out, k.cam)
		}
	}
	return out
}

// Live reports whether the camera's stream has a session now.
func (s *Server) Live(camera keys.Address, stream feedchain.Stream) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.live[liveKey{camera, stream}]
	return ok
}

func (s *Server) refuse(c *Conn, cam keys.Address, code RefuseCode, format string, args ...any) {
	s.Observer.Refused(cam, code)
	reason := fmt.Sprintf(format, args...)
	if len(reason) > MaxText {
		reason = reason[:MaxText]
	}
	c.Write(TypeRefuse, &Refuse{Code: code, Reason: reason})
}

func (s *Server) session(tc *tls.Conn) {
	log := s.Logger.With("remote", tc.RemoteAddr().String())
	tc.SetDeadline(time.Now().Add(HandshakeTimeout))
	ctx, cancel := context.WithTimeout(context.Background(), HandshakeTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		log.Debug("link: TLS handshake failed", "err", err)
		return
	}
	cs := tc.ConnectionState()
	exp, err := Exporter(cs)
	if err != nil {
		log.Warn("link: no channel binding", "err", err)
		return
	}
	pin, _ := PeerPin(cs)
	c := NewConn(tc)
	var h Hello
	if err := c.Expect(TypeHello, &h); err != nil {
		log.Info("link: bad hello", "err", err)
		if errors.Is(err, ErrProtocol) {
			s.refuse(c, keys.Address{}, RefuseProtocol, "not a version %d Hello (an older camchain-agent? upgrade it to this hub's release): %v", ProtocolVersion, err)
		}
		return
	}
	if err := VerifyHello(exp, h); err != nil {
		log.Warn("link: hello refused", "camera", h.Camera.Hex(), "err", err)
		s.refuse(c, keys.Address{}, RefuseIdentity, "%v", err)
		return
	}
	cam := h.Camera
	key := liveKey{cam, h.Stream}
	log = log.With("camera", cam.Hex(), "epoch", h.Epoch, "stream", h.Stream.String())
	if err := s.Backend.Authorize(cam, h.Epoch, pin); err != nil {
		log.Warn("link: camera not authorized", "err", err)
		s.refuse(c, cam, RefuseNotPaired, "%v", err)
		return
	}
	// One live connection per camera and stream: a second one is a clone
	// or a stale session; the first stays.
	s.mu.Lock()
	if _, busy := s.live[key]; busy {
		s.mu.Unlock()
		log.Warn("link: second connection refused while one is live")
		s.alarm(cam, audit.CloneSuspected, "a second connection for this camera's "+h.Stream.String()+" stream arrived from "+tc.RemoteAddr().String()+" while one is live; refused")
		s.refuse(c, cam, RefuseBusy, "camera %s already has a live connection for its %s stream", cam.Hex(), h.Stream)
		return
	}
	s.live[key] = tc
	s.mu.Unlock()
	s.Observer.SessionStarted(cam)
	defer func() {
		s.mu.Lock()
		if s.live[key] == tc {
			delete(s.live, key)
		}
		s.mu.Unlock()
		s.Observer.SessionEnded(cam)
	}()

	chain, err := s.Backend.Chain(cam, h.Epoch, h.Stream)
	if err != nil {
		log.Error("link: open chain", "err", err)
		s.refuse(c, cam, RefuseInternal, "hub cannot open the chain")
		return
	}
	hs, err := HubHandshake(chain, exp, h)
	var stale *StaleSecretError
	var resync []byte
	if errors.As(err, &stale) && stale.Ahead && s.Resyncs != nil {
		resync = s.Resyncs.Pending(cam, h.Epoch)
	}
	switch {
	case resync != nil:
		// This hub is stale, and the owner signed a resync: re-key with the
		// camera, which checks the owner's signature itself.
		hs, err = HubResync(chain, exp, h, resync)
		if err != nil {
			log.Warn("link: resync refused", "err", err)
			s.refuse(c, cam, RefuseDiverged, "%v", err)
			return
		}
		log.Warn("link: re-keying the chain secret with the owner's resync", "camera_gen", h.Gen)
	case errors.As(err, &stale) && stale.Ahead:
		// This hub is the stale side: it was restored from a backup, or a
		// copy of it talked to the camera. Only the owner's resync re-keys.
		log.Warn("link: camera's chain secret is ahead of this hub's", "err", err)
		s.alarm(cam, audit.ChainDiverged, err.Error())
		s.refuse(c, cam, RefuseDiverged, "%v", err)
		return
	case errors.Is(err, ErrSecretState):
		log.Error("link: chain secret unreadable", "err", err)
		s.refuse(c, cam, RefuseInternal, "hub cannot read the chain secret")
		return
	case err != nil:
		log.Warn("link: chain check failed", "err", err)
		s.alarm(cam, audit.CloneSuspected, err.Error())
		s.refuse(c, cam, RefuseFork, "%v", err)
		return
	case s.Resyncs != nil:
		s.Resyncs.Done(cam, h.Epoch)
	}
	// The next generation is stored before the Welcome: once the camera
	// has the Welcome it may store it, and the hub must then know it.
	if err := saveSecret(chain, hs.Store); err != nil {
		log.Error("link: store chain secret", "err", err)
		s.refuse(c, cam, RefuseInternal, "hub cannot store the chain secret")
		return
	}
	// Answered in the camera's version: a version 3 camera is served as
	// before (SPEC §7.3).
	w, err := SignWelcomeVersion(h.Version, s.Key, exp, hs.Secret, hs.AtAcked, chain.Head(), resync)
	if err != nil {
		log.Error("link: sign welcome", "err", err)
		return
	}
	if err := c.Write(TypeWelcome, &w); err != nil {
		return
	}
	tc.SetDeadline(time.Time{})
	c.AllowSegments() // the camera proved who it is and that it holds the chain
	log.Info("link: camera connected", "hub_head", chain.Head().String(), "camera_last", h.Last.Seq)
	if err := s.stream(c, tc, &sessionID{cam: cam, epoch: h.Epoch, stream: h.Stream, version: h.Version}, chain, log); err != nil {
		log.Info("link: session ended", "err", err)
	}
}

// IdleTimeout ends a session that sends nothing for this long (a camera
// sends a segment every few seconds).
const IdleTimeout = 2 * time.Minute

// frame is one message read ahead by the session's reader.
type frame struct {
	typ  byte
	body []byte
	err  error
	at   time.Time // when it was read
}

// stream processes the camera's messages. A reader goroutine reads (and
// decrypts) the next frame while this one is verified and stored, so the
// two use both cores.
// sessionID is the chain a session carries.
type sessionID struct {
	cam     keys.Address
	epoch   uint64
	stream  feedchain.Stream
	version uint64 // the protocol version the camera speaks
	// The open segment's last accepted part (nil: none), and a record
	// whose parts are dropped after one failed (partsOff).
	part     *feedchain.Part
	partsOff *uint64
}

func (s *Server) stream(c *Conn, tc *tls.Conn, id *sessionID, chain ServerChain, log *slog.Logger) error {
	frames := make(chan frame, 1)
	done := make(chan struct{})
	defer close(done)
	// Two frame buffers circulate: one being filled, one being verified.
	bufs := make(chan []byte, 2)
	bufs <- nil
	bufs <- nil
	go func() {
		for {
			var buf []byte
			select {
			case buf = <-bufs:
			case <-done:
				return
			}
			tc.SetReadDeadline(time.Now().Add(IdleTimeout))
			typ, body, err := c.ReadInto(buf)
			select {
			case frames <- frame{typ, body, err, time.Now()}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	var access accessPusher
	if err := access.push(s, c, id); err != nil {
		return err
	}
	poll := time.NewTicker(AccessPoll)
	defer poll.Stop()
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				return nil
			}
			if err := s.handle(c, f, id, chain, log); err != nil {
				return err
			}
			bufs <- f.body[:0]
		case <-poll.C:
			if err := access.push(s, c, id); err != nil {
				return err
			}
		}
	}
}

// alarm reports an alarm the hub itself raised.
func (s *Server) alarm(cam keys.Address, kind audit.Kind, detail string) {
	if err := s.Backend.Alarm(cam, kind, detail, time.Now()); err != nil {
		s.Logger.Error("alarm not persisted", "camera", cam.Hex(), "kind", kind, "err", err)
	}
}

// handle processes one frame of the session.
func (s *Server) handle(c *Conn, f frame, id *sessionID, chain ServerChain, log *slog.Logger) error {
	cam := id.cam
	if f.err != nil {
		return f.err
	}
	switch f.typ {
	case TypeRefuse:
		// The camera found the hub's chain not its own. The hub is
		// genuine in its own eyes, so the camera is a clone or lost
		// its state: report it.
		var rf Refuse
		if Decode(f.body, &rf) == nil {
			s.alarm(cam, audit.CloneSuspected, "camera refused the hub's chain: "+string(rf.Code)+": "+rf.Reason)
		}
		return fmt.Errorf("camera refused: %s", rf.Reason)
	case TypeSegment:
		rec, data, err := DecodeSegment(f.body)
		if err != nil {
			s.refuse(c, cam, RefuseBadRecord, "%v", err)
			return err
		}
		s.Observer.SegmentReceived(cam, len(data))
		if err := s.accept(c, id, chain, rec, data, f.at, log); err != nil {
			return err
		}
	case TypePart:
		if id.version < PartsVersion {
			s.refuse(c, cam, RefuseProtocol, "a Part frame in a version %d session (parts need version %d)", id.version, PartsVersion)
			return fmt.Errorf("%w: Part frame in a version %d session", ErrProtocol, id.version)
		}
		st, data, err := DecodePart(f.body)
		if err != nil {
			s.refuse(c, cam, RefuseProtocol, "%v", err)
			return err
		}
		s.part(id, chain, st, data, log)
	case TypeEnvelope:
		if id.version < E2EEVersion {
			s.refuse(c, cam, RefuseProtocol, "a KeyEnvelope frame in a version %d session (envelopes need version %d)", id.version, E2EEVersion)
			return fmt.Errorf("%w: KeyEnvelope frame in a version %d session", ErrProtocol, id.version)
		}
		// Stored before the next frame is read: the segments sealed under
		// its key follow it.
		if err := s.envelope(id, f.body); err != nil {
			if errors.Is(err, ErrProtocol) {
				s.refuse(c, cam, RefuseProtocol, "%v", err)
			} else {
				s.refuse(c, cam, RefuseInternal, "key envelope not stored")
			}
			return err
		}
	case TypeAlarm:
		var a Alarm
		if err := Decode(f.body, &a); err != nil {
			s.refuse(c, cam, RefuseProtocol, "%v", err)
			return err
		}
		// Handled before the next frame is read: when the camera sees the
		// Ack of a record it sent after this alarm, the alarm is persisted.
		if err := s.Backend.Alarm(cam, a.Kind.Kind(), a.Detail, time.Unix(a.At, 0)); err != nil {
			return fmt.Errorf("alarm from camera %s not persisted: %w", cam.Hex(), err)
		}
	default:
		s.refuse(c, cam, RefuseProtocol, "unexpected message type %d", f.typ)
		return fmt.Errorf("%w: message type %d", ErrProtocol, f.typ)
	}
	return nil
}

func (s *Server) accept(c *Conn, id *sessionID, chain ServerChain, record, data []byte, read time.Time, log *slog.Logger) error {
	cam, epoch := id.cam, id.epoch
	r, err := feedchain.Parse(record)
	if err != nil {
		s.refuse(c, cam, RefuseBadRecord, "%v", err)
		return err
	}
	if r.Camera != cam || r.Epoch != epoch {
		s.refuse(c, cam, RefuseBadRecord, "record for camera %s epoch %d on the session of %s epoch %d", r.Camera.Hex(), r.Epoch, cam.Hex(), epoch)
		return errors.New("record for another camera or epoch")
	}
	if err := feedchain.VerifyStream(id.stream, r); err != nil {
		s.refuse(c, cam, RefuseBadRecord, "record #%d on the %s stream's session: %v", r.Seq, id.stream, err)
		return err
	}
	head := chain.Head()
	if head.Valid && r.Seq <= head.Seq {
		mine, _ := chain.HashAt(r.Seq)
		if mine == r.Hash() {
			// A record the hub already holds, sent again after the
			// handshake told the camera where to resume: a replay.
			log.Warn("link: replayed record refused", "seq", r.Seq)
			s.refuse(c, cam, RefuseReplay, "record #%d is already stored; nothing replayed is accepted", r.Seq)
			return fmt.Errorf("replayed record #%d", r.Seq)
		}
		detail := fmt.Sprintf("fork at record #%d: stored %s, received %s — two records with one sequence number (cloned camera?)", r.Seq, mine.Short(), r.Hash().Short())
		log.Warn("link: fork", "seq", r.Seq)
		s.alarm(cam, audit.CloneSuspected, detail)
		s.refuse(c, cam, RefuseFork, "%s", detail)
		return errors.New(detail)
	}
	// The ack signs the record's hash, known already: sign it while the
	// chain checks and stores the segment (its SHA-256, the disk), and
	// send it only once Append has succeeded.
	signed := make(chan signedAck, 1)
	go func() {
		a, err := feedchain.SignAck(s.Key, cam, epoch, r.Seq, r.Hash())
		signed <- signedAck{a, err}
	}()
	if err := chain.Append(r, data); err != nil {
		<-signed
		if errors.Is(err, store.ErrUnavailable) {
			// Not the camera's fault: nothing is acknowledged, the camera
			// keeps the record and sends it again when it reconnects.
			log.Error("link: recordings store unavailable; record not acknowledged", "seq", r.Seq, "err", err)
			s.refuse(c, cam, RefuseInternal, "record #%d not stored: the hub's recordings store is unavailable; send it again later", r.Seq)
			return err
		}
		log.Warn("link: record refused", "seq", r.Seq, "err", err)
		s.refuse(c, cam, RefuseBadRecord, "record #%d: %v", r.Seq, err)
		return err
	}
	ack := <-signed
	if ack.err != nil {
		return ack.err
	}
	if err := c.Write(TypeAck, &Ack{Seq: ack.Seq, Head: ack.Head, Sig: ack.Sig}); err != nil {
		return err
	}
	s.Observer.Acknowledged(cam, r.Seq, time.Since(read))
	return nil
}

// part checks one part of the open segment and hands it to the sink. A
// part that fails is dropped with the rest of its segment's parts, and
// the session goes on: parts are a preview, the segment's record (which
// binds them) follows on this session anyway.
func (s *Server) part(id *sessionID, chain ServerChain, statement, data []byte, log *slog.Logger) {
	p, err := feedchain.ParsePart(statement)
	if err == nil {
		err = feedchain.VerifyPart(p)
	}
	if err == nil && id.partsOff != nil && *id.partsOff == p.Seq {
		return
	}
	var prev *feedchain.Part
	if err == nil && p.Index > 0 {
		prev = id.part
		if prev == nil || prev.Seq != p.Seq {
			err = fmt.Errorf("part %d of record %d without part %d before it", p.Index, p.Seq, p.Index-1)
		}
	}
	if err == nil {
		err = feedchain.VerifyPartNext(id.cam, id.epoch, id.stream, chain.Head(), prev, p)
	}
	if err == nil {
		err = feedchain.VerifyPartData(p, data)
	}
	if err != nil {
		log.Warn("link: part dropped, and the rest of its segment's", "err", err)
		id.part = nil
		if p != nil {
			seq := p.Seq
			id.partsOff = &seq
		}
		return
	}
	id.part = p
	if s.Parts != nil {
		s.Parts.Part(id.cam, p, bytes.Clone(data))
	}
}

// signedAck is an acknowledgement signed ahead of its sending.
type signedAck struct {
	feedchain.Ack
	err error
}
