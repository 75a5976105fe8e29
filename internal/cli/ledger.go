package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/apitls"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// defaultHub is where the CLI looks for a hub without --hub or CAMCHAIN_HUB.
const defaultHub = "http://127.0.0.1:8080"

// hubFlags are the flags of every command that talks to a hub.
type hubFlags struct {
	url     string
	jsonOut bool
	timeout time.Duration
	// wallet logs in with the wallet when there is no session (commands
	// that sign anyway); nil: a session from `camchain login` is needed.
	wallet *sessionCreds
	// fingerprint is --hub-fingerprint: the SHA-256 of an https hub's
	// certificate, to pin (hubcerts.go).
	fingerprint string
	// tofu, when set (the login), may accept a hub certificate met for the
	// first time; nil refuses it.
	tofu func(hub string, fp apitls.Fingerprint) error
}

// withWallet lets the command log in with its wallet when it has no
// session for the hub yet.
func (h *hubFlags) withWallet(e *env, ks *keystoreFlags) {
	h.wallet = &sessionCreds{e: e, signer: func() (*keys.PrivateKey, error) { return e.loadSigner(*ks) },
		address: func() (keys.Address, error) {
			st, err := ks.keystore()
			if err != nil {
				return keys.Address{}, err
			}
			return st.Address()
		}}
}

func addHubFlags(cmd *cobra.Command) *hubFlags {
	h := &hubFlags{}
	def := os.Getenv("CAMCHAIN_HUB")
	if def == "" {
		def = defaultHub
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&h.url, "hub", def, "hub API `URL` (or set CAMCHAIN_HUB)")
	pf.BoolVar(&h.jsonOut, "json", false, "print the hub's JSON answer")
	pf.DurationVar(&h.timeout, "timeout", 60*time.Second, "give up after this long")
	pf.StringVar(&h.fingerprint, "hub-fingerprint", "", "the SHA-256 `HEX` of an https hub's TLS certificate (camchaind prints it at start): pin it, for this and every later command")
	return h
}

func (h *hubFlags) client() (*api.Client, context.Context, context.CancelFunc, error) {
	c, err := api.NewClient(h.url)
	if err != nil {
		return nil, nil, nil, usageError{err}
	}
	if err := h.pinTLS(c); err != nil {
		return nil, nil, nil, err
	}
	creds := h.wallet
	if creds == nil {
		creds = &sessionCreds{}
	}
	c.WithCredentials(creds)
	ctx, cancel := context.WithTimeout(context.Background(), h.timeout)
	return c, ctx, cancel, nil
}

func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func parseAddrFlag(name, v string) (keys.Address, error) {
	if v == "" {
		return keys.Address{}, usageError{fmt.Errorf("--%s is required", name)}
	}
	a, err := keys.ParseAddress(v)
	if err != nil {
		return a, usageError{fmt.Errorf("--%s: %w", name, err)}
	}
	return a, nil
}

// parseWhen reads an absolute RFC 3339 time or a duration from now
// ("36h", "7d", "30m"). Empty means zero (no limit).
func parseWhen(name, v string, now time.Time) (uint64, error) {
	if v == "" {
		return 0, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		if t.Unix() <= 0 {
			return 0, usageError{fmt.Errorf("--%s %q is before 1970", name, v)}
		}
		return uint64(t.Unix()), nil
	}
	d, err := parseDuration(v)
	if err != nil {
		return 0, usageError{fmt.Errorf("--%s %q: want an RFC 3339 time (2026-12-24T18:00:00Z) or a duration (12h, 7d)", name, v)}
	}
	return uint64(now.Add(d).Unix()), nil
}

// parseDuration is time.ParseDuration plus a "d" (24h) unit.
func parseDuration(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.ParseFloat(n, 64)
		if err != nil || days <= 0 {
			return 0, fmt.Errorf("bad duration %q", v)
		}
		return time.Duration(days * 24 * float64(time.Hour)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("bad duration %q", v)
	}
	return d, nil
}

