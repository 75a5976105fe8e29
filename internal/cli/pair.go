package cli

import (
	"context"
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
camera is yours and trusts only this hub, until it is reset on the device.

End-to-end encryption is on from the imprint: your wallet also signs the
camera's encryption policy and your viewing key, which travel with the
imprint, so the camera seals its video from its first segment to keys only
you (and the viewers you grant) hold. The hub, its disk and any copy of it
hold only ciphertext — and so cannot transcode it (H.265 to a browser),
analyse its pixels or show it to Home Assistant's camera entities.
--no-encryption pairs with it off: the hub can then watch the video.
Either way ` + "`camchain encryption`" + ` changes it later.`,
		Args: exactArgs(1),
	}
	hf := addHubFlags(cmd)
	ks := addKeystoreFlags(cmd)
	var want knownHub
	cmd.Flags().StringVar(&want.HubAddress, "hub-address", "", "the hub's ledger `ADDRESS` you expect (its owner's records, its console); pairing aborts before signing if the hub is another")
	cmd.Flags().StringVar(&want.LinkTLSPin, "hub-pin", "", "the SHA-256 `PIN` of the hub's camera-link TLS key you expect")
	cmd.Flags().StringVar(&want.LedgerChainID, "chain-id", "", "the hub's ledger chain `ID` you expect (camchain-<n>)")
	var yes, noEncryption bool
	cmd.Flags().BoolVar(&noEncryption, "no-encryption", false, "pair with end-to-end encryption off: the hub (and whoever holds its disk) can watch the video")
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
		// The owner's encryption policy for this imprint (its epoch and
		// expiry) and, with it on, the owner's viewing key: the camera
		// takes them from the request, signed here (SPEC §8, §17.4).
		on := uint64(1)
		if noEncryption {
			on = 0
		}
		policy, err := signedWire(st.EVMChainID, &tx.Encryption{Camera: code.Camera, Epoch: epoch, On: on, Nonce: tx.NewNonce(), Expiry: imp.Expiry}, key)
		if err != nil {
			return err
		}
		var vk *e2ee.PrivateKey
		var vkTx []byte
		if !noEncryption {
			if vk, err = e2ee.Derive(key); err != nil {
				return err
			}
			if vkTx, err = signedViewingKey(st.EVMChainID, key, vk); err != nil {
				return err
			}
		}
		fmt.Fprintf(e.stderr, "contacting camera %s at %s…\n", code.Camera.Hex(), code.Addr)
		resp, err := pairing.Dial(ctx, code, &pairing.Request{Secret: code.Secret, EVMChainID: st.EVMChainID,
			Owner: imp.Owner, Hub: imp.Hub, Epoch: imp.Epoch, Nonce: imp.Nonce, Expiry: imp.Expiry, OwnerSig: ownerSig,
			HubLink: li.LinkAddress, HubPin: hubPin, HubAPI: c.PinnedURL(), Domain: uint64(tx.DomainV1),
			Encryption: policy, ViewingKey: vkTx})
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
		// The camera holds the policy and the key already; the ledger gets
		// them now (the owner's own, so viewers and the hub's UI see them,
		// and the hub forwards the key to cameras the owner pairs later).
		var regErr error
		if vk != nil {
			regErr = func() error {
				r, err := registerViewingKey(ctx, c, st.EVMChainID, key, vk)
				if err != nil {
					return fmt.Errorf("your viewing key is not registered (%w); run camchain wallet viewing-key --register", err)
				}
				fmt.Fprintln(e.stderr, r.describe(vk))
				return nil
			}()
		}
		if err := submitPolicy(ctx, c, st.EVMChainID, key, policy, code.Camera, epoch, on); err != nil {
			regErr = errors.Join(regErr, fmt.Errorf("the encryption policy is not on the ledger (%w); the camera has it, and camchain encryption --camera %s puts it there", err, code.Camera.Hex()))
		}
		if hf.jsonOut {
			if err := e.printJSON(res); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(e.stdout, "camera %s is yours (epoch %d), bound to hub %s; imprint committed at height %d (tx %s)\n",
				res.Camera, res.Epoch, res.Hub, res.Imprint.Height, res.Imprint.Hash)
		}
		if !hf.jsonOut {
			if noEncryption {
				fmt.Fprintln(e.stdout, "end-to-end encryption: off (--no-encryption): the hub, its disk and any copy of them can watch this camera's video; camchain encryption --on changes that")
			} else {
				fmt.Fprintf(e.stdout, "end-to-end encryption: on from the first segment, to your viewing key %s: the hub holds only ciphertext (no transcoding, no pixel analysis, no Home Assistant camera entity)\n", vk.Public())
			}
		}
		if regErr != nil {
			return fmt.Errorf("the camera is yours, but: %w", regErr)
		}
		return nil
	}
	return cmd
}

// signedWire signs msg with k (EIP-712 domain v1) and returns its wire
// bytes.
func signedWire(chain uint64, msg tx.Msg, k *keys.PrivateKey) ([]byte, error) {
	t, err := tx.Sign(chain, msg, k)
	if err != nil {
		return nil, err
	}
	return t.Encode()
}

// submitPolicy puts the pairing's encryption policy on the ledger: the
// very transaction the camera holds, or, if that one can no longer land
// (it expired while the imprint committed), the same choice signed again.
func submitPolicy(ctx context.Context, c *api.Client, chain uint64, k *keys.PrivateKey, raw []byte, camera keys.Address, epoch, on uint64) error {
	_, err := c.Submit(ctx, raw)
	var ae *api.Error
	if errors.As(err, &ae) && ae.Result != nil && (ae.Result.CodeName == "expired" || ae.Result.CodeName == "expiry_too_far") {
		if raw, err = signedWire(chain, &tx.Encryption{Camera: camera, Epoch: epoch, On: on, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(tx.DefaultTTL)}, k); err != nil {
			return err
		}
		_, err = c.Submit(ctx, raw)
	}
	if errors.As(err, &ae) && ae.Result != nil {
		return fmt.Errorf("the ledger refused it: %s: %s", ae.Result.CodeName, ae.Result.Log)
	}
	return err
}
