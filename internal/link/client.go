package link

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// CameraChain is the camera's own chain as the uploader needs it.
type CameraChain interface {
	ChainView
	SecretStore
	Acked() feedchain.Head
	SetAcked(feedchain.Head) error
	Record(seq uint64) (*feedchain.Record, error)
	Segment(seq uint64) ([]byte, error)
}

// Alarms is the camera's queue of alarms waiting to reach the hub.
type Alarms interface {
	// Raise records an alarm locally (it must survive a restart) and
	// queues it for the hub.
	Raise(kind audit.Alarm, detail string)
	// Pending returns the queued alarms, oldest first.
	Pending() []Alarm
	// Sent drops the first n queued alarms.
	Sent(n int)
}

// NoDelivery wraps a camera's alarms for a session that raises alarms but
// leaves their delivery to another session of the same camera.
func NoDelivery(a Alarms) Alarms { return noDelivery{a} }

type noDelivery struct{ a Alarms }

func (n noDelivery) Raise(kind audit.Alarm, detail string) { n.a.Raise(kind, detail) }
func (noDelivery) Pending() []Alarm                        { return nil }
func (noDelivery) Sent(int)                                {}

// Client is the camera's side of the link: it connects to its one paired
// hub, proves the chain, streams unacknowledged records in order and checks
// every acknowledgement. It never connects to any other hub.
type Client struct {
	Addr     string       // the paired hub's link address host:port
	Identity *Identity    // the camera's TLS identity
	HubPin   Pin          // the hub's TLS key, pinned at pairing
	Hub      keys.Address // the hub's ledger identity, pinned at pairing
	Key      keys.Signer  // the camera's ledger key (in memory or in a TPM)
	Epoch    uint64
	// Owner and ChainID (the ledger's EIP-712 chain id) let the camera
	// check an owner-signed resync itself (SPEC §7.2); with a zero Owner
	// no resync is accepted.
	Owner   keys.Address
	ChainID uint64
	// Stream is the stream whose chain Chain is: each stream of a camera
	// has its own chain and its own session (SPEC §7).
	Stream feedchain.Stream
	Chain  CameraChain
	// Alarms is where the session raises the alarms it finds and takes the
	// camera's pending ones from; one session per camera should deliver
	// them (the main stream's): give the others NoDelivery(alarms).
	Alarms Alarms
	// Notify receives a value whenever the camera records a new segment.
	Notify <-chan struct{}
	// Parts, if set, carries the signed parts of the segment being
	// recorded (SPEC §7.3), sent to a hub that speaks version 4 once every
	// record before them is sent; others are dropped (a part is a preview
	// for live viewers, the segment follows).
	Parts <-chan LivePart
	// E2EE, if set, takes the hub's Access frames and gives the envelopes
	// to send before sealed segments and parts (SPEC §7.4).
	E2EE CameraE2EE
	// Window is how many records may await acknowledgement (default 8).
	Window int
	// MinBackoff and MaxBackoff bound the reconnect delay (default 500 ms
	// and 30 s). After a divergence the delay starts at MaxBackoff/4.
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
	// OnState, if set, is told of connection changes.
	OnState func(state State, err error)

	version uint64 // the protocol version to speak; 0: ProtocolVersion
}

// LivePart is one part of the open segment with its camera-signed
// statement.
type LivePart struct {
	Part *feedchain.Part
	Data []byte
}