// ownerAction signs and submits an owner action on a camera: it reads the
// chain id and the camera's epoch from the hub, builds the message with
// build, signs it with the wallet and waits for the block.
func (e *env) ownerAction(ks *keystoreFlags, hf *hubFlags, camera keys.Address,
	build func(epoch uint64, nonce, expiry uint64) tx.Msg) error {
	o, cancel, err := e.cameraAndSigner(ks, hf, camera)
	if err != nil {
		return err
	}
	defer cancel()
	c, ctx, st, dev, key := o.c, o.ctx, o.st, o.dev, o.key
	if dev.Owner != key.Address().Hex() {
		owner := orNone(dev.Owner)
		if dev.Owned && dev.Owner == "" {
			owner = "another address" // the hub does not say whom to a stranger
		}
		fmt.Fprintf(e.stderr, "camchain: warning: camera %s is owned by %s, not by this wallet (%s); the ledger will refuse\n",
			camera.Hex(), owner, key.Address().Hex())
	}
	msg := build(dev.Epoch, tx.NewNonce(), tx.ExpiryIn(tx.DefaultTTL))
	return e.submit(ctx, c, hf, st.EVMChainID, msg, key)
}

// ownerCall is what an owner's command needs before it signs: a hub
// client logged in with the wallet, the hub's status, the camera as the
// ledger has it, and the wallet's key.
type ownerCall struct {
	c   *api.Client
	ctx context.Context
	st  *api.Status
	dev *api.Device
	key *keys.PrivateKey
}

// cameraAndSigner reads the hub and the wallet for an owner's command on
// camera; the caller calls cancel.
func (e *env) cameraAndSigner(ks *keystoreFlags, hf *hubFlags, camera keys.Address) (*ownerCall, context.CancelFunc, error) {
	hf.withWallet(e, ks)
	c, ctx, cancel, err := hf.client()
	if err != nil {
		return nil, nil, err
	}
	o := &ownerCall{c: c, ctx: ctx}
	if o.st, err = c.Status(ctx); err == nil {
		if o.dev, err = c.Device(ctx, camera.Hex()); err == nil {
			o.key, err = e.loadSigner(*ks)
		}
	}
	if err != nil {
		cancel()
		return nil, nil, err
	}
	return o, cancel, nil
}

func orNone(s string) string {
	if s == "" {
		return "nobody"
	}
	return s
}

// submit signs msg, sends it and reports the outcome.
func (e *env) submit(ctx context.Context, c *api.Client, hf *hubFlags, chain uint64, msg tx.Msg, signers ...*keys.PrivateKey) error {
	t, err := tx.Sign(chain, msg, signers...)
	if err != nil {
		return err
	}
	raw, err := t.Encode()
	if err != nil {
		return err
	}
	res, err := c.Submit(ctx, raw)
	var ae *api.Error
	if errors.As(err, &ae) && ae.Result != nil && ae.Result.CodeName == "replay" {
		// The nonce is spent: perhaps by this very action, landed under
		// another hash (signed twice, or sent by another device first).
		landed, lerr := landedAs(ctx, c, chain, msg, signers[0].Address())
		if lerr != nil {
			return fmt.Errorf("the ledger refused the %s: replay: %s; and looking up what spent the nonce failed: %w", msg.Type(), ae.Result.Log, lerr)
		}
		if landed != nil {
			if hf.jsonOut {
				return e.printJSON(landed)
			}
			fmt.Fprintf(e.stdout, "%s committed at height %d (tx %s; this copy, %s, is the same signed action under another hash)\n",
				msg.Type(), landed.Height, landed.Hash, ae.Result.Hash)
			return nil
		}
	}
	if errors.As(err, &ae) && ae.Result != nil {
		if hf.jsonOut {
			e.printJSON(ae.Result)
		}
		return fmt.Errorf("the ledger refused the %s: %s: %s", msg.Type(), ae.Result.CodeName, ae.Result.Log)
	}
	if err != nil {
		return err
	}
	if hf.jsonOut {
		return e.printJSON(res)
	}
	fmt.Fprintf(e.stdout, "%s committed at height %d (tx %s)\n", msg.Type(), res.Height, res.Hash)
	return nil
}

