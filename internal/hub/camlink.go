package hub

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/store"
)

// pairingRecord is <data>/pairings/<camera>-<epoch>.json: the TLS key a
// camera presented when it was paired with this hub, in that epoch.
type pairingRecord struct {
	Version  int       `json:"version"`
	Camera   string    `json:"camera"`
	Epoch    uint64    `json:"epoch"`
	Owner    string    `json:"owner"`
	TLSPin   string    `json:"tls_pin"`
	PairedAt time.Time `json:"paired_at"`
}

func (h *Hub) pairingPath(cam keys.Address, epoch uint64) string {
	return filepath.Join(h.cfg.DataDir, "pairings", fmt.Sprintf("%s-%d.json", strings.ToLower(cam.Hex()), epoch))
}

func (h *Hub) savePairing(r pairingRecord) error {
	cam, err := keys.ParseAddress(r.Camera)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(h.cfg.DataDir, "pairings"), 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	return atomicfile.Write(h.pairingPath(cam, r.Epoch), append(b, '\n'), 0o600)
}

func (h *Hub) loadPairing(cam keys.Address, epoch uint64) (*pairingRecord, error) {
	b, err := os.ReadFile(h.pairingPath(cam, epoch))
	if err != nil {
		return nil, err
	}
	var r pairingRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// linkBackend connects the link server to the ledger, the pairing records
// and the recording store.
type linkBackend struct{ h *Hub }

// Authorize: the camera must be imprinted and bound to this hub on the
// ledger in this epoch, and present the TLS key pinned when it was paired.
func (b linkBackend) Authorize(cam keys.Address, epoch uint64, pin link.Pin) error {
	d, err := b.h.node.App.Device(cam)
	if err != nil {
		return err
	}
	switch {
	case d == nil || !d.Owned():
		return fmt.Errorf("camera %s is not imprinted on the ledger", cam.Hex())
	case d.Hub != b.h.key.Address():
		return fmt.Errorf("camera %s is bound to hub %s, not to this hub", cam.Hex(), d.Hub.Hex())
	case d.Epoch != epoch:
		return fmt.Errorf("camera %s is in epoch %d on the ledger, not %d (was it reset or released?)", cam.Hex(), d.Epoch, epoch)
	}
	p, err := b.h.loadPairing(cam, epoch)
	if err != nil {
		return fmt.Errorf("camera %s was not paired through this hub", cam.Hex())
	}
	want, err := link.ParsePin(p.TLSPin)
	if err != nil || !link.EqualPins(want, pin) {
		return fmt.Errorf("camera %s presents a TLS key other than the one pinned at pairing", cam.Hex())
	}
	return nil
}

func (b linkBackend) Chain(cam keys.Address, epoch uint64, stream feedchain.Stream) (link.ServerChain, error) {
	c, err := b.h.store.StreamChain(store.ChainRef{Camera: cam, Epoch: epoch, Stream: stream})
	if err != nil {
		return nil, err
	}
	return notifyingChain{c, func() {
		b.h.appends.notify(cam)
		b.h.checkDiskAfterWrite()
	}}, nil
}

// notifyingChain wakes the camera's playback sessions after each append
// (of any of its streams) and checks the disk's free space (emergency
// deletion, emergency.go).
type notifyingChain struct {
	*store.Chain
	appended func()
}

func (c notifyingChain) Append(r *feedchain.Record, data []byte) error {
	if err := c.Chain.Append(r, data); err != nil {
		return err
	}
	c.appended()
	return nil
}

// Alarm persists a link alarm (a camera's, or the hub's clone suspicion)
// before it returns: the link acknowledges nothing before that.
func (b linkBackend) Alarm(cam keys.Address, kind audit.Kind, detail string, at time.Time) error {
	return b.h.recordAlarm(cam, kind, detail, at)
}
