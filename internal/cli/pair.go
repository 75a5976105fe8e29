package cli

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/pairing"
	"github.com/camchain/camchain/internal/tx"
)

func newPairCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pair CODE",
		Short: "Become the owner of a new camera, using the pairing code it shows",
		Long: `Pair a camera that has no owner: CODE is the one-time code the camera shows
(on its console, as a QR code, or in pairing-code.txt in its data directory).
Only someone with physical access can read it. Your wallet signs the imprint,
the camera co-signs it, and the hub puts it on the ledger: from then on the
camera is yours and trusts only this hub, until it is reset on the device.`,
		Args: exactArgs(1),
	}
	hf := addHubFlags(cmd)
	ks := addKeystoreFlags(cmd)
	var want knownHub
	cmd.Flags().StringVar(&want.HubAddress, "hub-address", "", "the hub's ledger `ADDRESS` you expect (its owner's records, its console); pairing aborts before signing if the hub is another")
	cmd.Flags().StringVar(&want.LinkTLSPin, "hub-pin", "", "the SHA-256 `PIN` of the hub's camera-link TLS key you expect")
	cmd.Flags().StringVar(&want.LedgerChainID, "chain-id", "", "the hub's ledger chain `ID` you expect (camchain-<n>)")
	var yes bool
	cmd.Flags().BoolVar(&yes, "yes", false, "at first contact with a hub, trust the identity it shows without asking (for scripts; giving --hub-address, --chain-id and --hub-pin is safer)")
	cmd.RunE = func(_ *cobra.Command, args []string) error {
		code, err := pairing.ParseCode(args[0])
		if err != nil {
			return usageError{err}
		}
		if code.Expired(time.Now()) {
			return errors.New("this pairing code has expired; the camera shows a new one (or run `camchain-agent reset` on it)")
		}
		hf.withWallet(e, ks)
		c, ctx, cancel, err := hf.client()
		if err != nil {
			return err
		}
		defer cancel()
		st, err := c.Status(ctx)
		if err != nil {
			return err
		}
		li, err := c.Link(ctx)
		if err != nil {
			return err
		}
		hubAddr, err := keys.ParseAddress(li.HubAddress)
		if err != nil {
			return fmt.Errorf("hub sent a bad address: %w", err)
		}
		hubPin, err := link.ParsePin(li.TLSPin)
		if err != nil {
			return fmt.Errorf("hub sent a bad TLS pin: %w", err)
		}
		// The hub's identity, confirmed before anything is signed: against
		// the command line, else against what this wallet pinned at its
		// first contact with this URL (SPEC §8).
		if !strings.EqualFold(st.HubAddress, hubAddr.Hex()) {
			return fmt.Errorf("%w: the hub's status names %s but its link info %s; nothing was signed", errHubIdentity, st.HubAddress, hubAddr.Hex())
		}
		dir := ks.dir
		if dir == "" {
			if dir, err = defaultKeystoreDir(); err != nil {
				return err
			}
		}
		known, err := loadKnownHubs(dir)
		if err != nil {
			return err
		}
		got := knownHub{HubAddress: hubAddr.Hex(), LinkTLSPin: hubPin.String(), LedgerChainID: st.LedgerChainID}
		first, err := known.checkHub(c.Base(), got, want)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "hub %s: address %s, chain %s, camera-link TLS pin %s\n", c.Base(), got.HubAddress, got.LedgerChainID, got.LinkTLSPin)
		if first && !want.complete() && !yes {
			// Nothing vouches for this identity yet but the owner: ask.
			if err := e.confirmHub(c.Base()); err != nil {
				return err
			}
		}
		if first {
			known.Hubs[c.Base()] = got
			if err := known.save(); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "first contact with this hub: its identity is now pinned in %s (check it against the hub's console)\n", known.path)
		}
		epoch := code.Epoch
		if d, err := c.Device(ctx, code.Camera.Hex()); err == nil {
			// A camera reset while its hub was unreachable shows a code for
			// a later epoch than the ledger's: it carries its signed Reset,
			// which the hub submits before the imprint.
			if d.Owned && code.Epoch <= d.Epoch {
				owner := d.Owner
				if owner == "" {
					owner = "not this wallet" // the hub shows a stranger only that it is owned
				}
				return fmt.Errorf("camera %s already has an owner (%s) on the ledger; only a reset on the camera frees it", code.Camera.Hex(), owner)
			}
			epoch = max(epoch, d.Epoch)
		} else if api.CodeOf(err) != api.ErrNotFound {
			return err
		}
		key, err := e.loadSigner(*ks)
		if err != nil {
			return err
		}
		imp := &tx.Imprint{Camera: code.Camera, Owner: key.Address(), Hub: hubAddr, Epoch: epoch,
			Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(tx.DefaultTTL)}
		d, err := tx.Digest(st.EVMChainID, imp)
		if err != nil {
			return err
		}
		ownerSig, err := key.SignDigest(d)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "contacting camera %s at %s…\n", code.Camera.Hex(), code.Addr)
		resp, err := pairing.Dial(ctx, code, &pairing.Request{Secret: code.Secret, EVMChainID: st.EVMChainID,
			Owner: imp.Owner, Hub: imp.Hub, Epoch: imp.Epoch, Nonce: imp.Nonce, Expiry: imp.Expiry, OwnerSig: ownerSig,
			HubLink: li.LinkAddress, HubPin: hubPin, HubAPI: c.PinnedURL(), Domain: uint64(tx.DomainV1)})
		if err != nil {
			return err
		}
		raw, err := (&tx.Tx{EVMChainID: st.EVMChainID, Msg: imp, Sigs: []keys.Signature{ownerSig, resp.CameraSig}}).Encode()
		if err != nil {
			return err
		}
		preq := api.PairRequest{Tx: "0x" + hex.EncodeToString(raw), CameraTLSPin: resp.CameraPin.String(),
			CameraPinSig: "0x" + hex.EncodeToString(resp.PinSig[:])}
		if len(resp.PendingReset) > 0 {
			preq.ResetTx = "0x" + hex.EncodeToString(resp.PendingReset)
		}
		res, err := c.Pair(ctx, preq)
		if err != nil {
			var ae *api.Error
			if errors.As(err, &ae) && ae.Result != nil {
				return fmt.Errorf("the ledger refused the imprint: %s: %s", ae.Result.CodeName, ae.Result.Log)
			}
			return err
		}
		// The owner's viewing key goes on the ledger now, so the camera
		// can encrypt from its imprint on (SPEC §17.1).
		vkErr := func() error {
			vk, err := e2ee.Derive(key)
			if err != nil {
				return err
			}
			r, err := registerViewingKey(ctx, c, st.EVMChainID, key, vk)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stderr, r.describe(vk))
			return nil
		}()
		if hf.jsonOut {
			if err := e.printJSON(res); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(e.stdout, "camera %s is yours (epoch %d), bound to hub %s; imprint committed at height %d (tx %s)\n",
				res.Camera, res.Epoch, res.Hub, res.Imprint.Height, res.Imprint.Hash)
		}
		if vkErr != nil {
			return fmt.Errorf("the camera is yours, but your viewing key is not registered (%w); run camchain wallet viewing-key --register", vkErr)
		}
		return nil
	}
	return cmd
}
