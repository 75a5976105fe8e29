package cli

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/tx"
)

// resyncTTL is how long a resync waits for its camera.
const resyncTTL = 15 * time.Minute

func newResyncCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "resync CAMERA",
		Short: "Let a camera re-key its chain secret with its hub after the hub was restored from a backup",
		Long: `A hub restored from a backup holds a stale chain secret: its cameras refuse
it exactly as they refuse a stale copy of it in an intruder's hands (the
hub's audit log shows hub/chain-divergence). Your wallet signs a resync for
CAMERA and this hub; the hub hands it to the camera at its next connect; the
camera checks your signature itself, re-keys with the hub and sends it
everything the backup lacks that its card still holds. A resync is
single-use and expires after 15 minutes.`,
		Args: exactArgs(1),
	}
	hf := addHubFlags(cmd)
	ks := addKeystoreFlags(cmd)
	cmd.RunE = func(_ *cobra.Command, args []string) error {
		cam, err := keys.ParseAddress(args[0])
		if err != nil {
			return usageError{err}
		}
		o, cancel, err := e.cameraAndSigner(ks, hf, cam)
		if err != nil {
			return err
		}
		defer cancel()
		c, ctx, st, d, key := o.c, o.ctx, o.st, o.dev, o.key
		if !d.Owned || !strings.EqualFold(d.Owner, key.Address().Hex()) {
			return fmt.Errorf("camera %s is not yours on the ledger (owner %s): only its owner can resync it", cam.Hex(), orNone(d.Owner))
		}
		hub, err := keys.ParseAddress(d.Hub)
		if err != nil {
			return fmt.Errorf("camera %s is bound to no hub: %w", cam.Hex(), err)
		}
		sr, err := link.SignResync(key, st.EVMChainID, tx.Resync{Camera: cam, Hub: hub, Epoch: d.Epoch, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(resyncTTL)})
		if err != nil {
			return err
		}
		raw, err := sr.Marshal()
		if err != nil {
			return err
		}
		res, err := c.Resync(ctx, cam.Hex(), api.ResyncRequest{Resync: "0x" + hex.EncodeToString(raw)})
		if err != nil {
			return err
		}
		if hf.jsonOut {
			return e.printJSON(res)
		}
		fmt.Fprintf(e.stdout, "resync for camera %s (epoch %d) stored on hub %s; the camera re-keys at its next connect, before %s\n",
			res.Camera, res.Epoch, hub.Hex(), res.Expiry)
		return nil
	}
	return cmd
}
