package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mdp/qrterminal/v3"
	"github.com/spf13/cobra"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/home"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/tailnet"
	"github.com/camchain/camchain/internal/version"
)

// DefaultDataDir is $CAMCHAIN_HOME/hub (CAMCHAIN_HOME defaults to
// ~/.camchain).
func DefaultDataDir() string { return home.DirOr("hub") }

// Options are what cmd/camchaind links into the command line.
type Options struct {
	// TailnetJoin joins a tailnet (internal/tailnet/tsnode.Join); nil: a
	// camchaind without Tailscale, whose --tailscale is refused.
	TailnetJoin tailnet.Joiner
}

// Main is the camchaind command line without Tailscale; it returns the
// exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	return MainWith(args, stdout, stderr, Options{})
}

// MainWith is the camchaind command line; it returns the exit code.
func MainWith(args []string, stdout, stderr io.Writer, opts Options) int {
	var (
		tsOn          bool
		ts            tailnet.Config
		tsKeyFile     string
		cfg           Config
		logLevel      string
		ledgerChainID string
		initIfNew     bool
		network       bool
		genesisOut    string
		genesisFile   string
		peers         []string
	)
	root := &cobra.Command{
		Use:           "camchaind",
		Short:         "camchaind: the camchain hub (ledger node and API)",
		Version:       version.String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageError{fmt.Errorf("unknown command %q for %q; see --help", args[0], cmd.CommandPath())}
		}
		return nil
	}
	root.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	root.PersistentFlags().StringVar(&cfg.DataDir, "data", DefaultDataDir(), "hub data directory")

	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Create a hub data directory: hub key, single-validator ledger, genesis",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if network {
				if ledgerChainID != "" {
					return usageError{errors.New("--network makes no genesis: give --chain-id to `camchaind genesis`")}
				}
				res, err := InitNetworkHub(cfg)
				if err != nil {
					return err
				}
				id, err := Identity(cfg)
				if err != nil {
					return err
				}
				b, _ := json.Marshal(id)
				fmt.Fprintf(stdout, "camchaind: initialised %s for a network of hubs (no ledger genesis yet)\n  hub address: %s\n  identity:    %s\n"+
					"Next: hand the identity to whoever makes the genesis (camchaind genesis), or get the network's genesis.json,\n"+
					"then: camchaind join --data %s --genesis genesis.json --peer NODE_ID@HOST:PORT ...\n",
					res.DataDir, res.HubAddress.Hex(), b, res.DataDir)
				return nil
			}
			res, err := Init(cfg, ledgerChainID)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "camchaind: initialised %s\n  hub address: %s\n  chain id:    %s\nStart it with: camchaind run --data %s\n",
				res.DataDir, res.HubAddress.Hex(), res.LedgerChainID, res.DataDir)
			return nil
		},
	}
	initCmd.Flags().StringVar(&ledgerChainID, "chain-id", "", "chain id camchain-<n> (default: random)")
	initCmd.Flags().BoolVar(&network, "network", false, "make the keys only, for a network of hubs: the genesis comes from `camchaind genesis` and `camchaind join` installs it")

	identityCmd := &cobra.Command{
		Use:   "identity",
		Short: "Print this hub's network identity (hub address, validator key, peer id) as JSON",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := Identity(cfg)
			if err != nil {
				return err
			}
			b, _ := json.Marshal(id)
			fmt.Fprintf(stdout, "%s\n", b)
			return nil
		},
	}
	genesisCmd := &cobra.Command{
		Use:   "genesis IDENTITY.json...",
		Short: "Make a network's genesis whose validators are the hubs of the identity files",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("camchaind genesis needs the identity file of every first validator (what `camchaind identity` prints)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			out := stdout
			if genesisOut != "" {
				var buf bytes.Buffer
				if err := WriteGenesis(ledgerChainID, args, &buf); err != nil {
					return err
				}
				if err := atomicfile.Write(genesisOut, buf.Bytes(), 0o644); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "camchaind: wrote %s with %d validators; give it to every hub: camchaind join --genesis %s --peer ...\n", genesisOut, len(args), genesisOut)
				return nil
			}
			return WriteGenesis(ledgerChainID, args, out)
		},
	}
	genesisCmd.Flags().StringVar(&ledgerChainID, "chain-id", "", "chain id camchain-<n> (default: random)")
	genesisCmd.Flags().StringVar(&genesisOut, "out", "", "write the genesis to this file (default: standard output)")

	joinCmd := &cobra.Command{
		Use:   "join --genesis FILE --peer NODE_ID@HOST:PORT...",
		Short: "Join a network of hubs: install its genesis and peers in this hub",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if genesisFile == "" {
				return usageError{errors.New("camchaind join needs --genesis FILE (the network's genesis.json)")}
			}
			b, err := os.ReadFile(genesisFile)
			if err != nil {
				return err
			}
			validator, err := Join(cfg, b, peers)
			if err != nil {
				return err
			}
			role := "a full node: it follows the ledger and answers queries; the validators can vote it in (camchaind validator vote)"
			if validator {
				role = "a validator of the genesis set"
			}
			fmt.Fprintf(stdout, "camchaind: %s joins the network as %s\n  peers: %d\nStart it with: camchaind run --data %s --p2p tcp://HOST:PORT (the address its peers dial)\n",
				cfg.DataDir, role, len(peers), cfg.DataDir)
			return nil
		},
	}
	joinCmd.Flags().StringVar(&genesisFile, "genesis", "", "the network's genesis.json")
	joinCmd.Flags().StringArrayVar(&peers, "peer", nil, "a hub of the network to connect to, NODE_ID@HOST:PORT (repeatable; its node id is in its identity)")

	var apiURL string
	var power uint64
	validatorCmd := &cobra.Command{
		Use:   "validator",
		Short: "The ledger's validator set: list it, or vote (as a validator's hub) to change it",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	validatorCmd.PersistentFlags().StringVar(&apiURL, "api", "http://"+DefaultHTTPAddr, "this hub's running API (http(s)://host:port)")
	validatorCmd.PersistentFlags().StringVar(&cfg.PassphraseFile, "passphrase-file", os.Getenv("CAMCHAIND_PASSPHRASE_FILE"), "hub key passphrase file (default <data>/keys/hub.passphrase)")
	listCmd := &cobra.Command{
		Use:   "list",
		Short: "Print the validator set and the open proposals to change it",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := api.NewClient(apiURL)
			if err != nil {
				return usageError{err}
			}
			s, err := c.Validators(cmd.Context())
			if err != nil {
				return err
			}
			PrintValidatorSet(stdout, s)
			return nil
		},
	}
	report := func(r *VoteResult) {
		fmt.Fprintf(stdout, "camchaind: vote committed at height %d (tx %s)\n", r.Tx.Height, r.Tx.Hash)
		PrintValidatorSet(stdout, r.Set)
	}
	voteCmd := &cobra.Command{
		Use:   "vote IDENTITY.json [--power N]",
		Short: "Vote, as this validator's hub, to make the hub of IDENTITY.json a validator (or set its power; 0 removes it)",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{errors.New("camchaind validator vote needs one identity file (what `camchaind identity` prints on the hub to vote in)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := ReadIdentityFile(args[0])
			if err != nil {
				return err
			}
			r, err := Vote(cmd.Context(), cfg, apiURL, id, power)
			if err != nil {
				return err
			}
			report(r)
			return nil
		},
	}
	voteCmd.Flags().Uint64Var(&power, "power", ledger.DefaultValidatorPower, "the voting power to give it (0 removes it)")
	removeCmd := &cobra.Command{
		Use:   "remove HUB_ADDRESS",
		Short: "Vote, as this validator's hub, to remove the validator of HUB_ADDRESS",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{errors.New("camchaind validator remove needs the hub address whose validator leaves")}
			}
			if _, err := keys.ParseAddress(args[0]); err != nil {
				return usageError{err}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := Vote(cmd.Context(), cfg, apiURL, ledger.Identity{Hub: args[0]}, 0)
			if err != nil {
				return err
			}
			report(r)
			return nil
		},
	}
	validatorCmd.AddCommand(listCmd, voteCmd, removeCmd)

	runCmd := &cobra.Command{
		Use:   "run",
		Short: "Run the hub until interrupted",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lvl, err := parseLevel(logLevel)
			if err != nil {
				return err
			}
			cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
			if cfg.MQTT.URL == "" {
				// The environment keeps a password off the command line
				// (where ps shows it).
				cfg.MQTT.URL = os.Getenv("CAMCHAIND_MQTT")
			}
			if tsOn {
				// The auth key comes from a file or the environment, never
				// the command line (where ps shows it), and never prints.
				if tsKeyFile != "" {
					if ts.AuthKey, err = tailnet.ReadAuthKeyFile(tsKeyFile); err != nil {
						return err
					}
				} else if v := os.Getenv(tailnet.AuthKeyEnv); v != "" {
					if ts.AuthKey, err = tailnet.ParseAuthKey(v); err != nil {
						return fmt.Errorf("$%s: %w", tailnet.AuthKeyEnv, err)
					}
				}
				cfg.Tailnet, cfg.TailnetJoin = &ts, opts.TailnetJoin
			} else if ts.ControlURL != "" || tsKeyFile != "" || ts.Hostname != "" {
				return usageError{errors.New("--tailscale-control-url, --tailscale-hostname and --tailscale-auth-key-file go with --tailscale")}
			}
			if initIfNew {
				if err := initIfNoHub(cfg, stdout); err != nil {
					return err
				}
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			h, err := Start(cfg)
			if err != nil {
				return err
			}
			chain, _ := h.Node().Status(ctx)
			network := ""
			if chain != nil {
				network = chain.NodeInfo.Network
			}
			fmt.Fprintf(stdout, "camchaind: hub %s ready\n  chain: %s\n  API:   %s/api/v1/status\n  link:  %s (cameras)\n  pin:   %s (camera-link TLS key)\n  data:  %s\n",
				h.Address().Hex(), network, h.BaseURL(), h.LinkAddr(), h.linkID.Pin, cfg.DataDir)
			if h.tlsOn {
				printTLSPin(stdout, h)
			}
			printFirstSteps(stdout, h)
			if k, ok := h.WitnessServerKey(); ok {
				fmt.Fprintf(stdout, "  witness for other hubs: --witness %s,%s\n", h.WitnessURL(), k)
			}
			printTailnet(stdout, h)
			if a := h.Integrations().MetricsAddr(); a != "" {
				fmt.Fprintf(stdout, "  metrics: http://%s/metrics\n", a)
			}
			select {
			case <-ctx.Done():
				fmt.Fprintln(stdout, "camchaind: shutting down")
			case err := <-h.Done():
				fmt.Fprintf(stderr, "camchaind: API server stopped: %v\n", err)
			}
			return h.Close()
		},
	}
	runCmd.Flags().StringVar(&cfg.HTTPAddr, "http", DefaultHTTPAddr, "API listen address host:port")
	runCmd.Flags().StringVar(&cfg.PassphraseFile, "passphrase-file", os.Getenv("CAMCHAIND_PASSPHRASE_FILE"), "hub key passphrase file (default <data>/keys/hub.passphrase)")
	runCmd.Flags().StringVar(&cfg.P2PListen, "p2p", "", "ledger peer listen address: the address other hubs of a network dial (default tcp://127.0.0.1:0, for a hub alone)")
	runCmd.Flags().StringVar(&cfg.LinkAddr, "link", DefaultLinkAddr, "camera link listen address host:port")
	runCmd.Flags().StringVar(&cfg.LinkAdvertise, "link-advertise", os.Getenv("CAMCHAIND_LINK_ADVERTISE"), "camera link address told to cameras at pairing (or $CAMCHAIND_LINK_ADVERTISE; default: the bound address)")
	runCmd.Flags().StringSliceVar(&cfg.Recordings, "recordings", nil, "where to keep recordings: \"disk\" (<data>/recordings) and/or s3://bucket/prefix (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or ~/.aws/credentials; segments and records are in the bucket before a camera is acknowledged); repeat or comma-separate for both (default disk)")
	runCmd.Flags().StringVar(&cfg.S3Endpoint, "s3-endpoint", "", "object store endpoint URL, e.g. http://127.0.0.1:9000 (default $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, else AWS)")
	runCmd.Flags().Int64Var(&cfg.MinFree, "min-free", DefaultMinFree, "free bytes on the recordings' disk below which the oldest checkpointed recordings are deleted whatever the retention policy, each deletion a hub/emergency-prune alarm")
	runCmd.Flags().DurationVar(&cfg.Retention, "retention", DefaultRetention, "keep recordings this long, for cameras whose owner set no retention policy on the ledger (camchain retention)")
	runCmd.Flags().IntVar(&cfg.LinkLimits.Total, "link-max-conns", link.DefaultMaxConns, "most camera link connections served at once")
	runCmd.Flags().IntVar(&cfg.LinkLimits.PerSource, "link-max-conns-per-source", link.DefaultMaxConnsPerSource, "most camera link connections from one IP address (raise it for many cameras behind one address)")
	runCmd.Flags().DurationVar(&cfg.RefusalInterval, "refusal-interval", DefaultRefusalInterval, "write the aggregated refusal records this often")
	runCmd.Flags().DurationVar(&cfg.LoginInterval, "login-interval", DefaultLoginInterval, "commit the login records' Merkle root to the ledger this often")
	runCmd.Flags().DurationVar(&cfg.LoginRetention, "login-retention", DefaultLoginRetention, "keep login records (provable against the ledger) this long after their batch is committed")
	runCmd.Flags().Var(addressFlag{&cfg.Owner}, "owner", "the hub owner's address, who may read every login record and the integrations status (default: none)")
	runCmd.Flags().BoolVar(&cfg.TLS, "tls", false, "serve the API over HTTPS on 127.0.0.1/::1/localhost too (any other --http address is HTTPS only)")
	runCmd.Flags().StringVar(&cfg.TLSCertFile, "tls-cert", "", "the API's TLS certificate chain (PEM); default: one the hub generates once and keeps in <data>/keys/api-tls.pem")
	runCmd.Flags().StringVar(&cfg.TLSKeyFile, "tls-key", "", "the key of --tls-cert (PEM)")
	runCmd.Flags().StringVar(&cfg.PublicOrigin, "public-origin", os.Getenv("CAMCHAIND_PUBLIC_ORIGIN"), "the origin users reach the API at, scheme://host[:port] (or $CAMCHAIND_PUBLIC_ORIGIN; default: the --http address)")
	runCmd.Flags().BoolVar(&initIfNew, "init", false, "if --data holds no hub yet, make one first (as `camchaind init` would); what the packages' service runs")
	runCmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	runCmd.Flags().StringVar(&cfg.MQTT.URL, "mqtt", "", "MQTT broker mqtt://[user[:password]@]host[:port] or mqtts://… (or $CAMCHAIND_MQTT); states, events and Home Assistant discovery")
	runCmd.Flags().StringVar(&cfg.MQTT.PasswordFile, "mqtt-password-file", "", "file holding the MQTT password (instead of the URL)")
	runCmd.Flags().StringVar(&cfg.MQTT.CAFile, "mqtt-ca", "", "PEM CA certificates to trust for mqtts:// (default: the system's)")
	runCmd.Flags().StringVar(&cfg.MQTT.Prefix, "mqtt-prefix", "camchain", "MQTT topic prefix")
	runCmd.Flags().StringVar(&cfg.MQTT.DiscoveryPrefix, "mqtt-discovery-prefix", "homeassistant", "Home Assistant MQTT discovery prefix")
	runCmd.Flags().StringArrayVar(&cfg.Webhooks, "webhook", nil, "POST every alarm and audit event, signed, to this URL (repeatable)")
	runCmd.Flags().StringArrayVar(&cfg.TSAs, "tsa", nil, "have this RFC 3161 Time-Stamping Authority `URL` timestamp every camera's checkpoints (repeatable; docs/SPEC.md §16.5)")
	runCmd.Flags().Var(witnessFlag{&cfg.Witnesses}, "witness", "publish every camera's checkpoints to this tlog witness: `URL,VKEY` (its submission URL and verifier key; repeatable; docs/SPEC.md §16)")
	runCmd.Flags().StringArrayVar(&cfg.WitnessLogs, "witness-log", nil, "witness another hub's camera log: its signed-note verifier `VKEY` (named by the log's origin; its owner gets it from GET /devices/{camera}/witness); this hub then cosigns that log's checkpoints at /witness/add-checkpoint, kept across restarts (repeatable; docs/SPEC.md §16.6)")
	runCmd.Flags().StringVar(&cfg.WitnessName, "witness-name", "", "the name of this hub's witness cosigning key (default camchain/v1/witness/<hub address>)")
	runCmd.Flags().StringVar(&cfg.WebhookSecretFile, "webhook-secret-file", "", "the webhooks' HMAC secret (default <data>/integrations/webhook.secret, made at the first start)")
	runCmd.Flags().StringVar(&cfg.MetricsAddr, "metrics-addr", "", "serve Prometheus /metrics on this loopback host:port (e.g. 127.0.0.1:9464)")

	runCmd.Flags().BoolVar(&tsOn, "tailscale", false, "join the owner's tailnet (embedded Tailscale) and serve the UI and API there over HTTPS; a new node needs an auth key ($"+tailnet.AuthKeyEnv+" or --tailscale-auth-key-file); state in <data>/tailscale; the camera link stays on --link")
	runCmd.Flags().StringVar(&ts.ControlURL, "tailscale-control-url", os.Getenv("CAMCHAIND_TAILSCALE_CONTROL_URL"), "the tailnet's coordination server, e.g. a headscale server's https:// URL (or $CAMCHAIND_TAILSCALE_CONTROL_URL; default: Tailscale's)")
	runCmd.Flags().StringVar(&ts.Hostname, "tailscale-hostname", "", "the hub's node name on the tailnet (default camchain)")
	runCmd.Flags().StringVar(&tsKeyFile, "tailscale-auth-key-file", "", "file holding the tailnet auth key (default $"+tailnet.AuthKeyEnv+"); needed only until the node is enrolled")

	root.AddCommand(initCmd, runCmd, identityCmd, genesisCmd, joinCmd, validatorCmd)
	if err := root.Execute(); err != nil {
		fmt.Fprintf(stderr, "camchaind: error: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

// usageError marks a command line camchaind cannot run (an unknown
// command or flag, a stray argument, a bad flag value): exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// noArgs refuses positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("%s takes no arguments, got %q; see --help", cmd.CommandPath(), args)}
	}
	return nil
}

