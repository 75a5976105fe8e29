package hub

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
)

// Owner-signed resyncs (SPEC §7.2) wait in <data>/resyncs/<camera>-<epoch>
// (the encoded link.SignedResync) until the camera re-keyed with them.

func (h *Hub) resyncPath(cam keys.Address, epoch uint64) string {
	return filepath.Join(h.cfg.DataDir, "resyncs", fmt.Sprintf("%s-%d", strings.ToLower(cam.Hex()), epoch))
}

// hubResyncs implements link.Resyncs over the data directory.
type hubResyncs struct{ h *Hub }

func (r hubResyncs) Pending(cam keys.Address, epoch uint64) []byte {
	b, err := os.ReadFile(r.h.resyncPath(cam, epoch))
	if err != nil {
		return nil
	}
	sr, err := link.ParseResync(b)
	if err != nil || sr.Msg.Expiry <= uint64(time.Now().Unix()) {
		return nil
	}
	return b
}

func (r hubResyncs) Done(cam keys.Address, epoch uint64) {
	if err := os.Remove(r.h.resyncPath(cam, epoch)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		r.h.cfg.Logger.Warn("resync: remove", "err", err)
	}
}

// resync stores an owner-signed resync for the camera's next connect. The
// hub checks what it can (this hub, the ledger's owner and epoch, the
// signature) so it does not carry junk; the camera checks it again itself.
func (h *Hub) resync(r *http.Request) (any, error) {
	d, err := h.lookupDevice(r)
	if err != nil {
		return nil, err
	}
	var req api.ResyncRequest
	if err := decodeJSONBody(r, &req); err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(strings.TrimPrefix(req.Resync, "0x"))
	if err != nil {
		return nil, api.Errorf(api.ErrBadRequest, `"resync" must be 0x-prefixed hex`)
	}
	sr, err := link.ParseResync(raw)
	if err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "resync: %v", err)
	}
	if !d.Owned() || d.Hub != h.key.Address() {
		return nil, api.Errorf(api.ErrRefused, "camera %s is not owned and bound to this hub", d.Camera.Hex())
	}
	err = link.VerifyResync(link.ResyncContext{ChainID: h.node.App.EVMChainID(), Owner: d.Owner, Camera: d.Camera,
		Hub: h.key.Address(), Epoch: d.Epoch, Now: time.Now()}, sr)
	if err != nil {
		return nil, api.Errorf(api.ErrRefused, "%v", err)
	}
	if err := os.MkdirAll(filepath.Join(h.cfg.DataDir, "resyncs"), 0o700); err != nil {
		return nil, err
	}
	if err := atomicfile.Write(h.resyncPath(d.Camera, d.Epoch), raw, 0o600); err != nil {
		return nil, err
	}
	h.recordAudit(d.Camera, d.Owner, audit.Resync, "the owner signed a resync of the camera's chain secret with this hub (restored from a backup?)", time.Now())
	return api.ResyncResult{Camera: d.Camera.Hex(), Epoch: d.Epoch, Expiry: time.Unix(int64(sr.Msg.Expiry), 0).UTC().Format(time.RFC3339)}, nil
}