// landedAs returns the committed, applied transaction that spent msg's
// nonce if it carries the same message (the same EIP-712 digest: the same
// action, whatever its signature bytes), or nil if the nonce went to
// something else.
func landedAs(ctx context.Context, c *api.Client, chain uint64, msg tx.Msg, signer keys.Address) (*api.TxResult, error) {
	nonce, _ := msg.Replay()
	use, err := c.NonceUse(ctx, signer.Hex(), nonce)
	if api.CodeOf(err) == api.ErrNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// The node indexes committed transactions asynchronously: a
	// transaction committed a moment ago may not be found yet.
	res, err := c.Tx(ctx, use.TxHash)
	for i := 0; i < 50 && api.CodeOf(err) == api.ErrNotFound; i++ {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		res, err = c.Tx(ctx, use.TxHash)
	}
	if err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(strings.TrimPrefix(res.Tx, "0x"))
	if err != nil {
		return nil, fmt.Errorf("the hub sent transaction %s as bad hex", use.TxHash)
	}
	// The bytes must be what the hub says they are.
	if sum := sha256.Sum256(raw); "0x"+hex.EncodeToString(sum[:]) != strings.ToLower(use.TxHash) {
		return nil, fmt.Errorf("the hub sent transaction %s with bytes of another hash", use.TxHash)
	}
	other, err := tx.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("transaction %s: %w", use.TxHash, err)
	}
	want, err := tx.Digest(chain, msg)
	if err != nil {
		return nil, err
	}
	got, err := tx.Digest(other.EVMChainID, other.Msg)
	if err != nil || got != want || res.Code != 0 {
		return nil, err
	}
	return res, nil
}

// confirm asks before an irreversible action unless --yes was given.
func (e *env) confirm(yes bool, what string) error {
	if yes {
		return nil
	}
	if _, ok := e.terminal(); !ok {
		return usageError{fmt.Errorf("%s cannot be undone; pass --yes to confirm", what)}
	}
	fmt.Fprintf(e.stderr, "%s cannot be undone. Type yes to continue: ", what)
	var answer string
	fmt.Fscanln(e.stdin, &answer)
	if answer != "yes" {
		return errors.New("cancelled")
	}
	return nil
}

func newDeviceCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "device", Short: "Show cameras on the ledger", Args: noArgs}
	hf := addHubFlags(cmd)
	ks := addKeystoreFlags(cmd)
	show := &cobra.Command{
		Use:   "show CAMERA",
		Short: "Show a camera's owner, hub, epoch, grants and checkpoints",
		Args:  exactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			cam, err := parseAddrFlag("camera", args[0])
			if err != nil {
				return err
			}
			c, ctx, cancel, err := hf.client()
			if err != nil {
				return err
			}
			defer cancel()
			d, err := c.Device(ctx, cam.Hex())
			if err != nil {
				return err
			}
			if hf.jsonOut {
				return e.printJSON(d)
			}
			e.printDevice(d)
			return nil
		},
	}
	var owner string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the cameras an address owns (default: your wallet's)",
		Args:  noArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			who, err := e.principal(ks, owner, "owner")
			if err != nil {
				return err
			}
			c, ctx, cancel, err := hf.client()
			if err != nil {
				return err
			}
			defer cancel()
			ds, err := c.DevicesOf(ctx, who.Hex())
			if err != nil {
				return err
			}
			if hf.jsonOut {
				return e.printJSON(ds)
			}
			if len(ds) == 0 {
				fmt.Fprintf(e.stdout, "%s owns no cameras\n", who.Hex())
			}
			for i := range ds {
				e.printDevice(&ds[i])
			}
			return nil
		},
	}
	list.Flags().StringVar(&owner, "owner", "", "owner `ADDRESS` (default: the wallet's)")
	cmd.AddCommand(show, list)
	return cmd
}

