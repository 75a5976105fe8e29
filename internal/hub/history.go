package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
)

// The hub's store of history envelopes (SPEC §17.6): past keys of a camera
// re-wrapped by its owner to a grantee, as
// <data>/history-keys/<camera>/<epoch>/<viewer>/<SHA-256 of the bytes>.
// The hub checks each as the ledger owner's before storing and serving it,
// and can open none.

const (
	// maxHistoryPerViewer bounds the history envelopes kept for one viewer
	// of one camera epoch: 256 of at most 144 KiB.
	maxHistoryPerViewer = 256
	// maxHistoryBody bounds POST …/history-keys: the envelope in hex and
	// the JSON around it.
	maxHistoryBody = 2*e2ee.MaxHistoryBytes + 64
)

func (h *Hub) historyDir(cam keys.Address, epoch uint64, viewer keys.Address) string {
	return filepath.Join(h.cfg.DataDir, "history-keys", strings.ToLower(cam.Hex()), fmt.Sprint(epoch), strings.ToLower(viewer.Hex()))
}

// grantServed is the viewer's grant in force that a history envelope names
// (its historyFrom and grantedAt), or nil.
func grantServed(d *ledger.Device, viewer keys.Address, g e2ee.HistoryGrant, now uint64) *ledger.GrantRecord {
	for i, gr := range d.Grants {
		if gr.Viewer == viewer && gr.Active(now) && gr.HistoryFrom == g.HistoryFrom && gr.GrantedAt == g.GrantedAt {
			return &d.Grants[i]
		}
	}
	return nil
}

// uploadHistory is POST /devices/{camera}/history-keys (the owner only).
func (h *Hub) uploadHistory(r *http.Request) (any, error) {
	d, err := h.lookupDevice(r)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxHistoryBody+1))
	if err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "read body: %v", err)
	}
	if len(body) > maxHistoryBody {
		return nil, api.Errorf(api.ErrBadRequest, "body over %d bytes", maxHistoryBody)
	}
	var req api.HistoryUpload
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || dec.More() {
		return nil, api.Errorf(api.ErrBadRequest, `body must be one JSON object {"envelope": "0x<hex>"}`)
	}
	raw, err := hex.DecodeString(strings.TrimPrefix(req.Envelope, "0x"))
	if err != nil || !strings.HasPrefix(req.Envelope, "0x") {
		return nil, api.Errorf(api.ErrBadRequest, `"envelope" must be 0x-prefixed hex`)
	}
	he, err := e2ee.DecodeHistory(raw, d.Camera, d.Owner)
	if err != nil {
		return nil, api.Errorf(api.ErrBadRequest, "history envelope: %v", err)
	}
	if he.Epoch != d.Epoch {
		return nil, api.Errorf(api.ErrRefused, "history envelope of epoch %d; camera %s is in epoch %d", he.Epoch, d.Camera.Hex(), d.Epoch)
	}
	if grantServed(d, he.Recipient, he.Grant, now()) == nil {
		return nil, api.Errorf(api.ErrRefused, "%s holds no grant in force on camera %s with history-from %d granted at %d, the grant the envelope names",
			he.Recipient.Hex(), d.Camera.Hex(), he.Grant.HistoryFrom, he.Grant.GrantedAt)
	}
	sum := sha256.Sum256(raw)
	dir := h.historyDir(d.Camera, d.Epoch, he.Recipient)
	p := filepath.Join(dir, hex.EncodeToString(sum[:]))
	out := api.HistoryEnvelope{Camera: d.Camera.Hex(), Epoch: d.Epoch, Viewer: he.Recipient.Hex(), Keys: len(he.Items), Hash: hexHash(sum[:]), Envelope: req.Envelope}
	if _, err := os.Stat(p); err == nil {
		return out, nil // uploaded before
	}
	names, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if len(names) >= maxHistoryPerViewer {
		return nil, api.Errorf(api.ErrRefused, "the hub holds %d history envelopes for %s on camera %s epoch %d already, its limit", len(names), he.Recipient.Hex(), d.Camera.Hex(), d.Epoch)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := atomicfile.Write(p, raw, 0o600); err != nil {
		return nil, err
	}
	h.recordAudit(d.Camera, he.Recipient, audit.HistoryKeys,
		fmt.Sprintf("the owner re-wrapped %d past key(s) to the viewer (history envelope sha256 %x)", len(he.Items), sum), time.Now())
	return out, nil
}

// historyEnvelopes is GET /devices/{camera}/history-keys: to a viewer its
// own envelopes for its grant in force, to the owner those of ?viewer=
// (default: all), each checked again as the ledger owner's.
func (h *Hub) historyEnvelopes(r *http.Request) (any, error) {
	a := accessOf(r)
	d := a.dev
	asked, err := addrQuery(r, "viewer")
	if err != nil {
		return nil, err
	}
	var viewers []keys.Address
	var grant *ledger.GrantRecord
	switch {
	case !a.owner && asked != (keys.Address{}) && asked != a.viewer:
		return nil, api.Errorf(api.ErrForbidden, "%s may list only its own history envelopes", a.viewer.Hex())
	case !a.owner:
		viewers = []keys.Address{a.viewer}
		for i, g := range d.Grants {
			if g.Viewer == a.viewer && g.Active(now()) {
				grant = &d.Grants[i]
			}
		}
		if grant == nil {
			return nil, api.Errorf(api.ErrForbidden, "%s holds no grant in force on camera %s", a.viewer.Hex(), d.Camera.Hex())
		}
	case asked != (keys.Address{}):
		viewers = []keys.Address{asked}
	default:
		ds, err := os.ReadDir(filepath.Dir(h.historyDir(d.Camera, d.Epoch, keys.Address{})))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		for _, e := range ds {
			if v, err := keys.ParseAddress(e.Name()); err == nil {
				viewers = append(viewers, v)
			}
		}
	}
	out := api.List[api.HistoryEnvelope]{Items: []api.HistoryEnvelope{}}
	for _, v := range viewers {
		dir := h.historyDir(d.Camera, d.Epoch, v)
		names, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		for _, n := range names {
			raw, err := os.ReadFile(filepath.Join(dir, n.Name()))
			if err != nil {
				return nil, err
			}
			sum := sha256.Sum256(raw)
			he, err := e2ee.DecodeHistory(raw, d.Camera, d.Owner)
			if err != nil || he.Recipient != v || he.Epoch != d.Epoch || n.Name() != hex.EncodeToString(sum[:]) {
				h.cfg.Logger.Error("stored history envelope does not check out; not served", "camera", d.Camera.Hex(), "viewer", v.Hex(), "file", n.Name(), "err", err)
				continue
			}
			if grant != nil && (he.Grant.HistoryFrom != grant.HistoryFrom || he.Grant.GrantedAt != grant.GrantedAt) {
				continue // made for an earlier grant of this viewer
			}
			out.Items = append(out.Items, api.HistoryEnvelope{Camera: d.Camera.Hex(), Epoch: d.Epoch, Viewer: v.Hex(), Keys: len(he.Items), Hash: hexHash(sum[:]), Envelope: hexHash(raw)})
		}
	}
	return out, nil
}
