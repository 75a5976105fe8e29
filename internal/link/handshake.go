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

// SignHello builds and signs the camera's Hello. own must hold the record
// at acked.Seq.
func SignHello(k *keys.PrivateKey, exporter []byte, epoch uint64, acked, last feedchain.Head) (Hello, error) {
	h := Hello{Version: ProtocolVersion, Camera: k.Address(), Epoch: epoch,
		Acked: WireSeq{Valid: acked.Valid, Seq: acked.Seq}, Last: WireSeq{Valid: last.Valid, Seq: last.Seq}}
	if acked.Valid {
		h.AckedProof = ChainProof("camera", exporter, acked.Hash)
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
	if h.Version != ProtocolVersion {
		return fmt.Errorf("%w: protocol version %d, this hub speaks %d", ErrProtocol, h.Version, ProtocolVersion)
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
// hash at the Hello's acknowledged sequence (ignored if there is none).
func SignWelcome(k *keys.PrivateKey, exporter []byte, h Hello, atAcked feedchain.Hash, head feedchain.Head) (Welcome, error) {
	w := Welcome{Version: ProtocolVersion, Hub: k.Address(), Head: toWire(head)}
	if h.Acked.Valid {
		w.AckedProof = ChainProof("hub", exporter, atAcked)
	}
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
	if w.Version != ProtocolVersion {
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
func CheckWelcome(own ChainView, exporter []byte, acked feedchain.Head, w Welcome) (feedchain.Head, error) {
	if acked.Valid && !EqualHashes(w.AckedProof, ChainProof("hub", exporter, acked.Hash)) {
		return feedchain.Head{}, &DivergenceError{Reason: fmt.Sprintf(
			"hub cannot prove it holds acknowledged record #%d (impostor hub, or a hub that lost its chain)", acked.Seq)}
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

// CheckHello is the hub's chain check against a camera's Hello: the camera
// must prove it holds the record the hub acknowledged, and it must not be
// behind the hub (a camera never has fewer records than it sent). It
// returns the hub's hash at the acknowledged sequence, for the Welcome.
func CheckHello(own ChainView, exporter []byte, h Hello) (feedchain.Hash, error) {
	var atAcked feedchain.Hash
	head := own.Head()
	if h.Acked.Valid {
		mine, ok := own.HashAt(h.Acked.Seq)
		if !ok || !EqualHashes(h.AckedProof, ChainProof("camera", exporter, mine)) {
			return atAcked, &DivergenceError{Reason: fmt.Sprintf("camera cannot prove it holds acknowledged record #%d as this hub stored it", h.Acked.Seq)}
		}
		atAcked = mine
	}
	switch {
	case head.Valid && !h.Last.Valid:
		return atAcked, &DivergenceError{Reason: fmt.Sprintf("camera presents an empty chain, hub holds %d records: a clone or a wiped camera (reset it)", head.Seq+1)}
	case head.Valid && h.Last.Seq < head.Seq:
		return atAcked, &DivergenceError{Reason: fmt.Sprintf("camera's newest record is #%d but the hub holds up to #%d: a clone from an old copy, or a camera that lost data", h.Last.Seq, head.Seq)}
	}
	return atAcked, nil
}

// EqualHashes compares in constant time.
func EqualHashes(a, b feedchain.Hash) bool { return subtle.ConstantTimeCompare(a[:], b[:]) == 1 }