// principal returns the address given, or the wallet's (no passphrase needed).
func (e *env) principal(ks *keystoreFlags, given, flag string) (keys.Address, error) {
	if given != "" {
		return parseAddrFlag(flag, given)
	}
	store, err := ks.keystore()
	if err != nil {
		return keys.Address{}, err
	}
	a, err := store.Address()
	if err != nil {
		return a, fmt.Errorf("no --%s given and no wallet to default to: %w", flag, err)
	}
	return a, nil
}

func (e *env) printDevice(d *api.Device) {
	w := tabwriter.NewWriter(e.stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintf(w, "camera\t%s\n", d.Camera)
	if d.Owned && d.Owner == "" {
		fmt.Fprintf(w, "owner\tanother address (the hub shows the owner only to the owner and its viewers)\n")
	} else if d.Owned {
		fmt.Fprintf(w, "owner\t%s (since %s)\n", d.Owner, d.ImprintedAt)
	} else {
		fmt.Fprintf(w, "owner\tnone: imprintable by the next owner with physical access\n")
	}
	fmt.Fprintf(w, "hub\t%s\n", orNone(d.Hub))
	fmt.Fprintf(w, "epoch\t%d\n", d.Epoch)
	fmt.Fprintf(w, "checkpoint period\t%s\n", time.Duration(d.CheckpointPeriod)*time.Second)
	fmt.Fprintf(w, "checkpoints\t%d this epoch\n", d.Checkpoints.Count)
	for _, g := range d.Grants {
		state := "active"
		if !g.Active {
			state = "ended"
		}
		fmt.Fprintf(w, "viewer\t%s %s, until %s, history from %s\n", g.Viewer, state, or(g.ValidUntil, "revoked"), or(g.HistoryFrom, "the start"))
	}
	w.Flush()
	fmt.Fprintln(e.stdout)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ownerActionCmd is one owner action on a camera: --camera plus the
// action's own flags (added by flags), optional confirmation, then the
// message build returns, signed by the wallet and submitted.
type ownerActionCmd struct {
	use, short, long string
	irreversible     bool // asks for confirmation; --yes skips it
	flags            func(*cobra.Command)
	// build parses the action's flags and returns the message for an epoch
	// and a replay guard, and, for an irreversible action, what to confirm.
	build func(cam keys.Address) (msg func(epoch, nonce, expiry uint64) tx.Msg, confirm string, err error)
}

func newOwnerActionCmd(e *env, spec ownerActionCmd) *cobra.Command {
	var camera string
	var yes bool
	cmd := &cobra.Command{Use: spec.use, Short: spec.short, Long: spec.long, Args: noArgs}
	hf := addHubFlags(cmd)
	ks := addKeystoreFlags(cmd)
	cmd.Flags().StringVar(&camera, "camera", "", "camera `ADDRESS`")
	spec.flags(cmd)
	cmd.RunE = func(*cobra.Command, []string) error {
		cam, err := parseAddrFlag("camera", camera)
		if err != nil {
			return err
		}
		msg, confirm, err := spec.build(cam)
		if err != nil {
			return err
		}
		if spec.irreversible {
			if err := e.confirm(yes, confirm); err != nil {
				return err
			}
		}
		return e.ownerAction(ks, hf, cam, msg)
	}
	if spec.irreversible {
		cmd.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")
	}
	return cmd
}

func newGrantCmd(e *env) *cobra.Command {
	var viewer, until, historyFrom string
	return newOwnerActionCmd(e, ownerActionCmd{
		use:   "grant --camera CAMERA --viewer ADDRESS [--until WHEN] [--history-from WHEN]",
		short: "Give someone the viewer role on your camera",
		long: `Give ADDRESS the viewer role on CAMERA, signed by your wallet as owner.
--until ends the grant (RFC 3339 time or a duration such as 7d); without it
the grant lasts until revoked. --history-from is the earliest recording the
viewer may see. Grants end when the camera is reset, released or transferred.

With end-to-end encryption on, the camera wraps its keys to the viewer only
from when the grant (and the viewer's registered viewing key) reaches it.
The keys of what it recorded before, from --history-from on (without it:
from the start), are yours to give: run camchain history-keys --camera
CAMERA --viewer ADDRESS once the viewer has registered its viewing key.`,
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&viewer, "viewer", "", "viewer `ADDRESS`")
			cmd.Flags().StringVar(&until, "until", "", "end of the grant: RFC 3339 time or duration (default: until revoked)")
			cmd.Flags().StringVar(&historyFrom, "history-from", "", "earliest recording the viewer may see: RFC 3339 time (default: all)")
		},
		build: func(cam keys.Address) (func(epoch, nonce, expiry uint64) tx.Msg, string, error) {
			v, err := parseAddrFlag("viewer", viewer)
			if err != nil {
				return nil, "", err
			}
			now := time.Now()
			u, err := parseWhen("until", until, now)
			if err != nil {
				return nil, "", err
			}
			hfrom, err := parseWhen("history-from", historyFrom, now)
			if err != nil {
				return nil, "", err
			}
			return func(epoch, nonce, expiry uint64) tx.Msg {
				return &tx.Grant{Camera: cam, Epoch: epoch, Viewer: v, ValidUntil: u, HistoryFrom: hfrom, Nonce: nonce, Expiry: expiry}
			}, "", nil
		},
	})
}

