package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// newEncryptionCmd is `camchain encryption`: the owner's end-to-end
// encryption policy of a camera, an Encryption transaction (SPEC §17.4).
func newEncryptionCmd(e *env) *cobra.Command {
	var on, off bool
	return newOwnerActionCmd(e, ownerActionCmd{
		use:   "encryption --camera CAMERA --on|--off",
		short: "Turn end-to-end encryption of a camera's video on or off (a ledger policy)",
		long: `Turn end-to-end encryption of the camera's video on or off, signed by your
wallet. With it on, the camera seals every segment and live part before it
reaches its card or the link, under keys only you and the viewers you grant
hold (your viewing key: ` + "`camchain wallet viewing-key`" + `); the hub and its disk
hold only ciphertext, and verify, checkpoints and evidence work as before.
The camera takes the policy from your signed transaction itself, forwarded
by the hub. Until you set one it is off.

What the hub then cannot do: transcode (H.265 to the browser), analyse
pixels, or show the video to Home Assistant's camera entities. camchain
watch, camchain export and the browser player decrypt on your device with
your wallet's viewing key.`,
		flags: func(cmd *cobra.Command) {
			cmd.Flags().BoolVar(&on, "on", false, "turn end-to-end encryption on")
			cmd.Flags().BoolVar(&off, "off", false, "turn end-to-end encryption off")
		},
		build: func(cam keys.Address) (func(epoch, nonce, expiry uint64) tx.Msg, string, error) {
			if on == off {
				return nil, "", usageError{errors.New("say --on or --off (one of them)")}
			}
			v := uint64(0)
			if on {
				v = 1
			}
			return func(epoch, nonce, expiry uint64) tx.Msg {
				return &tx.Encryption{Camera: cam, Epoch: epoch, On: v, Nonce: nonce, Expiry: expiry}
			}, "", nil
		},
	})
}
