package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/tx"
)

// The approval policy's commands (docs/SPEC.md §11.11): approve a pending
// client, and set the policy on the ledger.

// newClientActionCmd is cmd run as one call on the client id it takes,
// reporting done (a format with the id) when the hub agrees.
func newClientActionCmd(e *env, hf *hubFlags, cmd *cobra.Command, call func(*api.Client, context.Context, string) error, done string) *cobra.Command {
	cmd.Args = exactArgs(1)
	cmd.RunE = func(_ *cobra.Command, args []string) error {
		c, ctx, cancel, err := hf.client()
		if err != nil {
			return err
		}
		defer cancel()
		if err := call(c, ctx, args[0]); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, done, args[0])
		return nil
	}
	return cmd
}

func newClientsApproveCmd(e *env, hf *hubFlags) *cobra.Command {
	return newClientActionCmd(e, hf, &cobra.Command{
		Use:   "approve CLIENT",
		Short: "Approve a new machine of yours that waits for approval (under the approval policy)",
		Long: `Under your login policy (camchain clients policy --approval required), a new
machine that logs in with your wallet waits, without access, until one of
your already-enrolled machines approves it. Run this on an enrolled
machine with the client id the new machine printed. The hub records the
approval on the ledger's audit log. A machine cannot approve itself.`,
	}, (*api.Client).ApproveClient, "client %s approved; it gets access at its next renewal or login\n")
}

func newClientsPolicyCmd(e *env, hf *hubFlags) *cobra.Command {
	var approval string
	cmd := &cobra.Command{
		Use:   "policy --approval required|wallet",
		Short: "Set on the ledger whether a new machine needs an enrolled machine's approval",
		Long: `Set your login policy on the ledger, signed by your wallet (a LoginPolicy
transaction; only an owner of a camera keeps one). With --approval
required, a new machine that logs in with your wallet gets no access until
one of your enrolled machines approves it (camchain clients approve). If
you lose every enrolled machine, camchain login --override lets you in
with the wallet alone: it revokes all your other machines and raises a
login-override alarm on the ledger. --approval wallet goes back to the
default: the wallet is enough.`,
		Args: noArgs,
	}
	ks := addKeystoreFlags(cmd)
	cmd.Flags().StringVar(&approval, "approval", "", "required (an enrolled machine approves new ones) or wallet (the wallet is enough)")
	cmd.RunE = func(*cobra.Command, []string) error {
		var a uint64
		switch approval {
		case "required":
			a = tx.ApprovalRequired
		case "wallet":
			a = tx.ApprovalWallet
		default:
			return usageError{errors.New("--approval must be required or wallet")}
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
		key, err := e.loadSigner(*ks)
		if err != nil {
			return err
		}
		m := &tx.LoginPolicy{Account: key.Address(), Approval: a, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(tx.DefaultTTL)}
		return e.submit(ctx, c, hf, st.EVMChainID, m, key)
	}
	return cmd
}