func newRevokeCmd(e *env) *cobra.Command {
	var viewer string
	return newOwnerActionCmd(e, ownerActionCmd{
		use:   "revoke --camera CAMERA --viewer ADDRESS",
		short: "End someone's viewer role on your camera",
		flags: func(cmd *cobra.Command) { cmd.Flags().StringVar(&viewer, "viewer", "", "viewer `ADDRESS`") },
		build: func(cam keys.Address) (func(epoch, nonce, expiry uint64) tx.Msg, string, error) {
			v, err := parseAddrFlag("viewer", viewer)
			if err != nil {
				return nil, "", err
			}
			return func(epoch, nonce, expiry uint64) tx.Msg {
				return &tx.Revoke{Camera: cam, Epoch: epoch, Viewer: v, Nonce: nonce, Expiry: expiry}
			}, "", nil
		},
	})
}

func newTransferCmd(e *env) *cobra.Command {
	var to string
	return newOwnerActionCmd(e, ownerActionCmd{
		use:          "transfer --camera CAMERA --to ADDRESS --yes",
		short:        "Hand your camera to a new owner (its grants end)",
		irreversible: true,
		flags:        func(cmd *cobra.Command) { cmd.Flags().StringVar(&to, "to", "", "new owner `ADDRESS`") },
		build: func(cam keys.Address) (func(epoch, nonce, expiry uint64) tx.Msg, string, error) {
			newOwner, err := parseAddrFlag("to", to)
			if err != nil {
				return nil, "", err
			}
			return func(epoch, nonce, expiry uint64) tx.Msg {
				return &tx.Transfer{Camera: cam, Epoch: epoch, NewOwner: newOwner, Nonce: nonce, Expiry: expiry}
			}, "Transferring camera " + cam.Hex() + " to " + newOwner.Hex(), nil
		},
	})
}

func newReleaseCmd(e *env) *cobra.Command {
	return newOwnerActionCmd(e, ownerActionCmd{
		use:          "release --camera CAMERA --yes",
		short:        "Give up your camera: no owner, no hub, no grants; it can be paired again",
		irreversible: true,
		flags:        func(*cobra.Command) {},
		build: func(cam keys.Address) (func(epoch, nonce, expiry uint64) tx.Msg, string, error) {
			return func(epoch, nonce, expiry uint64) tx.Msg {
				return &tx.Release{Camera: cam, Epoch: epoch, Nonce: nonce, Expiry: expiry}
			}, "Releasing camera " + cam.Hex(), nil
		},
	})
}

