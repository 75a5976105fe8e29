package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/e2ee/recipients"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/store"
	"github.com/camchain/camchain/internal/tx"
)

// The camera's end-to-end encryption (docs/SPEC.md §17.4): what it learnt
// from the owner-signed transactions its hub forwards, its content keys,
// and their envelopes. On the card, under <data>/e2ee/<epoch>/:
//
//	recipients          the recipients.Set (Set.Encode), written atomically at each change
//	policy              the owner's Encryption transaction in force (wire bytes, checked again at load)
//	envelopes/<serial>  each content key's signed envelope (20-digit serial), written before
//	                    the first segment sealed under it
//
// Content keys themselves are never stored: a restarted camera draws a new
// one, numbered after the last envelope it wrote.

// E2EE states in the status.
const (
	e2eeOff     = "off"
	e2eeOn      = "on"
	e2eeNoOwner = "on, but not encrypting: the owner's viewing key has not reached the camera"
)

// camE2EE is one epoch's encryption state of a paired camera.
type camE2EE struct {
	dir    string
	signer keys.Signer
	log    *slog.Logger

	mu       sync.Mutex
	set      *recipients.Set
	setBytes []byte
	policy   *tx.EncryptionPolicy
	rot      *e2ee.Rotator
	// served is, per stream, the last segment a key was given for, and
	// under which content key: a segment number given a key again (its
	// segment was dropped, and the next one takes its number) gets a new
	// content key, so no (key, index) ever seals two plaintexts.
	served [2]struct{ serial, seq uint64 }
}

// openE2EE loads (or starts) the state of the camera's epoch with owner on
// the ledger evmChainID.
func openE2EE(dataDir string, signer keys.Signer, epoch uint64, owner keys.Address, evmChainID uint64, log *slog.Logger) (*camE2EE, error) {
	c := &camE2EE{dir: filepath.Join(dataDir, "e2ee", strconv.FormatUint(epoch, 10)), signer: signer, log: log,
		set: &recipients.Set{Camera: signer.Address(), Epoch: epoch, Owner: owner, EVMChainID: evmChainID},
		rot: &e2ee.Rotator{Signer: signer, Epoch: epoch, Period: tx.DefaultCheckpointPeriod}}
	if err := os.MkdirAll(filepath.Join(c.dir, "envelopes"), 0o700); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(c.dir, "recipients"))
	switch {
	case err == nil:
		s, err := recipients.DecodeSet(b)
		if err != nil {
			return nil, fmt.Errorf("e2ee recipients state: %w", err)
		}
		if s.Camera != c.set.Camera || s.Epoch != epoch || s.Owner != owner || s.EVMChainID != evmChainID {
			return nil, fmt.Errorf("e2ee recipients state of camera %s epoch %d owner %s, not this camera's", s.Camera.Hex(), s.Epoch, s.Owner.Hex())
		}
		c.set, c.setBytes = s, b
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(c.dir, "policy")); err == nil {
		p, err := tx.VerifyEncryption(b, c.set.Camera, owner, epoch, evmChainID)
		if err != nil {
			return nil, fmt.Errorf("e2ee policy on the card: %w", err)
		}
		c.policy = p
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	last, err := c.lastSerial()
	if err != nil {
		return nil, err
	}
	c.rot.SetSerial(last)
	return c, nil
}

func (c *camE2EE) envelopePath(serial uint64) string {
	return filepath.Join(c.dir, "envelopes", fmt.Sprintf("%020d", serial))
}

// lastSerial is the highest serial of an envelope on the card (0: none).
func (c *camE2EE) lastSerial() (uint64, error) {
	es, err := os.ReadDir(filepath.Join(c.dir, "envelopes"))
	if err != nil {
		return 0, err
	}
	var last uint64
	for _, e := range es {
		if n, err := strconv.ParseUint(e.Name(), 10, 64); err == nil && e.Name() == fmt.Sprintf("%020d", n) {
			last = max(last, n)
		}
	}
	return last, nil
}

