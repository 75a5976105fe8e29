package hub

import (
	"fmt"
	"io"
	"os"
)

// initIfNoHub makes a hub in cfg.DataDir if it holds none yet (no FORMAT
// file), so that a service started from a package (`camchaind run --init`)
// needs no step before its first start. A directory that is not empty and
// holds no FORMAT file is refused by Init, never overwritten.
func initIfNoHub(cfg Config, stdout io.Writer) error {
	probe := cfg
	if err := probe.Validate(); err != nil {
		return err
	}
	if _, err := os.Stat(probe.formatFile()); err == nil {
		return nil
	}
	res, err := Init(cfg, "")
	if err != nil {
		return fmt.Errorf("--init: %w", err)
	}
	fmt.Fprintf(stdout, "camchaind: first start: made a new hub in %s\n  hub address: %s\n  chain id:    %s\n",
		res.DataDir, res.HubAddress.Hex(), res.LedgerChainID)
	return nil
}

// printFirstSteps tells a new owner how to reach the web UI and pair a
// camera: the lines a package's first start leaves in the journal.
func printFirstSteps(w io.Writer, h *Hub) {
	base := h.auth.Origin().String()
	fmt.Fprintf(w, "  UI:    %s/ (open it in a browser and sign in with your wallet)\n", base)
	fmt.Fprintf(w, "  pair a camera: camchain pair CODE --hub %s (CODE is what the camera shows)\n", base)
}