func (c *Client) defaults() {
	if c.Window <= 0 {
		c.Window = 8
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 500 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.version == 0 {
		c.version = ProtocolVersion
	}
}

func (c *Client) state(s State, err error) {
	if c.OnState != nil {
		c.OnState(s, err)
	}
}

// Run connects and streams until ctx ends, reconnecting with backoff. A
// divergence (impostor hub, ack mismatch) raises an alarm, disconnects,
// and is retried later against the same hub only; recording goes on
// meanwhile, and nothing unacknowledged is ever dropped.
func (c *Client) Run(ctx context.Context) error {
	c.defaults()
	backoff := c.MinBackoff
	for ctx.Err() == nil {
		start := time.Now()
		err := c.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var div *DivergenceError
		var ref *RefusedError
		switch {
		case errors.As(err, &div):
			c.Logger.Error("link: chain divergence: disconnected; recording continues locally", "hub", c.Addr, "err", err)
			c.Alarms.Raise(audit.ChainDivergence, fmt.Sprintf("hub %s at %s: %v", c.Hub.Hex(), c.Addr, err))
			c.state(StateDiverged, err)
			backoff = max(backoff, c.MaxBackoff/4)
		case errors.Is(err, ErrIdentity) || errors.Is(err, ErrPin):
			c.Logger.Error("link: hub failed to prove its identity: disconnected", "hub", c.Addr, "err", err)
			c.Alarms.Raise(audit.ImpostorHub, fmt.Sprintf("%s: %v", c.Addr, err))
			c.state(StateDiverged, err)
			backoff = max(backoff, c.MaxBackoff/4)
		case errors.As(err, &ref) && ref.Code.Divergent():
			c.Logger.Error("link: hub reports the chains diverged: disconnected; recording continues locally", "reason", ref.Reason)
			c.Alarms.Raise(audit.ChainDivergence, fmt.Sprintf("hub %s refused: %s", c.Hub.Hex(), ref.Reason))
			c.state(StateDiverged, err)
			backoff = max(backoff, c.MaxBackoff/4)
		case errors.As(err, &ref):
			c.Logger.Warn("link: hub refused the session", "code", ref.Code, "reason", ref.Reason)
			c.state(StateDisconnected, err)
		default:
			c.Logger.Info("link: disconnected", "err", err)
			c.state(StateDisconnected, err)
		}
		if time.Since(start) > time.Minute {
			backoff = c.MinBackoff // a long healthy session resets the backoff
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, c.MaxBackoff)
	}
	return nil
}

func (c *Client) session(ctx context.Context) error {
	d := &net.Dialer{Timeout: 10 * time.Second}
	raw, err := d.DialContext(ctx, "tcp", c.Addr)
	if err != nil {
		return err
	}
	tc := tls.Client(raw, ClientConfig(c.Identity, c.HubPin))
	defer tc.Close()
	stop := context.AfterFunc(ctx, func() { tc.Close() })
	defer stop()
	tc.SetDeadline(time.Now().Add(HandshakeTimeout))
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("TLS handshake with %s: %w", c.Addr, err)
	}
	exp, err := Exporter(tc.ConnectionState())
	if err != nil {
		return err
	}
	conn := NewConn(tc)
	acked := c.Chain.Acked()
	st, err := loadSecret(c.Chain)
	if err != nil {
		return err
	}
	hello, err := SignHelloVersion(c.version, c.Key, exp, c.Epoch, c.Stream, st.Gen, st.Secret, c.Chain, acked)
	if err != nil {
		return err
	}
	if err := conn.Write(TypeHello, &hello); err != nil {
		return err
	}
	var w Welcome
	if err := conn.Expect(TypeWelcome, &w); err != nil {
		var ref *RefusedError
		if errors.As(err, &ref) && ref.Code == RefuseProtocol && c.version > MinProtocolVersion {
			// A hub of an earlier release: speak the version before from
			// the next attempt on (5 → 4: no E2EE frames; 4 → 3: no
			// low-latency parts).
			c.Logger.Warn("link: the hub refused protocol version "+fmt.Sprint(c.version)+"; speaking version "+fmt.Sprint(c.version-1)+" (upgrade the hub)", "reason", ref.Reason)
			c.version--
		}
		return err
	}
	if err := VerifyWelcome(exp, c.Hub, w); err != nil {
		return err
	}
	if w.Version != hello.Version {
		return fmt.Errorf("%w: the hub answered version %d to a version %d Hello", ErrProtocol, w.Version, hello.Version)
	}
	var hubHead feedchain.Head
	if len(w.Resync) > 0 {
		hubHead, err = c.acceptResync(exp, hello, st, w)
	} else {
		hubHead, err = CheckWelcome(c.Chain, exp, st.Secret, acked, w)
		if err == nil {
			// The hub proved the chain and the secret: both move to the
			// next generation, derived from this session (the hub stored
			// it before its Welcome).
			err = saveSecret(c.Chain, SecretState{Version: SecretVersion, Gen: st.Gen + 1, Secret: Ratchet(st.Secret, exp), Spent: st.Spent})
			if err != nil {
				return err
			}
		}
	}
	if err != nil {
		conn.Write(TypeRefuse, &Refuse{Code: RefuseDiverged, Reason: err.Error()})
		return err
	}
	// The hub signed, over this session, that it holds the chain up to
	// hubHead: that is an acknowledgement.
	if hubHead.Valid && (!acked.Valid || hubHead.Seq > acked.Seq) {
		if err := c.Chain.SetAcked(hubHead); err != nil {
			return err
		}
	}
	tc.SetDeadline(time.Time{})
	if w.Version >= E2EEVersion {
		conn.AllowSegments() // the hub proved who it is: its Access frames may be large
	}
	c.Logger.Info("link: connected", "stream", c.Stream.String(), "hub", c.Hub.Hex(), "hub_head", hubHead.String(), "camera_head", c.Chain.Head().String())
	c.state(StateConnected, nil)
	return c.stream(ctx, conn, tc, hubHead, w.Version)
}

