package link

import (
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// ErrIdentity: a handshake message is not signed by whom it must be, over
// this TLS session.
var ErrIdentity = errors.New("link peer failed to prove its ledger identity over this TLS session")

// DivergenceError: the peer does not hold the same chain. For the camera
// this means an impostor hub (or a hub that lost data); for the hub, a
// cloned camera.
type DivergenceError struct {
	Reason string
}

func (e *DivergenceError) Error() string { return "chains diverged: " + e.Reason }

// SignHello builds and signs the camera's Hello, proving under the chain
// secret of generation gen the secret itself and the acknowledged record
// (with none, record #0 of own, if it has one).
func SignHello(k keys.Signer, exporter []byte, epoch uint64, stream feedchain.Stream, gen uint64, secret Secret, own ChainView, acked feedchain.Head) (Hello, error) {
	return SignHelloVersion(ProtocolVersion, k, exporter, epoch, stream, gen, secret, own, acked)
}

// SignHelloVersion is SignHello speaking protocol version v (a camera
// falls back to MinProtocolVersion for a hub that refuses its own).
func SignHelloVersion(v uint64, k keys.Signer, exporter []byte, epoch uint64, stream feedchain.Stream, gen uint64, secret Secret, own ChainView, acked feedchain.Head) (Hello, error) {
	last := own.Head()
	h := Hello{Version: v, Camera: k.Address(), Epoch: epoch, Stream: stream, Gen: gen,
		Acked: WireSeq{Valid: acked.Valid, Seq: acked.Seq}, Last: WireSeq{Valid: last.Valid, Seq: last.Seq},
		SecretProof: ChainProof("camera", exporter, secret, feedchain.Hash{})}
	switch {
	case acked.Valid:
		h.AckedProof = ChainProof("camera", exporter, secret, acked.Hash)
	case last.Valid:
		first, ok := own.HashAt(0)
		if !ok {
			return h, fmt.Errorf("own chain has a head but no record #0")
		}
		h.AckedProof = ChainProof("camera", exporter, secret, first)
	}
	d, err := HelloDigest(exporter, h)
	if err != nil {
		return h, err
	}
	h.Sig, err = k.SignDigest(d)
	return h, err
}

// VerifyHello checks the Hello's version and that its camera signed it over
// this session.
func VerifyHello(exporter []byte, h Hello) error {
	if h.Version < MinProtocolVersion || h.Version > ProtocolVersion {
		return fmt.Errorf("%w: protocol version %d, this hub speaks %d to %d (upgrade camchain-agent to this hub's release)", ErrProtocol, h.Version, MinProtocolVersion, ProtocolVersion)
	}
	if h.Stream != feedchain.StreamMain && h.Stream != feedchain.StreamSub {
		return fmt.Errorf("%w: unknown stream %d", ErrProtocol, h.Stream)
	}
	d, err := HelloDigest(exporter, h)
	if err != nil {
		return err
	}
	got, err := keys.Recover(d, h.Sig)
	if err != nil || got != h.Camera {
		return fmt.Errorf("%w: hello for camera %s", ErrIdentity, h.Camera.Hex())
	}
	return nil
}

// SignWelcome builds and signs the hub's Welcome; atAcked is the hub's
// hash at the Hello's acknowledged sequence (zero if there is none).
func SignWelcome(k keys.Signer, exporter []byte, secret Secret, atAcked feedchain.Hash, head feedchain.Head, resync []byte) (Welcome, error) {
	return SignWelcomeVersion(ProtocolVersion, k, exporter, secret, atAcked, head, resync)
}

// SignWelcomeVersion is SignWelcome answering in protocol version v: the
// Hello's.
func SignWelcomeVersion(v uint64, k keys.Signer, exporter []byte, secret Secret, atAcked feedchain.Hash, head feedchain.Head, resync []byte) (Welcome, error) {
	w := Welcome{Version: v, Hub: k.Address(), Head: toWire(head), Resync: resync,
		AckedProof: ChainProof("hub", exporter, secret, atAcked)}
	d, err := WelcomeDigest(exporter, w)
	if err != nil {
		return w, err
	}
	w.Sig, err = k.SignDigest(d)
	return w, err
}

// VerifyWelcome checks that the Welcome comes from the pinned hub over this
// session.
func VerifyWelcome(exporter []byte, hub keys.Address, w Welcome) error {
	if w.Version < MinProtocolVersion || w.Version > ProtocolVersion {
		return fmt.Errorf("%w: protocol version %d", ErrProtocol, w.Version)
	}
	if w.Hub != hub {
		return fmt.Errorf("%w: answered as %s, paired hub is %s", ErrIdentity, w.Hub.Hex(), hub.Hex())
	}
	d, err := WelcomeDigest(exporter, w)
	if err != nil {
		return err
	}
	got, err := keys.Recover(d, w.Sig)
	if err != nil || got != hub {
		return fmt.Errorf("%w: welcome not signed by hub %s", ErrIdentity, hub.Hex())
	}
	return nil
}

// ChainView is what the handshake needs to know of one side's chain.
type ChainView interface {
	Head() feedchain.Head
	HashAt(seq uint64) (feedchain.Hash, bool)
}

// CheckWelcome is the camera's chain check: the hub must prove it holds
// the record the camera last saw acknowledged, and every record the hub
// claims must be one the camera made. It returns the hub's head (which the
// camera may treat as acknowledged).
func CheckWelcome(own ChainView, exporter []byte, secret Secret, acked feedchain.Head, w Welcome) (feedchain.Head, error) {
	var ah feedchain.Hash
	if acked.Valid {
		ah = acked.Hash
	}
	if !EqualHashes(w.AckedProof, ChainProof("hub", exporter, secret, ah)) {
		if !acked.Valid {
			return feedchain.Head{}, &DivergenceError{Reason: "hub cannot prove it holds this chain's secret (impostor hub, or a stale copy of the hub)"}
		}
		return feedchain.Head{}, &DivergenceError{Reason: fmt.Sprintf(
			"hub cannot prove it holds acknowledged record #%d and the chain secret (impostor hub, a stale copy of the hub, or a hub that lost its chain)", acked.Seq)}
	}
	hh := w.Head.Head()
	if !hh.Valid {
		if acked.Valid {
			return hh, &DivergenceError{Reason: "hub claims an empty chain but acknowledged records before"}
		}
		return hh, nil
	}
	mine, ok := own.HashAt(hh.Seq)
	if !ok {
		return hh, &DivergenceError{Reason: fmt.Sprintf("hub claims record #%d, which this camera never made", hh.Seq)}
	}
	if mine != hh.Hash {
		return hh, &DivergenceError{Reason: fmt.Sprintf("hub's record #%d is %s, camera's is %s", hh.Seq, hh.Hash.Short(), mine.Short())}
	}
	if acked.Valid && hh.Seq < acked.Seq {
		return hh, &DivergenceError{Reason: fmt.Sprintf("hub's head #%d is behind the acknowledged #%d", hh.Seq, acked.Seq)}
	}
	return hh, nil
}

// CheckHello is the hub's chain check against a camera's Hello, under the
// chain secret of the Hello's generation: the camera must prove it holds
// the secret and the record the hub acknowledged — when the hub holds
// records for the epoch, a Hello naming no acknowledged record is a fork —
// and it must not be behind the hub (a camera never has fewer records than
// it sent). It returns the hub's hash at the acknowledged sequence, for
// the Welcome.
func CheckHello(own ChainView, exporter []byte, secret Secret, h Hello) (feedchain.Hash, error) {
	var atAcked feedchain.Hash
	head := own.Head()
	if !EqualHashes(h.SecretProof, ChainProof("camera", exporter, secret, feedchain.Hash{})) {
		return atAcked, &DivergenceError{Reason: "camera cannot prove it holds the chain secret"}
	}
	switch {
	case h.Acked.Valid:
		mine, ok := own.HashAt(h.Acked.Seq)
		if !ok || !EqualHashes(h.AckedProof, ChainProof("camera", exporter, secret, mine)) {
			return atAcked, &DivergenceError{Reason: fmt.Sprintf("camera cannot prove it holds acknowledged record #%d as this hub stored it, under the chain secret", h.Acked.Seq)}
		}
		atAcked = mine
	case head.Valid:
		// The hub holds acknowledged records: a Hello that proves none of
		// them is a fork (a clone that cannot prove the chain), unless it
		// proves record #0 — a camera whose acknowledgements were cut off.
		first, _ := own.HashAt(0)
		if !h.Last.Valid || !EqualHashes(h.AckedProof, ChainProof("camera", exporter, secret, first)) {
			return atAcked, &DivergenceError{Reason: fmt.Sprintf("camera proves no acknowledged record, but this hub acknowledged records up to #%d: a clone that cannot prove the chain", head.Seq)}
		}
	}
	return atAcked, checkNotBehind(head, h)
}

// checkNotBehind: a camera never has fewer records than the hub holds.
func checkNotBehind(head feedchain.Head, h Hello) error {
	switch {
	case head.Valid && !h.Last.Valid:
		return &DivergenceError{Reason: fmt.Sprintf("camera presents an empty chain, hub holds %d records: a clone or a wiped camera (reset it)", head.Seq+1)}
	case head.Valid && h.Last.Seq < head.Seq:
		return &DivergenceError{Reason: fmt.Sprintf("camera's newest record is #%d but the hub holds up to #%d: a clone from an old copy, or a camera that lost data", h.Last.Seq, head.Seq)}
	}
	return nil
}

// EqualHashes compares in constant time.
func EqualHashes(a, b feedchain.Hash) bool { return subtle.ConstantTimeCompare(a[:], b[:]) == 1 }

// HubSide is the outcome of the hub's handshake checks.
type HubSide struct {
	Gen     uint64         // resync only: the generation both sides move to
	Secret  Secret         // the secret of the Hello's generation (or the resync's), for the Welcome's proof
	AtAcked feedchain.Hash // the hub's hash at the acknowledged record (zero if none)
	Store   SecretState    // to store before the Welcome: this generation and the next
}

// HubHandshake is the hub's whole chain check of a Hello: it finds the
// chain secret of the Hello's generation (a *StaleSecretError if it holds
// none), checks the proofs (CheckHello), and derives the next generation
// from this session.
func HubHandshake(chain interface {
	ChainView
	SecretStore
}, exporter []byte, h Hello) (HubSide, error) {
	st, err := loadSecret(chain)
	if err != nil {
		return HubSide{}, err
	}
	secret, cur, err := st.secretFor(h.Gen)
	if err != nil {
		return HubSide{}, err
	}
	atAcked, err := CheckHello(chain, exporter, secret, h)
	if err != nil {
		return HubSide{}, err
	}
	cur.Next = NextSecret{Valid: true, Gen: cur.Gen + 1, Secret: Ratchet(secret, exporter)}
	return HubSide{Secret: secret, AtAcked: atAcked, Store: cur}, nil
}

// HubResync is the hub's side of a resync session (SPEC §7.2): it cannot
// check the camera's proof (its secret is stale), so it checks only that
// the camera is not behind it; the camera checks the owner's signature and
// that the hub's head is its own record. The secret both sides move to is
// ResyncSecret of this session, stored as the hub's next generation
// (Hello.Gen + 1); the hub keeps its current one until the camera proves
// the new one, so a camera that crashed before storing it is re-keyed
// again by the same pending resync.
func HubResync(chain interface {
	ChainView
	SecretStore
}, exporter []byte, h Hello, resync []byte) (HubSide, error) {
	st, err := loadSecret(chain)
	if err != nil {
		return HubSide{}, err
	}
	r, err := ParseResync(resync)
	if err != nil {
		return HubSide{}, err
	}
	if err := checkNotBehind(chain.Head(), h); err != nil {
		return HubSide{}, err
	}
	_ = r
	secret := ResyncSecret(exporter, resync)
	cur := st
	cur.Next = NextSecret{Valid: true, Gen: max(h.Gen+1, st.Gen+1), Secret: secret}
	return HubSide{Secret: secret, Store: cur, Gen: cur.Next.Gen}, nil
}
