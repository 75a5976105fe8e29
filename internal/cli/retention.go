package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// newRetentionCmd is `camchain retention`: the owner's retention policy of
// the hub's copy of a camera's recordings, a Retention transaction.
func newRetentionCmd(e *env) *cobra.Command {
	var days string
	return newOwnerActionCmd(e, ownerActionCmd{
		use:   "retention --camera CAMERA --days N",
		short: "Set how many days the hub keeps the camera's recordings (a ledger policy)",
		long: fmt.Sprintf(`Set, signed by your wallet, how many days the hub keeps the camera's
recordings (%d to %d). The policy is on the ledger, so every change is an
audit event and `+"`camchain verify`"+` knows which deletions it allowed: a clip
gone from the hub's copy before its age allowed is pruned-early, a failure.
Until you set one, the hub's --retention flag applies. The camera's own card
is a ring buffer bounded by its size and is not affected.`, tx.MinRetentionDays, tx.MaxRetentionDays),
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&days, "days", "", "keep recordings this many days")
		},
		build: func(cam keys.Address) (func(epoch, nonce, expiry uint64) tx.Msg, string, error) {
			if days == "" {
				return nil, "", usageError{errors.New("--days is required (e.g. --days 30)")}
			}
			n, err := strconv.ParseUint(strings.TrimSuffix(days, "d"), 10, 64)
			if err != nil || n < tx.MinRetentionDays || n > tx.MaxRetentionDays {
				return nil, "", usageError{fmt.Errorf("--days %q: want a whole number of days from %d to %d", days, tx.MinRetentionDays, tx.MaxRetentionDays)}
			}
			return func(epoch, nonce, expiry uint64) tx.Msg {
				return &tx.Retention{Camera: cam, Epoch: epoch, Days: n, Nonce: nonce, Expiry: expiry}
			}, "", nil
		},
	})
}
