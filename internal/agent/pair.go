package agent

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mdp/qrterminal/v3"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/pairing"
	"github.com/camchain/camchain/internal/tx"
)

func (a *Agent) codePath() string { return filepath.Join(a.cfg.DataDir, "pairing-code.txt") }

// newCodeLocked draws a new one-time pairing code and shows it: console,
// QR code, and the pairing-code.txt file (the stand-in for a sticker or a
// screen: readable only with physical access to the device).
func (a *Agent) newCodeLocked() {
	if a.pairAddr == "" {
		return // not running: the next start shows a code
	}
	c, err := pairing.NewCode(a.key.Address(), a.pairAddr, a.tlsID.Pin, a.state.Epoch, time.Now().Add(a.cfg.CodeTTL-pairing.CodeTTL))
	if err != nil {
		a.log.Error("cannot make a pairing code", "err", err)
		return
	}
	a.code = c
	s := c.String()
	if err := os.WriteFile(a.codePath(), []byte(s+"\n"), 0o600); err != nil {
		a.log.Error("cannot write the pairing code file", "err", err)
	}
	var qr bytes.Buffer
	qrterminal.GenerateWithConfig(s, qrterminal.Config{Level: qrterminal.L, Writer: &qr, HalfBlocks: true,
		BlackChar: qrterminal.BLACK_BLACK, WhiteChar: qrterminal.WHITE_WHITE, BlackWhiteChar: qrterminal.BLACK_WHITE,
		WhiteBlackChar: qrterminal.WHITE_BLACK, QuietZone: 1})
	fmt.Fprintf(a.cfg.Out, "\ncamera %s is not paired. One-time pairing code (valid until %s):\n\n  %s\n\n%s\nPair it with:  camchain pair %s --hub <hub URL>\n(the code is also in %s)\n\n",
		a.key.Address().Hex(), time.Unix(c.Expiry, 0).Format(time.TimeOnly), s, qr.String(), s, a.codePath())
}

// refusePair records a refused pairing attempt and returns the error the
// owner's command shows.
// Called with a.mu held. At most maxRefusalAlarms refused attempts a minute
// become alarms (each is fsynced and sent to the hub); beyond that one more
// alarm says attempts are being dropped, so a flood on the network cannot
// fill the card or the audit log.
func (a *Agent) refusePair(remote, why string) error {
	now := time.Now()
	if now.Sub(a.refusalWindow) >= time.Minute {
		a.refusalWindow, a.refusals = now, 0
	}
	a.refusals++
	switch {
	case a.refusals <= maxRefusalAlarms:
		a.alarms.Raise(audit.CameraPairRefused, fmt.Sprintf("pairing attempt from %s refused: %s", remote, why))
	case a.refusals == maxRefusalAlarms+1:
		a.alarms.Raise(audit.CameraPairRefused, fmt.Sprintf("more than %d refused pairing attempts this minute (latest from %s); further ones are not recorded until the minute ends", maxRefusalAlarms, remote))
	}
	return fmt.Errorf("%s", why)
}

// maxRefusalAlarms bounds the pairing-refused alarms per minute.
const maxRefusalAlarms = 10

