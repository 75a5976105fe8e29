package hub

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/keys"
)

// pairedCameras lists the cameras paired with this hub in any epoch (the
// pairing records of <data>/pairings), each once, in address order.
func (h *Hub) pairedCameras() ([]keys.Address, error) {
	es, err := os.ReadDir(filepath.Join(h.cfg.DataDir, "pairings"))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pairing records: %w", err)
	}
	var out []keys.Address
	seen := map[keys.Address]bool{}
	for _, e := range es {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		cam, _, ok2 := strings.Cut(name, "-")
		if !ok || !ok2 {
			continue
		}
		a, err := keys.ParseAddress(cam)
		if err != nil || seen[a] {
			continue
		}
		seen[a] = true
		out = append(out, a)
	}
	return out, nil
}

// viewerDevices is GET /viewers/{viewer}/devices: the cameras of this hub
// on which the caller holds a live grant in the camera's current epoch,
// each as the viewer may see it (its own grant only).
func (h *Hub) viewerDevices(r *http.Request) (any, error) {
	v, err := addrParam(r, "viewer")
	if err != nil {
		return nil, err
	}
	cams, err := h.pairedCameras()
	if err != nil {
		return nil, err
	}
	t := now()
	out := api.List[api.Device]{Items: []api.Device{}}
	for _, c := range cams {
		d, err := h.node.App.Device(c)
		if err != nil {
			return nil, err
		}
		if d == nil || d.Hub != h.key.Address() {
			continue
		}
		for _, g := range d.Grants {
			if g.Viewer == v && g.Active(t) {
				dv := deviceView(d, t)
				dv.Grants = []api.Grant{}
				for _, gv := range grantViews(d, t) {
					if gv.Viewer == v.Hex() {
						dv.Grants = append(dv.Grants, gv)
					}
				}
				out.Items = append(out.Items, dv)
				break
			}
		}
	}
	return out, nil
}
