package cli

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/auth"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

func newLoginsCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "logins", Short: "Check that your logins are on the ledger", Args: noArgs}
	hf := addHubFlags(cmd)
	var hubAddr string
	verify := &cobra.Command{
		Use:   "verify [RECORD]",
		Short: "Verify a login record's inclusion proof against the root the hub committed on the ledger",
		Long: `Fetch a login record of the hub's login log (by its hash; default: this
machine's login-chain head for the hub, its latest login) with its Merkle
inclusion proof, and check it: the record decodes, the proof leads to the
root of a LoginBatch transaction signed by the hub, and that transaction
is committed on the ledger (docs/SPEC.md §11.7). The hub commits a batch
every login interval (one minute by default): a record of the current
interval is not provable yet.`,
		Args: maxArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			c, ctx, cancel, err := hf.client()
			if err != nil {
				return err
			}
			defer cancel()
			hash := ""
			if len(args) == 1 {
				hash = args[0]
			} else {
				s, err := loadSession(c.Base())
				if err != nil {
					return err
				}
				if s == nil || s.Head == "" {
					return usageError{fmt.Errorf("no login session for %s: give a RECORD hash or log in first", c.Base())}
				}
				hash = "0x" + s.Head
			}
			st, err := c.Status(ctx)
			if err != nil {
				return err
			}
			hub, err := keys.ParseAddress(st.HubAddress)
			if err != nil {
				return fmt.Errorf("hub status: %w", err)
			}
			if hubAddr != "" {
				want, err := keys.ParseAddress(hubAddr)
				if err != nil {
					return usageError{fmt.Errorf("--hub-address: %w", err)}
				}
				if want != hub {
					return fmt.Errorf("the hub at %s is %s, not %s", c.Base(), hub.Hex(), want.Hex())
				}
			}
			p, err := c.LoginRecord(ctx, hash)
			if err != nil {
				return err
			}
			entry, err := verifyLoginView(p, st.EVMChainID, hub)
			if err != nil {
				return err
			}
			res, err := c.Tx(ctx, p.Batch.TxHash)
			if err != nil {
				return fmt.Errorf("login batch %d transaction %s: %w", p.Batch.Seq, p.Batch.TxHash, err)
			}
			committed, _ := decodeHex(res.Tx)
			batchTx, _ := decodeHex(p.BatchTx)
			if res.Code != 0 || !bytes.Equal(committed, batchTx) {
				return fmt.Errorf("%w: the ledger's transaction %s is not the batch the proof names (code %d)", auth.ErrLoginProof, p.Batch.TxHash, res.Code)
			}
			if hf.jsonOut {
				return e.printJSON(p)
			}
			what := entry.Kind().String()
			if entry.Refusal != nil {
				what += " (" + entry.Refusal.Reason.String() + ")"
			}
			fmt.Fprintf(e.stdout, "verified: login record %s\n  %s of client %s by %s at %s\n  leaf %d of login batch %d (%d records, %d unverified refusals counted, %s to %s)\n  root %s, committed by hub %s at height %d in %s\n",
				p.Hash, what, p.Client, p.Address, p.Time, p.Index, p.Batch.Seq, p.Batch.Size, p.Batch.Unverified,
				p.Batch.PeriodStart, p.Batch.PeriodEnd, p.Batch.Root, hub.Hex(), res.Height, p.Batch.TxHash)
			return nil
		},
	}
	verify.Flags().StringVar(&hubAddr, "hub-address", "", "the hub's ledger address, if you know it (default: as the hub says)")
	cmd.AddCommand(verify)
	return cmd
}

// verifyLoginView runs auth.VerifyLoginProof on the hub's answer.
func verifyLoginView(p *api.LoginProof, evmChainID uint64, hub keys.Address) (*auth.Entry, error) {
	lp := auth.LoginProof{Index: p.Index}
	var err error
	if lp.Entry, err = decodeHex(p.Entry); err != nil {
		return nil, fmt.Errorf("%w: record: %v", auth.ErrLoginProof, err)
	}
	if lp.BatchTx, err = decodeHex(p.BatchTx); err != nil {
		return nil, fmt.Errorf("%w: batch transaction: %v", auth.ErrLoginProof, err)
	}
	for i, h := range p.Path {
		b, err := decodeHex(h)
		if err != nil || len(b) != len(feedchain.Hash{}) {
			return nil, fmt.Errorf("%w: path hash %d is not 32 bytes of hex", auth.ErrLoginProof, i)
		}
		lp.Path = append(lp.Path, feedchain.Hash(b))
	}
	e, _, err := auth.VerifyLoginProof(lp, evmChainID, hub)
	if err != nil {
		return nil, err
	}
	if e.Hash().Hex() != strings.ToLower(p.Hash) {
		return nil, fmt.Errorf("%w: the record's hash is %s, not %s", auth.ErrLoginProof, e.Hash().Hex(), p.Hash)
	}
	return e, nil
}

func decodeHex(s string) ([]byte, error) {
	return hex.DecodeString(strings.TrimPrefix(s, "0x"))
}

func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return usageError{fmt.Errorf("%s takes at most %d argument(s), got %d; see --help", cmd.CommandPath(), n, len(args))}
		}
		return nil
	}
}
