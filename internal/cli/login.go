package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/auth"
	"github.com/camchain/camchain/internal/auth/signin"
)

func newLoginCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "login [--hub URL]",
		Short: "Log in to a hub with your wallet (Sign-In with Ethereum)",
		Long: `Log in to a hub: the wallet signs a one-time Sign-In with Ethereum message
(EIP-4361) and the hub answers with a short-lived access token that every
command reading the hub then uses and renews on its own. The session, and
this machine's place in its login chain, are kept in
$CAMCHAIN_HOME/sessions (mode 0600). The first login from a machine enrols
it as a new client, which the owner sees on the audit log; a copy of the
session used elsewhere is refused as a clone.`,
		Args: noArgs,
	}
	hf := addHubFlags(cmd)
	hf.tofu = e.confirmHubCert
	ks := addKeystoreFlags(cmd)
	var approve string
	var yes bool
	cmd.Flags().StringVar(&approve, "approve", "", "log in the browser that shows this device `CODE` (it has no wallet): show what the hub knows of it, ask, then sign the approval")
	cmd.Flags().BoolVar(&yes, "yes", false, "with --approve: approve without asking (for scripts)")
	var override bool
	cmd.Flags().BoolVar(&override, "override", false, "under your approval policy, when you lost every enrolled machine: let this one in with the wallet alone, revoking all your others (a loud, audited alarm)")
	cmd.RunE = func(_ *cobra.Command, _ []string) error {
		if yes && approve == "" {
			return usageError{errors.New("--yes goes with --approve CODE")}
		}
		c, ctx, cancel, err := hf.client()
		if err != nil {
			return err
		}
		defer cancel()
		if approve != "" {
			return e.approveDevice(ctx, c, ks, approve, yes, hf.jsonOut)
		}
		key, err := e.loadSigner(*ks)
		if err != nil {
			return err
		}
		var resources []string
		if override {
			resources = []string{auth.OverrideResource}
		}
		_, s, err := sessionLoginWith(ctx, c, key, resources)
		if err != nil {
			return err
		}
		if s.Pending {
			if hf.jsonOut {
				e.printJSON(struct {
					Hub, Address, Client string
					Pending              bool
				}{c.Base(), s.Address, s.Client, true})
			}
			return pendingError(s)
		}
		if hf.jsonOut {
			return e.printJSON(struct {
				Hub, Address, Client, Expires string
				Enrolled                      bool
			}{c.Base(), s.Address, s.Client, s.Expires, s.Enrolled})
		}
		fmt.Fprintf(e.stdout, "logged in to %s as %s (client %s, token until %s)\n", c.Base(), s.Address, s.Client, s.Expires)
		if s.Enrolled {
			fmt.Fprintln(e.stdout, "this machine is enrolled as a new client of your address; the audit log shows it (camchain clients list)")
		}
		return nil
	}
	return cmd
}

// approveDevice is `camchain login --approve CODE` (docs/SPEC.md §11.8):
// it shows the requesting browser as the hub recorded it, asks, and signs
// the device approval with the wallet.
func (e *env) approveDevice(ctx context.Context, c *api.Client, ks *keystoreFlags, code string, yes, jsonOut bool) error {
	if _, err := signin.ParseDeviceCode(code); err != nil {
		return usageError{fmt.Errorf("--approve %q: %w", code, err)}
	}
	store, err := ks.keystore()
	if err != nil {
		return err
	}
	me, err := store.Address()
	if err != nil {
		return err
	}
	info, err := c.DeviceInfo(ctx, code)
	if err != nil {
		return fmt.Errorf("device code %s: %w", code, err)
	}
	if info.Address != "" && !strings.EqualFold(info.Address, me.Hex()) {
		return fmt.Errorf("the browser showing %s asked to be logged in as %s, not as this wallet's %s; nothing was signed", info.Code, info.Address, me.Hex())
	}
	wants := "any address"
	if info.Address != "" {
		wants = info.Address
	}
	fmt.Fprintf(e.stderr, "A browser asks to be logged in to %s with code %s:\n"+
		"  its origin:     %s\n  its IP address: %s\n  its browser:    %s\n  as:             %s\n  asked at:       %s (the code expires %s)\n",
		info.Hub, info.Code, info.DeviceOrigin, info.DeviceIP, info.DeviceUserAgent, wants, info.Created, info.Expires)
	if info.DeviceOrigin != info.Hub {
		fmt.Fprintf(e.stderr, "WARNING: the request did not come from the hub's own page (%s) but from %q.\n", info.Hub, info.DeviceOrigin)
	}
	fmt.Fprintf(e.stderr, "Approve only a code you started yourself, in that browser, just now: anyone who gets you to approve their code is logged in as you.\n")
	if !yes {
		if err := e.confirmApproval(me.Hex()); err != nil {
			return err
		}
	}
	key, err := e.loadSigner(*ks)
	if err != nil {
		return err
	}
	a, err := info.Approval(key.Address(), time.Now())
	if err != nil {
		return err
	}
	res, err := c.ApproveDevice(ctx, a, key.SignText)
	if err != nil {
		return fmt.Errorf("approve device code %s: %w", info.Code, err)
	}
	if jsonOut {
		return e.printJSON(res)
	}
	fmt.Fprintf(e.stdout, "approved: the browser showing %s is logged in to %s as %s (it appears in `camchain clients list`)\n", info.Code, info.Hub, res.Address)
	return nil
}