// Pair implements pairing.Camera: the duckling imprints on the first owner
// who presents the code shown on the device.
func (a *Agent) Pair(req *pairing.Request, remote string) (*pairing.Response, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	if a.state.Paired != nil {
		return nil, a.refusePair(remote, "this camera already has an owner; only a reset on the camera itself frees it")
	}
	code := a.code
	switch {
	case code == nil:
		return nil, a.refusePair(remote, "no pairing code is active")
	case !pairing.CheckSecret(code, req.Secret):
		if a.usedSecret != nil && pairing.CheckSecret(&pairing.Code{Secret: *a.usedSecret}, req.Secret) {
			return nil, a.refusePair(remote, "this pairing code was already used; read the current one on the camera")
		}
		return nil, a.refusePair(remote, "wrong pairing code; read the code shown on the camera")
	case code.Expired(now):
		a.newCodeLocked()
		return nil, a.refusePair(remote, "this pairing code has expired; the camera now shows a new one")
	}
	// From here the secret was right: the code is spent whatever happens.
	secret := code.Secret
	a.usedSecret = &secret
	a.code = nil
	os.Remove(a.codePath())
	a.state.UsedCodes++
	defer func() {
		if a.state.Paired == nil {
			a.newCodeLocked()
		}
	}()
	if req.Epoch < a.state.Epoch {
		return nil, a.refusePair(remote, fmt.Sprintf("imprint names epoch %d, the camera is in epoch %d", req.Epoch, a.state.Epoch))
	}
	if req.ChainID == 0 || req.HubLink == "" || req.HubAPI == "" || req.Owner == (keys.Address{}) || req.Hub == (keys.Address{}) {
		return nil, a.refusePair(remote, "incomplete pairing request (owner, hub, hub link and API are required)")
	}
	imp := req.Imprint(a.key.Address())
	d, err := tx.Digest(req.ChainID, imp)
	if err != nil {
		return nil, a.refusePair(remote, err.Error())
	}
	if who, err := keys.Recover(d, req.OwnerSig); err != nil || who != req.Owner {
		return nil, a.refusePair(remote, "the imprint is not signed by the owner it names")
	}
	camSig, err := a.key.SignDigest(d)
	if err != nil {
		return nil, err
	}
	resp := &pairing.Response{CameraSig: camSig, CameraPin: a.tlsID.Pin}
	if a.state.ResetPending != nil && a.state.ResetChainID == req.ChainID {
		if raw, err := a.signReset(req.ChainID, *a.state.ResetPending); err == nil {
			resp.PendingReset = raw
		}
	}
	if req.Epoch > a.state.Epoch {
		// The ledger moved on (the previous owner released the camera).
		if err := a.switchEpochLocked(req.Epoch); err != nil {
			return nil, err
		}
	}
	a.state.Paired = &Pairing{Owner: req.Owner.Hex(), Hub: req.Hub.Hex(), HubLink: req.HubLink, HubPin: req.HubPin.String(),
		HubAPI: req.HubAPI, ChainID: req.ChainID, PairedAt: now.UTC()}
	if err := a.state.save(a.cfg.DataDir); err != nil {
		a.state.Paired = nil
		return nil, err
	}
	a.log.Info("paired", "owner", req.Owner.Hex(), "hub", req.Hub.Hex(), "link", req.HubLink)
	fmt.Fprintf(a.cfg.Out, "camera %s paired: owner %s, hub %s\n", a.key.Address().Hex(), req.Owner.Hex(), req.Hub.Hex())
	a.startLinkLocked()
	return resp, nil
}

func (a *Agent) signReset(chainID, epoch uint64) ([]byte, error) {
	t, err := tx.Sign(chainID, &tx.Reset{Camera: a.key.Address(), Epoch: epoch, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(tx.DefaultTTL)}, a.key)
	if err != nil {
		return nil, err
	}
	return t.Encode()
}

// switchEpochLocked abandons the current chain (its unsent segments become
// prunable: they belonged to the previous owner) and starts a new one.
func (a *Agent) switchEpochLocked(epoch uint64) error {
	if h := a.chain.Head(); h.Valid {
		if err := a.chain.SetAcked(h); err != nil {
			a.log.Warn("abandon previous chain", "err", err)
		}
	}
	c, err := a.store.Chain(a.key.Address(), epoch)
	if err != nil {
		return err
	}
	a.chain = c
	a.state.Epoch = epoch
	return nil
}

// Reset is the physical reset button: it signs the camera's Reset, wipes
// the pairing and makes the camera imprintable again with a new code. The
// Reset goes to the ledger through the hub now if it can, otherwise with
// the next pairing.
func (a *Agent) Reset() (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.state.Epoch
	p := a.state.Paired
	a.stopLinkLocked()
	msg := ""
	switch {
	case p != nil:
		raw, err := a.signReset(p.ChainID, old)
		if err != nil {
			return "", err
		}
		if err := submitReset(p.HubAPI, raw); err != nil {
			a.log.Warn("reset not yet on the ledger; it goes with the next pairing", "err", err)
			a.state.ResetPending, a.state.ResetChainID = &old, p.ChainID
			msg = "reset signed; the hub was unreachable, so the next pairing delivers it to the ledger. "
		} else {
			a.state.ResetPending = nil
			msg = "reset committed to the ledger. "
		}
		a.state.Paired = nil
		if err := a.switchEpochLocked(old + 1); err != nil {
			return "", err
		}
	case a.state.ResetPending != nil:
		msg = "camera already reset (not yet on the ledger); "
	default:
		msg = "camera was not paired; "
	}
	if err := a.state.save(a.cfg.DataDir); err != nil {
		return "", err
	}
	a.newCodeLocked()
	msg += fmt.Sprintf("epoch %d; the camera shows a new pairing code", a.state.Epoch)
	a.log.Info("reset", "epoch", a.state.Epoch)
	return msg, nil
}

func submitReset(hubAPI string, raw []byte) error {
	c, err := api.NewClient(hubAPI)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = c.Submit(ctx, raw)
	return err
}

// linkConnected is told when the link to the paired hub is up: the ledger
// holds the imprint, so a pending reset is no longer needed.
func (a *Agent) linkConnected() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state.ResetPending != nil {
		a.state.ResetPending = nil
		a.state.save(a.cfg.DataDir)
	}
}
