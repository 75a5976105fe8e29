package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/camchain/camchain/internal/api"
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
	ks := addKeystoreFlags(cmd)
	cmd.RunE = func(_ *cobra.Command, _ []string) error {
		c, ctx, cancel, err := hf.client()
		if err != nil {
			return err
		}
		defer cancel()
		key, err := e.loadSigner(*ks)
		if err != nil {
			return err
		}
		_, s, err := sessionLogin(ctx, c, key)
		if err != nil {
			return err
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
				if ci.Revoked != "" {
					state = "revoked " + ci.Revoked
				}
				if ci.Current {
					state += " (this machine)"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%s\n", ci.Client, ci.Enrolled, ci.LastSeen, ci.Logins, ci.Clones, state)
			}
			return w.Flush()
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke CLIENT",
		Short: "Revoke a client: its tokens stop working on the next request",
		Args:  exactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			c, ctx, cancel, err := hf.client()
			if err != nil {
				return err
			}
			defer cancel()
			if err := c.RevokeClient(ctx, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "client %s revoked\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(list, revoke)
	return cmd
}
