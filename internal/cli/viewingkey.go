package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// newWalletViewingKeyCmd is `camchain wallet viewing-key`: the wallet's
// viewing key for end-to-end encryption (docs/SPEC.md §17.1), shown, and
// with --register put on the ledger.
func newWalletViewingKeyCmd(e *env, f *keystoreFlags) *cobra.Command {
	var register, public bool
	cmd := &cobra.Command{
		Use:   "viewing-key [--register]",
		Short: "Show your viewing key (end-to-end encryption), or register it on the ledger",
		Long: `Your viewing key decrypts the video of the cameras you own or may watch. It is
derived from your wallet — your wallet signs a fixed viewing-key message,
twice, and the signature becomes the key — so the same 24 words and
passphrase give the same viewing key here and in a browser wallet, and
there is nothing new to back up. Lose the wallet and the video encrypted to
it is unreadable for ever.

Without flags this prints your account and the viewing key's id. --public-key
prints the public key itself (hex). --register signs a ViewingKey transaction
with your wallet and puts the public key on the ledger of --hub, so your
cameras can encrypt to it (camchain pair does this for an owner; a viewer
registers once granted).`,
		Args: noArgs,
	}
	hf := addHubFlags(cmd)
	cmd.Flags().BoolVar(&register, "register", false, "register the public viewing key on the ledger of --hub")
	cmd.Flags().BoolVar(&public, "public-key", false, "print the public key (0x hex, 1216 bytes) only")
	cmd.RunE = func(*cobra.Command, []string) error {
		if register && public {
			return usageError{errors.New("--register and --public-key: choose one")}
		}
		k, err := e.loadSigner(*f)
		if err != nil {
			return err
		}
		vk, err := e2ee.Derive(k)
		if err != nil {
			return err
		}
		if public {
			fmt.Fprintf(e.stdout, "0x%x\n", vk.Public().Bytes())
			return nil
		}
		if !register {
			fmt.Fprintf(e.stdout, "Account:     %s\nViewing key: %s\n", k.Address().Hex(), vk.Public())
			return nil
		}
		c, ctx, cancel, err := hf.client()
		if err != nil {
			return err
		}
		defer cancel()
		st, err := c.Status(ctx)
		if err != nil {
			return err
		}
		res, err := registerViewingKey(ctx, c, st.EVMChainID, k, vk)
		if err != nil {
			return err
		}
		if hf.jsonOut {
			return e.printJSON(res)
		}
		fmt.Fprintln(e.stdout, res.describe(vk))
		return nil
	}
	return cmd
}

// viewingKeyResult is what registerViewingKey did.
type viewingKeyResult struct {
	Already bool          `json:"already_registered"` // the ledger held this very key
	Tx      *api.TxResult `json:"tx,omitempty"`       // the registration, when it was made now
}

func (r *viewingKeyResult) describe(vk *e2ee.PrivateKey) string {
	if r.Already {
		return fmt.Sprintf("viewing key %s of %s is already registered on the ledger", vk.Public(), vk.Account().Hex())
	}
	return fmt.Sprintf("viewing key %s of %s registered: ViewingKey committed at height %d (tx %s)", vk.Public(), vk.Account().Hex(), r.Tx.Height, r.Tx.Hash)
}

// registerViewingKey puts vk on the ledger, signed by k, unless the
// ledger already holds it. What the hub reports as registered is checked
// against the account's own signature before it is believed.
func registerViewingKey(ctx context.Context, c *api.Client, chain uint64, k *keys.PrivateKey, vk *e2ee.PrivateKey) (*viewingKeyResult, error) {
	cur, err := c.ViewingKey(ctx, k.Address().Hex())
	switch {
	case err == nil:
		if raw, herr := decodeHex(cur.Tx); herr == nil {
			if pub, verr := tx.VerifyViewingKey(raw, k.Address(), chain); verr == nil && pub.Equal(vk.Public()) {
				return &viewingKeyResult{Already: true}, nil
			}
		}
	case api.CodeOf(err) != api.ErrNotFound:
		return nil, err
	}
	raw, err := signedViewingKey(chain, k, vk)
	if err != nil {
		return nil, err
	}
	res, err := c.Submit(ctx, raw)
	var ae *api.Error
	if errors.As(err, &ae) && ae.Result != nil {
		// The only conflict of a ViewingKey: this very key is registered
		// (SPEC §3.1), by a registration that raced the lookup above.
		if ae.Result.CodeName == "conflict" {
			return &viewingKeyResult{Already: true}, nil
		}
		return nil, fmt.Errorf("the ledger refused the ViewingKey: %s: %s", ae.Result.CodeName, ae.Result.Log)
	}
	if err != nil {
		return nil, err
	}
	return &viewingKeyResult{Tx: res}, nil
}

// signedViewingKey is k's ViewingKey transaction registering vk (wire
// bytes).
func signedViewingKey(chain uint64, k *keys.PrivateKey, vk *e2ee.PrivateKey) ([]byte, error) {
	return signedWire(chain, &tx.ViewingKey{Account: k.Address(), KEM: e2ee.KEMID, PublicKey: vk.Public().Bytes(),
		Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(tx.DefaultTTL)}, k)
}
