package link

import (
	"bytes"
	"fmt"
	"time"

	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// E2EEVersion is the first protocol version with the end-to-end
// encryption frames (SPEC §7.4): Access (hub → camera) and KeyEnvelope
// (camera → hub).
const E2EEVersion = 5

// Message types of version 5.
const (
	TypeAccess   byte = 8 // hub → camera: the owner-signed access transactions
	TypeEnvelope byte = 9 // camera → hub: a content key's signed envelope
)

// Limits of the E2EE frames.
const (
	// MaxAccessTxs caps the transactions of one Access: a grant or revoke
	// and a viewing key for each of MaxAccessViewers viewers, the owner's
	// viewing key and the encryption policy.
	MaxAccessTxs = 2*MaxAccessViewers + 2
	// MaxAccessViewers is how many viewers' latest statements a hub
	// forwards (the ledger keeps at most 64 grants in force; revoked
	// viewers follow, newest first).
	MaxAccessViewers = 256
	// AccessPoll is how often the hub looks for a change of what it
	// forwards during a session.
	AccessPoll = 2 * time.Second
)

// Access carries, hub to camera, the ledger transactions a camera needs to
// know whom to encrypt to, as their signed wire bytes (tx.Encode): for
// each viewer of the camera's epoch the latest owner-signed Grant or
// Revoke, the ViewingKey registrations of the owner and of the viewers in
// force, and the owner's latest Encryption policy. The camera checks every
// signature itself (recipients.Set.Learn, tx.VerifyEncryption); the hub's
// word adds nothing. It is the whole set each time, sent after the Welcome
// and again whenever it changes.
type Access struct {
	_   struct{} `cbor:",toarray"`
	Txs [][]byte
}

// KeyEnvelope carries, camera to hub, one content key's envelope
// (e2ee.Envelope wire bytes, signed by the camera), sent before the first
// segment or part sealed under that key. The hub checks the camera's
// signature and stores it (EnvelopeStore) before it reads the next frame.
type KeyEnvelope struct {
	_    struct{} `cbor:",toarray"`
	Data []byte
}

func checkAccess(m *Access) error {
	if len(m.Txs) > MaxAccessTxs {
		return fmt.Errorf("%w: access of %d transactions, limit %d", ErrProtocol, len(m.Txs), MaxAccessTxs)
	}
	for i, t := range m.Txs {
		if len(t) == 0 || len(t) > tx.MaxTxBytes {
			return fmt.Errorf("%w: access transaction %d of %d bytes", ErrProtocol, i, len(t))
		}
	}
	return nil
}

// AccessSource is where the hub finds what to forward to a camera.
type AccessSource interface {
	// Access returns the wire bytes of the transactions (Access.Txs) for
	// the camera in epoch.
	Access(camera keys.Address, epoch uint64) ([][]byte, error)
}

// EnvelopeStore is where the hub keeps the envelopes cameras send.
type EnvelopeStore interface {
	// PutEnvelope durably stores raw, the envelope of content key serial
	// of camera in epoch, checked by the link (the camera's signature,
	// camera and epoch of the session). It returns once it survives a
	// crash. A second, different envelope for one serial is refused.
	PutEnvelope(camera keys.Address, epoch, serial uint64, raw []byte) error
}

// CameraE2EE is the camera's end-to-end encryption as its link session
// needs it.
type CameraE2EE interface {
	// Learn takes the transactions of an Access frame. It must not block
	// long: it runs on the session's reader.
	Learn(txs [][]byte)
	// Envelope returns the wire bytes of the camera's envelope of content
	// key serial in epoch.
	Envelope(epoch, serial uint64) ([]byte, error)
}

// envelopesSent are the content keys whose envelopes went out in this
// session.
type envelopesSent map[uint64]bool

// sendEnvelope sends, before sealed data goes out, the envelope of the
// content key it is sealed under, once per session. Unsealed data, and a
// session below E2EEVersion, need none.
func (c *Client) sendEnvelope(conn *Conn, version uint64, sent envelopesSent, data []byte) error {
	if c.E2EE == nil || version < E2EEVersion || !e2ee.IsSealed(data) {
		return nil
	}
	h, err := e2ee.ParseSealedHeader(data)
	if err != nil || sent[h.Serial] {
		return nil
	}
	raw, err := c.E2EE.Envelope(h.Epoch, h.Serial)
	if err != nil {
		// The segment still goes: it is the record; its key is lost to
		// the hub's viewers (the camera's log says why).
		c.Logger.Error("link: no envelope for a sealed segment's content key", "serial", h.Serial, "err", err)
		sent[h.Serial] = true
		return nil
	}
	if err := conn.Write(TypeEnvelope, &KeyEnvelope{Data: raw}); err != nil {
		return err
	}
	sent[h.Serial] = true
	return nil
}

// envelope checks and stores one KeyEnvelope of the session's camera.
func (s *Server) envelope(id *sessionID, body []byte) error {
	var m KeyEnvelope
	if err := Decode(body, &m); err != nil {
		return err
	}
	e, err := e2ee.DecodeEnvelope(m.Data, id.cam)
	if err != nil {
		return fmt.Errorf("%w: key envelope: %w", ErrProtocol, err)
	}
	if e.Epoch != id.epoch {
		return fmt.Errorf("%w: key envelope of epoch %d on a session of epoch %d", ErrProtocol, e.Epoch, id.epoch)
	}
	if s.Envelopes == nil {
		return nil
	}
	return s.Envelopes.PutEnvelope(id.cam, e.Epoch, e.Serial, m.Data)
}

// accessPusher sends a session's Access frames: the set at the start and
// whenever it changes.
type accessPusher struct {
	last []byte
}

func (p *accessPusher) push(s *Server, c *Conn, id *sessionID) error {
	if s.Access == nil || id.version < E2EEVersion || id.stream != 0 {
		return nil // one session per camera carries it: the main stream's
	}
	txs, err := s.Access.Access(id.cam, id.epoch)
	if err != nil {
		s.Logger.Warn("link: access transactions not forwarded", "camera", id.cam.Hex(), "err", err)
		return nil
	}
	if len(txs) > MaxAccessTxs {
		txs = txs[:MaxAccessTxs]
	}
	m := Access{Txs: txs}
	if m.Txs == nil {
		m.Txs = [][]byte{}
	}
	b, err := encMode.Marshal(&m)
	if err != nil {
		return err
	}
	if p.last != nil && bytes.Equal(b, p.last) {
		return nil
	}
	if err := c.Write(TypeAccess, &m); err != nil {
		return err
	}
	p.last = b
	return nil
}
