package agent

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mdp/qrterminal/v3"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/pairing"
	"github.com/camchain/camchain/internal/store"
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

// maxPending bounds the imprints awaiting confirmation (each a retry by
// the owner after a failed submission).
const maxPending = 4

// Pair implements pairing.Camera: the duckling imprints on the first owner
// who presents the code shown on the device. Co-signing does not pair the
// camera: it becomes paired only once its hub shows the co-signed imprint
// committed (confirmLoop), so an imprint that never reaches the ledger
// leaves a camera that can pair again.
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
	// From here the secret was right: the code is spent whatever happens,
	// and a new one is shown (until an imprint is confirmed).
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
	if req.EVMChainID == 0 || req.HubLink == "" || req.HubAPI == "" || req.Owner == (keys.Address{}) || req.Hub == (keys.Address{}) {
		return nil, a.refusePair(remote, "incomplete pairing request (owner, hub, hub link and API are required)")
	}
	if req.Expiry <= uint64(now.Unix()) {
		return nil, a.refusePair(remote, "the imprint has expired")
	}
	imp := req.Imprint(a.key.Address())
	d, err := req.ImprintDigest(a.key.Address())
	if err != nil {
		return nil, a.refusePair(remote, err.Error())
	}
	if who, err := keys.Recover(d, req.OwnerSig); err != nil || who != req.Owner {
		return nil, a.refusePair(remote, "the imprint is not signed by the owner it names")
	}
	// The owner's encryption policy comes with the imprint, signed by the
	// owner for this imprint: the camera encrypts (or not) from its first
	// segment as the owner chose, never as whoever relayed the request.
	pol, err := req.Policy(a.key.Address())
	if err != nil {
		return nil, a.refusePair(remote, err.Error())
	}
	camSig, err := a.key.SignDigest(d)
	if err != nil {
		return nil, err
	}
	raw, err := (&tx.Tx{Domain: tx.Domain(req.Domain), EVMChainID: req.EVMChainID, Msg: imp, Sigs: []keys.Signature{req.OwnerSig, camSig}}).Encode()
	if err != nil {
		return nil, err
	}
	pinSig, err := a.key.SignDigest(pairing.PinDigest(d, a.tlsID.Pin))
	if err != nil {
		return nil, err
	}
	resp := &pairing.Response{CameraSig: camSig, CameraPin: a.tlsID.Pin, PinSig: pinSig}
	if a.state.ResetPending != nil && a.state.ResetEVMChainID == req.EVMChainID {
		if raw, err := a.signReset(req.EVMChainID, *a.state.ResetPending); err == nil {
			resp.PendingReset = raw
		}
	}
	p := PendingImprint{Pairing: Pairing{Owner: req.Owner.Hex(), Hub: req.Hub.Hex(), HubLink: req.HubLink, HubPin: req.HubPin.String(),
		HubAPI: req.HubAPI, EVMChainID: req.EVMChainID, PairedAt: now.UTC(), Encryption: hex0x(req.Encryption), ViewingKey: hex0x(req.ViewingKey)},
		Epoch: req.Epoch, Tx: "0x" + hex.EncodeToString(raw), Expiry: req.Expiry}
	prev := a.state.Pending
	a.state.Pending = append(prev, p)
	if len(a.state.Pending) > maxPending {
		a.state.Pending = a.state.Pending[len(a.state.Pending)-maxPending:]
	}
	if err := a.state.save(a.cfg.DataDir); err != nil {
		a.state.Pending = prev
		return nil, err
	}
	a.log.Info("imprint co-signed; paired once the hub shows it committed", "owner", req.Owner.Hex(), "hub", req.Hub.Hex(), "link", req.HubLink, "e2ee", pol.On)
	a.resumeConfirmLocked()
	return resp, nil
}

// hex0x is b as 0x hex, or "" when empty.
func hex0x(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return "0x" + hex.EncodeToString(b)
}

