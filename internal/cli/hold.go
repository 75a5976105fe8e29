package cli

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// newHoldCmd is `camchain hold`: the owner's legal hold on a time range of
// a camera's recordings, a LegalHold transaction (docs/SPEC.md §14.4).
func newHoldCmd(e *env) *cobra.Command {
	var from, until, release string
	return newOwnerActionCmd(e, ownerActionCmd{
		use:   "hold --camera CAMERA (--from TIME --until TIME | --release N)",
		short: "Put a time range of a camera's recordings on legal hold, or release a hold",
		long: `Put, signed by your wallet, the camera's recordings that overlap [--from,
--until) (RFC 3339 times) on legal hold: the hub's retention and its
emergency deletion keep them, whatever their age and however full its disk,
until you release the hold. The hold is on the ledger: each hold and release
is an audit event (legal-hold) whose detail gives the hold's number, and a
verifier sees which ranges were held. --release N releases hold number N
(holds are numbered from 1 in the order the ledger placed them).

While a hold stands the hub also keeps every later recording of the camera's
epoch (it deletes oldest first and stops at the first it may not delete):
release holds you no longer need.`,
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&from, "from", "", "hold recordings from this time, RFC 3339 (2026-05-01T12:00:00Z)")
			cmd.Flags().StringVar(&until, "until", "", "to this time (exclusive), RFC 3339")
			cmd.Flags().StringVar(&release, "release", "", "release hold number `N` instead")
		},
		build: func(cam keys.Address) (func(epoch, nonce, expiry uint64) tx.Msg, string, error) {
			if release != "" {
				if from != "" || until != "" {
					return nil, "", usageError{errors.New("--release N names only the hold: no --from or --until")}
				}
				n, err := strconv.ParseUint(release, 10, 64)
				if err != nil || n == 0 {
					return nil, "", usageError{fmt.Errorf("--release %q: want a hold number (1, 2, …; see camchain audit)", release)}
				}
				return func(epoch, nonce, expiry uint64) tx.Msg {
					return &tx.LegalHold{Camera: cam, Epoch: epoch, Release: n, Nonce: nonce, Expiry: expiry}
				}, "", nil
			}
			if from == "" || until == "" {
				return nil, "", usageError{errors.New("--from and --until are required (or --release N)")}
			}
			t1, err := parseTimeFlag("from", from)
			if err != nil {
				return nil, "", err
			}
			t2, err := parseTimeFlag("until", until)
			if err != nil {
				return nil, "", err
			}
			if !t1.Before(t2) || t1.Unix() < 0 {
				return nil, "", usageError{fmt.Errorf("--from %s must be before --until %s (and after 1970)", from, until)}
			}
			// Whole seconds, outward: a hold never covers less than asked.
			f, u := uint64(t1.Unix()), uint64(t2.Unix())
			if t2.After(time.Unix(int64(u), 0)) {
				u++
			}
			return func(epoch, nonce, expiry uint64) tx.Msg {
				return &tx.LegalHold{Camera: cam, Epoch: epoch, From: f, Until: u, Nonce: nonce, Expiry: expiry}
			}, "", nil
		},
	})
}