// errNotApproved: the user said no to a device code.
var errNotApproved = errors.New("not approved; nothing was signed")

// confirmApproval asks on a terminal; without one it refuses (--yes).
func (e *env) confirmApproval(addr string) error {
	return e.askYesNo(fmt.Sprintf("Log that browser in as %s? [y/N] ", addr),
		usageError{errors.New("standard input is not a terminal to confirm the approval: pass --yes if a script has checked the device; nothing was signed")},
		errNotApproved)
}

func newLogoutCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "logout [--hub URL]",
		Short: "Forget this machine's access token and renewal for a hub",
		Long: `Remove the access token and the renewal secret from this machine's session
for the hub. The client id and login-chain head stay, so the next login
continues this machine's chain rather than enrolling it again. The token
itself stays valid until it expires (at most 15 minutes); to end every
session of a machine at once, revoke its client (camchain clients revoke).`,
		Args: noArgs,
	}
	hf := addHubFlags(cmd)
	cmd.RunE = func(_ *cobra.Command, _ []string) error {
		c, err := api.NewClient(hf.url)
		if err != nil {
			return usageError{err}
		}
		unlock, err := lockSession(c.Base())
		if err != nil {
			return err
		}
		defer unlock()
		s, err := loadSession(c.Base())
		if err != nil {
			return err
		}
		if s == nil || s.AccessToken == "" && s.Renewal == "" {
			fmt.Fprintf(e.stdout, "not logged in to %s\n", c.Base())
			return nil
		}
		s.AccessToken, s.Renewal, s.Expires = "", "", ""
		if err := saveSession(s); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "logged out of %s\n", c.Base())
		return nil
	}
	return cmd
}

func newClientsCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "clients", Short: "List or revoke the machines logged in as you", Args: noArgs}
	hf := addHubFlags(cmd)
	list := &cobra.Command{
		Use:   "list",
		Short: "List your enrolled clients: when, how often, and refused clone attempts",
		Args:  noArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			c, ctx, cancel, err := hf.client()
			if err != nil {
				return err
			}
			defer cancel()
			l, err := c.Clients(ctx)
			if err != nil {
				return err
			}
			if hf.jsonOut {
				return e.printJSON(l)
			}
			w := tabwriter.NewWriter(e.stdout, 0, 2, 2, ' ', 0)
			fmt.Fprintln(w, "CLIENT\tENROLLED\tLAST SEEN\tLOGINS\tCLONE ATTEMPTS\tSTATE")
			for _, ci := range l {
				state := "live"
				switch {
				case ci.Revoked != "":
					state = "revoked " + ci.Revoked
				case ci.Pending:
					state = "pending approval"
				case ci.Override != "":
					state = "live (let in by the wallet's override " + ci.Override + ")"
				}
				if ci.Current {
					state += " (this machine)"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%s\n", ci.Client, ci.Enrolled, ci.LastSeen, ci.Logins, ci.Clones, state)
			}
			return w.Flush()
		},
	}
	revoke := newClientActionCmd(e, hf, &cobra.Command{
		Use:   "revoke CLIENT",
		Short: "Revoke a client: its tokens stop working on the next request",
	}, (*api.Client).RevokeClient, "client %s revoked\n")
	cmd.AddCommand(list, revoke, newClientsApproveCmd(e, hf), newClientsPolicyCmd(e, hf))
	return cmd
}