// stream sends records after sent in order, keeping at most Window
// unacknowledged, and checks each Ack against the camera's own record.
func (c *Client) stream(ctx context.Context, conn *Conn, tc *tls.Conn, hubHead feedchain.Head, version uint64) error {
	acks := make(chan Ack, c.Window)
	readErr := make(chan error, 1)
	go func() {
		for {
			typ := TypeAck
			if version >= E2EEVersion {
				// An Access frame may come between acks.
				t, body, err := conn.Read()
				if err != nil {
					readErr <- err
					return
				}
				if t == TypeAccess {
					var m Access
					if err := Decode(body, &m); err != nil {
						readErr <- err
						return
					}
					if c.E2EE != nil {
						c.E2EE.Learn(m.Txs)
					}
					continue
				}
				var a Ack
				if err := expectBody(t, body, typ, &a); err != nil {
					readErr <- err
					return
				}
				acks <- a
				continue
			}
			var a Ack
			if err := conn.Expect(typ, &a); err != nil {
				readErr <- err
				return
			}
			acks <- a
		}
	}()
	envelopes := envelopesSent{}
	next := uint64(0)
	if hubHead.Valid {
		next = hubHead.Seq + 1
	}
	var inflight []*feedchain.Record
	// Alarms written this session and not yet known to be persisted by the
	// hub. The hub handles frames in order and persists an alarm before it
	// reads on, so the Ack of any record sent after them proves they are:
	// only then are they marked sent. Unconfirmed ones are sent again next
	// session (the hub drops identical resends).
	alarmsOut, alarmsMark := 0, uint64(0)
	// The part expected next: parts of a segment go out from its part 0
	// on, without a hole, or not at all.
	var partSeq uint64
	var partNext uint32
	partsOK := version >= PartsVersion
	for {
		// Alarms first: they are small and urgent.
		if p := c.Alarms.Pending(); len(p) > alarmsOut {
			for i := alarmsOut; i < len(p); i++ {
				if err := conn.Write(TypeAlarm, &p[i]); err != nil {
					return err
				}
			}
			alarmsOut, alarmsMark = len(p), next
		}
		head := c.Chain.Head()
		for len(inflight) < c.Window && head.Valid && next <= head.Seq {
			r, err := c.Chain.Record(next)
			if err != nil {
				return fmt.Errorf("read own record #%d: %w", next, err)
			}
			data, err := c.Chain.Segment(next)
			if err != nil {
				return fmt.Errorf("read own segment #%d: %w", next, err)
			}
			tc.SetWriteDeadline(time.Now().Add(time.Minute))
			if err := c.sendEnvelope(conn, version, envelopes, data); err != nil {
				return err
			}
			if err := conn.WriteSegment(r.Marshal(), data); err != nil {
				return err
			}
			inflight = append(inflight, r)
			next++
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-readErr:
			return err
		case a := <-acks:
			if len(inflight) == 0 {
				return &DivergenceError{Reason: fmt.Sprintf("hub acknowledged record #%d that was not sent", a.Seq)}
			}
			sent := inflight[0]
			err := feedchain.VerifyAck(c.Hub, sent, feedchain.Ack{Camera: sent.Camera, Epoch: sent.Epoch, Seq: a.Seq, Head: a.Head, Sig: a.Sig})
			if err != nil {
				conn.Write(TypeRefuse, &Refuse{Code: RefuseDiverged, Reason: err.Error()})
				return &DivergenceError{Reason: err.Error()}
			}
			// After a resync the hub may be refilled below the camera's
			// acknowledgement, which never moves backwards.
			if ack := c.Chain.Acked(); !ack.Valid || sent.Seq > ack.Seq {
				if err := c.Chain.SetAcked(feedchain.HeadOf(sent)); err != nil {
					return err
				}
			}
			inflight = inflight[1:]
			if alarmsOut > 0 && sent.Seq >= alarmsMark {
				c.Alarms.Sent(alarmsOut)
				alarmsOut = 0
			}
		case lp := <-c.Parts:
			p := lp.Part
			if !partsOK || p.Seq != next || p.Index != 0 && (p.Seq != partSeq || p.Index != partNext) {
				continue // the hub lacks the records before it, or the parts before it
			}
			tc.SetWriteDeadline(time.Now().Add(time.Minute))
			if err := c.sendEnvelope(conn, version, envelopes, lp.Data); err != nil {
				return err
			}
			if err := conn.WritePart(p.Marshal(), lp.Data); err != nil {
				return err
			}
			partSeq, partNext = p.Seq, p.Index+1
		case <-c.Notify:
		case <-time.After(5 * time.Second):
			// Recheck for alarms and records even without a notification.
		}
	}
}