// confirmEvery is how often a pending imprint is looked up on the hub;
// imprintSkew is how long past its expiry an imprint may still land (the
// ledger's clock against the camera's).
var (
	confirmEvery = time.Second
	imprintSkew  = time.Minute
)

// resumeConfirmLocked starts the confirmation loop if imprints are pending.
func (a *Agent) resumeConfirmLocked() {
	if a.confirm != nil || len(a.state.Pending) == 0 || !a.started || a.closed {
		return
	}
	run, ctx := newRun()
	a.confirm = run
	run.goRun(func() { a.confirmLoop(ctx, run) })
}

func (a *Agent) confirmLoop(ctx context.Context, run *linkRun) {
	t := time.NewTicker(confirmEvery)
	defer t.Stop()
	for {
		if done := a.confirmOnce(ctx); done {
			a.mu.Lock()
			if a.confirm == run {
				a.confirm = nil
			}
			a.mu.Unlock()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// confirmOnce asks the hub of each pending imprint whether the ledger
// holds it. The camera checks the transaction the hub returns is, byte for
// byte, the one it co-signed, committed with code OK. An imprint past its
// expiry that no hub shows can never land: it is dropped. It reports
// whether nothing is left pending.
func (a *Agent) confirmOnce(ctx context.Context) bool {
	a.mu.Lock()
	pending := append([]PendingImprint(nil), a.state.Pending...)
	a.mu.Unlock()
	var confirmed *PendingImprint
	var drop []string
	for i := range pending {
		p := &pending[i]
		ok, gone, err := lookupImprint(ctx, a.hubLogin, p)
		switch {
		case err != nil:
			a.log.Info("imprint not confirmed yet", "hub", p.Pairing.HubAPI, "err", err)
		case ok:
			confirmed = p
		case gone:
			drop = append(drop, p.Tx)
		}
		if confirmed != nil {
			break
		}
	}
	// recordMu before mu, as record does: pairing may replace the chains
	// (confirmLocked), which no record may be appended to meanwhile.
	a.recordMu.Lock()
	defer a.recordMu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed || a.state.Paired != nil {
		return true
	}
	if confirmed != nil {
		if err := a.confirmLocked(confirmed); err != nil {
			a.log.Error("cannot record the pairing", "err", err)
			return false
		}
		return true
	}
	if len(drop) > 0 {
		kept := a.state.Pending[:0]
		for _, p := range a.state.Pending {
			if !slices.Contains(drop, p.Tx) {
				kept = append(kept, p)
			}
		}
		a.state.Pending = kept
		if err := a.state.save(a.cfg.DataDir); err != nil {
			a.log.Error("save state", "err", err)
		}
		a.log.Warn("an imprint the camera co-signed never reached the ledger; the camera can pair again", "dropped", len(drop))
	}
	return len(a.state.Pending) == 0
}

// lookupImprint asks p's hub for the imprint: ok when committed as the
// camera co-signed it; gone when it can never be (refused, or expired and
// absent).
func lookupImprint(ctx context.Context, login api.Credentials, p *PendingImprint) (ok, gone bool, err error) {
	raw, err := hex.DecodeString(strings.TrimPrefix(p.Tx, "0x"))
	if err != nil {
		return false, true, err
	}
	c, err := api.NewClient(p.Pairing.HubAPI)
	if err != nil {
		return false, true, err
	}
	c.WithCredentials(login) // a transaction's result is for logged-in callers
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := c.Committed(ctx, raw) // the very bytes co-signed, or an error
	if api.CodeOf(err) == api.ErrNotFound {
		// Past its expiry (and some clock skew) the ledger refuses it.
		return false, uint64(time.Now().Add(-imprintSkew).Unix()) > p.Expiry, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("hub %s: the imprint: %w", p.Pairing.HubAPI, err)
	}
	if res.Code != 0 {
		return false, true, nil // in a block, but refused by the ledger
	}
	return true, false, nil
}

// confirmLocked makes the camera paired with p: the epoch the imprint
// names (the ledger may have moved on), the pinned hub, the uploader; the
// pairing endpoint closes. With the imprint's policy on, what the camera
// recorded in the epoch before it (in the clear: it had no owner) is
// discarded, so that the chain the hub receives is sealed from #0.
// a.recordMu and a.mu are held.
func (a *Agent) confirmLocked(p *PendingImprint) error {
	if p.Epoch > a.state.Epoch {
		if err := a.switchEpochLocked(p.Epoch); err != nil {
			return err
		}
	}
	if p.Pairing.encrypts() {
		if err := a.discardUnownedLocked(); err != nil {
			return err
		}
	}
	paired := p.Pairing
	a.state.Paired = &paired
	pending := a.state.Pending
	a.state.Pending = nil
	if err := a.state.save(a.cfg.DataDir); err != nil {
		a.state.Paired, a.state.Pending = nil, pending
		return err
	}
	a.code = nil
	os.Remove(a.codePath())
	a.closePairingLocked()
	a.log.Info("paired", "owner", paired.Owner, "hub", paired.Hub, "link", paired.HubLink)
	fmt.Fprintf(a.cfg.Out, "camera %s paired: owner %s, hub %s\n", a.key.Address().Hex(), paired.Owner, paired.Hub)
	a.startLinkLocked()
	return nil
}

// discardUnownedLocked deletes the current epoch's chains, recorded
// before the imprint, and starts them afresh (SPEC §17.4): nobody owned
// that video, it is in the clear, and an owner who chose end-to-end
// encryption would otherwise hand it to the hub. Nothing outside the card
// has seen these chains (an unpaired camera has no link, no checkpoint).
// a.recordMu and a.mu are held.
func (a *Agent) discardUnownedLocked() error {
	dropped := false
	for _, c := range []*store.Chain{a.chain, a.subChain} {
		if c == nil || !c.Head().Valid {
			continue
		}
		n := c.Head().Seq + 1
		if err := a.store.Discard(c.ID()); err != nil {
			return err
		}
		dropped = true
		a.log.Info("e2ee: discarded what the camera recorded in the clear before its imprint", "stream", c.ID().Stream.String(), "segments", n)
	}
	if !dropped {
		return nil
	}
	a.partState = [2]partState{}
	return a.openChainsLocked(a.state.Epoch)
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
	for _, c := range []*store.Chain{a.chain, a.subChain} {
		if c == nil {
			continue
		}
		if h := c.Head(); h.Valid {
			if err := c.SetAcked(h); err != nil {
				a.log.Warn("abandon previous chain", "stream", c.ID().Stream.String(), "err", err)
			}
		}
	}
	if err := a.openChainsLocked(epoch); err != nil {
		return err
	}
	a.state.Epoch = epoch
	return nil
}

// Reset is the physical reset button: it signs the camera's Reset, wipes
// the pairing and makes the camera imprintable again with a new code. The
// Reset goes to the ledger through the hub now if it can, otherwise with
// the next pairing.
func (a *Agent) Reset() (string, error) {
	a.resetMu.Lock()
	defer a.resetMu.Unlock()
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return "", errors.New("the agent is shutting down")
	}
	l := a.detachLinkLocked()
	a.mu.Unlock()
	l.stop() // the uploader is gone before the epoch changes under it
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.state.Epoch
	p := a.state.Paired
	msg := ""
	switch {
	case p != nil:
		raw, err := a.signReset(p.EVMChainID, old)
		if err != nil {
			return "", err
		}
		if err := submitReset(p.HubAPI, raw); err != nil {
			a.log.Warn("reset not yet on the ledger; it goes with the next pairing", "err", err)
			a.state.ResetPending, a.state.ResetEVMChainID = &old, p.EVMChainID
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
	if err := a.openPairingLocked(); err != nil {
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

// linkConnectedLocked is told when the link to the paired hub is up: the
// ledger holds the imprint, so a pending reset is no longer needed.
func (a *Agent) linkConnectedLocked() {
	if a.state.ResetPending != nil {
		a.state.ResetPending = nil
		a.state.save(a.cfg.DataDir)
	}
}