// Learn takes the transactions the hub forwarded (link.CameraE2EE): an
// owner-signed Encryption policy, Grants, Revokes and ViewingKeys, each
// checked here; what does not check out changes nothing.
func (c *camE2EE) Learn(txs [][]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var later [][]byte
	for _, raw := range txs {
		if p, err := tx.VerifyEncryption(raw, c.set.Camera, c.set.Owner, c.set.Epoch, c.set.EVMChainID); err == nil {
			if c.policy == nil || p.Expiry > c.policy.Expiry {
				if err := atomicfile.Write(filepath.Join(c.dir, "policy"), raw, 0o600); err != nil {
					c.log.Error("e2ee: policy not stored", "err", err)
					continue
				}
				if c.policy == nil || c.policy.On != p.On {
					c.log.Info("e2ee: the owner's policy", "on", p.On)
				}
				c.policy = p
			}
			continue
		}
		if err := c.set.Learn(raw); errors.Is(err, recipients.ErrUnknownParty) {
			later = append(later, raw) // a viewer's key before the grant naming it
		} else if err != nil {
			c.log.Warn("e2ee: a forwarded transaction refused", "err", err)
		}
	}
	for _, raw := range later {
		if err := c.set.Learn(raw); err != nil {
			c.log.Warn("e2ee: a forwarded viewing key refused", "err", err)
		}
	}
	b, err := c.set.Encode()
	if err != nil || bytes.Equal(b, c.setBytes) {
		return
	}
	if err := atomicfile.Write(filepath.Join(c.dir, "recipients"), b, 0o600); err != nil {
		c.log.Error("e2ee: recipients not stored", "err", err)
		return
	}
	c.setBytes = b
}

// Envelope returns the envelope of content key serial (link.CameraE2EE).
func (c *camE2EE) Envelope(epoch, serial uint64) ([]byte, error) {
	if epoch != c.set.Epoch {
		return nil, fmt.Errorf("no envelopes of epoch %d here", epoch)
	}
	return os.ReadFile(c.envelopePath(serial))
}

// SetPeriod sets the rotation period to the camera's checkpoint period.
func (c *camE2EE) SetPeriod(seconds uint64) {
	if seconds == 0 {
		return
	}
	c.mu.Lock()
	c.rot.Period = time.Duration(seconds) * time.Second
	c.mu.Unlock()
}

// state is the status line.
func (c *camE2EE) state() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.policy == nil || !c.policy.On:
		return e2eeOff
	case len(c.set.Recipients(uint64(time.Now().Unix()))) == 0:
		return e2eeNoOwner
	}
	return e2eeOn
}

// segmentKey returns the key to seal segment seq of stream with, drawn
// now: nil when the policy is off, or when nobody's key is known (the
// owner's viewing key has not arrived: nothing could open it). A new
// content key's envelope is on the card before the key is used.
func (c *camE2EE) segmentKey(stream feedchain.Stream, seq uint64) (*e2ee.SegmentKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.policy == nil || !c.policy.On {
		return nil, nil
	}
	now := time.Now()
	rs := c.set.Recipients(uint64(now.Unix()))
	if len(rs) == 0 {
		return nil, nil
	}
	if sv := c.served[stream]; c.rot.Serial() != 0 && sv.serial == c.rot.Serial() && sv.seq == seq {
		last := c.rot.Serial()
		c.rot = &e2ee.Rotator{Signer: c.signer, Epoch: c.rot.Epoch, Period: c.rot.Period}
		c.rot.SetSerial(last)
	}
	ck, env, err := c.rot.Key(now, rs)
	if err != nil {
		return nil, err
	}
	if env != nil {
		raw, err := env.Encode()
		if err == nil {
			err = atomicfile.Write(c.envelopePath(env.Serial), raw, 0o600)
		}
		if err != nil {
			// Never seal under a key whose envelope is not kept: draw
			// again next time.
			c.rot = &e2ee.Rotator{Signer: c.signer, Epoch: c.rot.Epoch, Period: c.rot.Period}
			c.rot.SetSerial(env.Serial)
			return nil, fmt.Errorf("store envelope %d: %w", env.Serial, err)
		}
		c.log.Info("e2ee: new content key", "serial", env.Serial, "recipients", len(rs))
	}
	c.served[stream] = struct{ serial, seq uint64 }{ck.Serial, seq}
	return ck.Segment(stream, seq)
}