// acceptResync is the camera's side of a resync session: the Welcome
// carries an owner-signed resync, which the camera checks itself against
// the owner it imprinted on, its pinned hub and its epoch; the hub proves
// it derived the resync secret in this session; the hub's head must be a
// record the camera made (it may be behind the acknowledgement: the hub
// was restored from an older backup, and the camera backfills it). The
// new secret and the spent resync are stored before anything is sent.
func (c *Client) acceptResync(exp []byte, hello Hello, st SecretState, w Welcome) (feedchain.Head, error) {
	if c.Owner == (keys.Address{}) {
		return feedchain.Head{}, fmt.Errorf("%w: this camera knows no owner", ErrResync)
	}
	r, err := ParseResync(w.Resync)
	if err == nil {
		err = VerifyResync(ResyncContext{ChainID: c.ChainID, Owner: c.Owner, Camera: c.Key.Address(), Hub: c.Hub,
			Epoch: c.Epoch, Now: time.Now(), Spent: st.Spent}, r)
	}
	if err != nil {
		// The hub cannot prove the chain and offers a resync the camera
		// refuses: a divergence (an impostor replaying or forging one).
		return feedchain.Head{}, &DivergenceError{Reason: "hub cannot prove the chain secret and offers a resync this camera refuses: " + err.Error()}
	}
	secret := ResyncSecret(exp, w.Resync)
	if !EqualHashes(w.AckedProof, ChainProof("hub", exp, secret, feedchain.Hash{})) {
		return feedchain.Head{}, &DivergenceError{Reason: "hub did not derive the resync's secret in this session"}
	}
	hh := w.Head.Head()
	if err := checkHubHead(c.Chain, hh); err != nil {
		return hh, err
	}
	next := SecretState{Version: SecretVersion, Gen: hello.Gen + 1, Secret: secret, Spent: spend(st.Spent, &r.Msg, time.Now())}
	if err := saveSecret(c.Chain, next); err != nil {
		return hh, err
	}
	c.Logger.Warn("link: chain secret re-keyed with the owner's resync", "hub", c.Hub.Hex(), "hub_head", hh.String())
	return hh, nil
}