func newPolicyCmd(e *env) *cobra.Command {
	var period string
	return newOwnerActionCmd(e, ownerActionCmd{
		use:   "policy --camera CAMERA --period DURATION",
		short: "Set how often the camera commits an integrity checkpoint",
		long: fmt.Sprintf(`Set the camera's checkpoint period: how often it commits the Merkle root of
its recordings to the ledger. Between %s and %s; for example 1h, 6h, 1d.`, tx.MinCheckpointPeriod, tx.MaxCheckpointPeriod),
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&period, "period", "", "checkpoint period, e.g. 1h or 1d")
		},
		build: func(cam keys.Address) (func(epoch, nonce, expiry uint64) tx.Msg, string, error) {
			if period == "" {
				return nil, "", usageError{errors.New("--period is required (e.g. 1h, 1d)")}
			}
			d, err := parseDuration(period)
			if err != nil || d < tx.MinCheckpointPeriod || d > tx.MaxCheckpointPeriod || d%time.Second != 0 {
				return nil, "", usageError{fmt.Errorf("--period %q: want whole seconds between %s and %s", period, tx.MinCheckpointPeriod, tx.MaxCheckpointPeriod)}
			}
			return func(epoch, nonce, expiry uint64) tx.Msg {
				return &tx.SetPolicy{Camera: cam, Epoch: epoch, CheckpointPeriod: uint64(d / time.Second), Nonce: nonce, Expiry: expiry}
			}, "", nil
		},
	})
}

func newAuditCmd(e *env) *cobra.Command {
	var camera, principal string
	var limit int
	var before uint64
	cmd := &cobra.Command{
		Use:   "audit [--camera CAMERA] [--principal ADDRESS]",
		Short: "List audit events: pairings, resets, grants, logins, alarms (newest first)",
		Long: `List audit events from the ledger, newest first. By default the events of
your wallet's address: as actor, and for cameras you owned when they happened.
--camera lists one camera's events instead.`,
		Args: noArgs,
	}
	hf := addHubFlags(cmd)
	ks := addKeystoreFlags(cmd)
	cmd.Flags().StringVar(&camera, "camera", "", "only this camera's events")
	cmd.Flags().StringVar(&principal, "principal", "", "events of this `ADDRESS` (default: the wallet's)")
	cmd.Flags().IntVar(&limit, "limit", 20, "at most this many events")
	cmd.Flags().Uint64Var(&before, "before", 0, "only events with a sequence number below this (paging)")
	cmd.RunE = func(_ *cobra.Command, _ []string) error {
		q := api.AuditQuery{Limit: limit, Before: before}
		if camera != "" {
			cam, err := parseAddrFlag("camera", camera)
			if err != nil {
				return err
			}
			q.Camera = cam.Hex()
		}
		if camera == "" || principal != "" {
			who, err := e.principal(ks, principal, "principal")
			if err != nil {
				return err
			}
			q.Principal = who.Hex()
		}
		c, ctx, cancel, err := hf.client()
		if err != nil {
			return err
		}
		defer cancel()
		l, err := c.Audit(ctx, q)
		if err != nil {
			return err
		}
		if hf.jsonOut {
			return e.printJSON(l)
		}
		w := tabwriter.NewWriter(e.stdout, 0, 2, 2, ' ', 0)
		fmt.Fprintln(w, "SEQ\tTIME\tKIND\tBY\tCAMERA\tACTOR\tDETAIL")
		for _, ev := range l.Items {
			detail := ev.Detail
			if ev.Subject != "" {
				detail = "(the hub says: about " + ev.Subject + ") " + detail
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.Seq, ev.Time, ev.Kind, ev.Source, or(ev.Camera, "-"), or(ev.Actor, "-"), detail)
		}
		w.Flush()
		if l.Next != "" {
			fmt.Fprintf(e.stdout, "(more: --before %s)\n", l.Next)
		}
		return nil
	}
	return cmd
}

// exactArgs requires n positional arguments (a usage error otherwise).
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s takes %d argument(s), got %d; see --help", cmd.CommandPath(), n, len(args))}
		}
		return nil
	}
}
