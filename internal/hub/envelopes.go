package hub

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/keys"
)

// The hub's store of content-key envelopes (SPEC §17.5):
// <data>/envelopes/<camera>/<epoch>/<serial, 20 digits>, each file the
// envelope's wire bytes as the camera signed them, written atomically
// before the link reads the camera's next frame. The hub cannot open one.

// maxEnvelopesPage bounds one page of GET …/envelopes: envelopes are up
// to 96 KiB each.
const maxEnvelopesPage = 64

func (h *Hub) envelopeDir(cam keys.Address, epoch uint64) string {
	return filepath.Join(h.cfg.DataDir, "envelopes", strings.ToLower(cam.Hex()), strconv.FormatUint(epoch, 10))
}

func envelopeName(serial uint64) string { return fmt.Sprintf("%020d", serial) }

// hubEnvelopes is the link's EnvelopeStore.
type hubEnvelopes struct{ h *Hub }

func (s hubEnvelopes) PutEnvelope(cam keys.Address, epoch, serial uint64, raw []byte) error {
	dir := s.h.envelopeDir(cam, epoch)
	p := filepath.Join(dir, envelopeName(serial))
	if old, err := os.ReadFile(p); err == nil {
		if bytes.Equal(old, raw) {
			return nil // sent again in a later session
		}
		s.h.cfg.Logger.Warn("link: a second, different envelope for one content key; the first is kept", "camera", cam.Hex(), "epoch", epoch, "serial", serial)
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return atomicfile.Write(p, raw, 0o600)
}

// envelopes is GET /devices/{camera}/envelopes: the camera's envelopes of
// an epoch (default: its current one) from serial `from` on (or exactly
// `serial`), ascending, each checked again as the camera's before it is
// served (a file changed on the hub's disk is not passed on).
func (h *Hub) envelopes(r *http.Request) (any, error) {
	p, err := h.devicePageQuery(r, 16, maxEnvelopesPage)
	if err != nil {
		return nil, err
	}
	from, limit := p.from, int(p.limit)
	if r.URL.Query().Has("serial") {
		if from, err = uintQuery(r, "serial", 0); err != nil {
			return nil, err
		}
		limit = 1
	}
	cam := p.dev.Camera
	names, err := os.ReadDir(h.envelopeDir(cam, p.epoch))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	out := api.List[api.Envelope]{Items: []api.Envelope{}}
	for _, n := range names { // ReadDir sorts by name: by serial
		serial, err := strconv.ParseUint(n.Name(), 10, 64)
		if err != nil || n.Name() != envelopeName(serial) || serial < from {
			continue
		}
		if r.URL.Query().Has("serial") && serial != from {
			break
		}
		if len(out.Items) == limit {
			out.Next = strconv.FormatUint(serial, 10)
			break
		}
		raw, err := os.ReadFile(filepath.Join(h.envelopeDir(cam, p.epoch), n.Name()))
		if err != nil {
			return nil, err
		}
		e, err := e2ee.DecodeEnvelope(raw, cam)
		if err != nil || e.Epoch != p.epoch || e.Serial != serial {
			h.cfg.Logger.Error("stored envelope does not check out; not served", "camera", cam.Hex(), "epoch", p.epoch, "serial", serial, "err", err)
			continue
		}
		v := api.Envelope{Camera: cam.Hex(), Epoch: e.Epoch, Serial: e.Serial, Envelope: hexHash(raw), Recipients: []string{}}
		for _, a := range e.Accounts() {
			v.Recipients = append(v.Recipients, a.Hex())
		}
		out.Items = append(out.Items, v)
	}
	if r.URL.Query().Has("serial") && len(out.Items) == 0 {
		return nil, api.Errorf(api.ErrNotFound, "no envelope of content key %d of camera %s epoch %d", from, cam.Hex(), p.epoch)
	}
	return out, nil
}