// sealedParts is what the open segment's sealed parts were made of.
type sealedParts struct {
	seq    uint64
	key    *e2ee.SegmentKey
	plain  []byte // the plaintext of the parts sealed so far, concatenated
	sealed []byte // their sealed bytes, concatenated
	n      uint32 // parts sealed
}

// sealSegment seals a segment's plaintext under k: when parts of it went
// out sealed (sp, for this seq and key) and their plaintext begins the
// segment, the sealed segment is those parts' sealed bytes followed by
// the rest sealed as the next part, so the record seals the parts (SPEC
// §7.3); otherwise the whole segment is sealed as index 0.
func sealSegment(k *e2ee.SegmentKey, sp *sealedParts, plain []byte) ([]byte, error) {
	if sp != nil && sp.key == k && sp.n > 0 && bytes.HasPrefix(plain, sp.plain) {
		out := bytes.Clone(sp.sealed)
		if rest := plain[len(sp.plain):]; len(rest) > 0 {
			s, err := k.Seal(sp.n+1, rest)
			if err != nil {
				return nil, err
			}
			out = append(out, s...)
		}
		return out, nil
	}
	return k.Seal(0, plain)
}

// e2eeLocked returns the encryption state of the camera's current
// pairing and epoch, opening it on first use; nil while unpaired (or when
// its state on the card is unreadable, logged). a.mu is held.
func (a *Agent) e2eeLocked() *camE2EE {
	p := a.state.Paired
	if p == nil {
		return nil
	}
	owner, err := keys.ParseAddress(p.Owner)
	if err != nil {
		return nil
	}
	if c := a.enc; c != nil && c.set.Epoch == a.state.Epoch && c.set.Owner == owner && c.set.EVMChainID == p.EVMChainID {
		return c
	}
	c, err := openE2EE(a.cfg.DataDir, a.key, a.state.Epoch, owner, p.EVMChainID, a.log)
	if err != nil {
		a.log.Error("e2ee: state unreadable; not encrypting", "err", err)
		return nil
	}
	// The policy and the owner's viewing key the imprint came with (SPEC
	// §17.4): the camera seals from the imprint on, before its hub has
	// forwarded anything. A later policy of the owner's holds over it.
	if txs := p.imprintTxs(); len(txs) > 0 {
		c.Learn(txs)
	}
	a.enc = c
	return c
}

// currentE2EE is e2eeLocked for callers without the mutex.
func (a *Agent) currentE2EE() *camE2EE {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.e2eeLocked()
}

// seal returns the bytes to record for a segment of stream following
// head: sealed when end-to-end encryption is on (under the key of its
// parts, when they went out sealed), else the plaintext. a.recordMu is
// held.
func (a *Agent) seal(stream feedchain.Stream, chain *store.Chain, head feedchain.Head, plain []byte) ([]byte, error) {
	seq := head.Next()
	st := &a.partState[stream]
	sp := st.sealed
	st.sealed = nil // whatever happens to this segment, its parts' key is spent
	if sp != nil && (sp.seq != seq || sp.key.Epoch != chain.ID().Epoch) {
		sp = nil
	}
	var k *e2ee.SegmentKey
	if sp != nil {
		k = sp.key
	} else if enc := a.currentE2EE(); enc != nil {
		var err error
		if k, err = enc.segmentKey(stream, seq); err != nil {
			// Recording under E2EE without a stored envelope would make
			// video nobody can open; in the clear would break the policy.
			return nil, fmt.Errorf("e2ee: no key for %s segment #%d: %w", stream, seq, err)
		}
	}
	if k == nil {
		return plain, nil
	}
	return sealSegment(k, sp, plain)
}