// printTLSPin shows the API certificate's fingerprint, and as a QR code the
// login command that pins it, so that the first CLI login can check it.
func printTLSPin(w io.Writer, h *Hub) {
	origin := h.auth.Origin().String()
	cmd := "camchain login --hub " + origin + " --hub-fingerprint " + h.TLSFingerprint().String()
	var qr strings.Builder
	qrterminal.GenerateWithConfig(cmd, qrterminal.Config{Level: qrterminal.L, Writer: &qr, HalfBlocks: true,
		BlackChar: qrterminal.BLACK_BLACK, WhiteChar: qrterminal.WHITE_WHITE, BlackWhiteChar: qrterminal.BLACK_WHITE,
		WhiteBlackChar: qrterminal.WHITE_BLACK, QuietZone: 1})
	which := "generated by this hub, kept in " + h.cfg.apiTLSFile()
	if h.cfg.TLSCertFile != "" {
		which = "from " + h.cfg.TLSCertFile
	}
	fmt.Fprintf(w, "  TLS:   certificate %s\n         SHA-256 fingerprint %s\n%s  log in and pin it with:\n    %s\n",
		which, h.TLSFingerprint(), qr.String(), cmd)
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, errors.New("--log-level: want debug, info, warn or error")
	}
	return l, nil
}

// addressFlag is a command-line address (EIP-55 or lower-case hex).
type addressFlag struct{ a *keys.Address }

func (f addressFlag) String() string {
	if f.a == nil || *f.a == (keys.Address{}) {
		return ""
	}
	return f.a.Hex()
}

func (f addressFlag) Set(s string) error {
	a, err := keys.ParseAddress(s)
	if err != nil {
		return err
	}
	*f.a = a
	return nil
}

func (addressFlag) Type() string { return "address" }

// witnessFlag is the repeatable --witness URL,VKEY.
type witnessFlag struct{ ts *[]WitnessTarget }

func (f witnessFlag) String() string {
	if f.ts == nil {
		return ""
	}
	var out []string
	for _, t := range *f.ts {
		out = append(out, t.URL+","+t.Key.String())
	}
	return strings.Join(out, " ")
}

func (f witnessFlag) Set(s string) error {
	t, err := ParseWitnessTarget(s)
	if err != nil {
		return err
	}
	*f.ts = append(*f.ts, t)
	return nil
}

func (witnessFlag) Type() string { return "URL,VKEY" }
