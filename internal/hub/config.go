package hub

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/retention"

	"github.com/camchain/camchain/internal/apitls"
	"github.com/camchain/camchain/internal/auth"
	"github.com/camchain/camchain/internal/integrations"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/tailnet"
)

// DefaultHTTPAddr is where the API listens unless told otherwise: loopback
// only, so a fresh hub is not exposed to the network.
const DefaultHTTPAddr = "127.0.0.1:8080"

// DefaultLinkAddr is where cameras connect (TLS 1.3, pinned).
const DefaultLinkAddr = "127.0.0.1:8443"

// DefaultRetention is how long the hub keeps recordings when the owner
// set no policy: the default a verifier assumes (retention.DefaultHubRetention).
const DefaultRetention = retention.DefaultHubRetention

// Config configures a Hub. Zero fields take the defaults in Validate.
type Config struct {
	DataDir        string
	HTTPAddr       string        // host:port; port 0 picks a free one
	PassphraseFile string        // default <DataDir>/keys/hub.passphrase
	P2PListen      string        // CometBFT peer address; default loopback, any port
	LinkAddr       string        // camera link listen address; default DefaultLinkAddr
	LinkAdvertise  string        // link address given to cameras at pairing; default the bound address
	Retention      time.Duration // keep recordings this long unless the owner's ledger policy says otherwise; default 30 days
	// RetentionInterval is how often the hub's retention pass runs
	// (retention.go); default DefaultRetentionInterval.
	RetentionInterval time.Duration
	// Held, when set, keeps a segment whatever its age and policy, besides
	// the owner's legal holds on the ledger (SPEC §14.4), which the hub
	// always honours (heldFor).
	Held HeldFunc
	// MinFree is the free space (bytes) on the recordings' file system
	// below which the hub deletes its oldest checkpointed recordings
	// whatever their policy, loudly (emergency.go); default DefaultMinFree.
	MinFree int64
	// DiskFree measures that free space; default statfs(2). Tests inject one.
	DiskFree DiskFreeFunc
	// LinkLimits bounds connections to the camera link, in total and per
	// source address (defaults link.DefaultMaxConns, DefaultMaxConnsPerSource).
	LinkLimits link.ConnLimits
	// MaxEvidenceRequests caps the evidence bundles built and sent at once
	// (default DefaultMaxEvidenceRequests); more are refused with 503.
	MaxEvidenceRequests int
	TimeoutCommit       time.Duration
	// RefusalInterval is how often the aggregated refusal records are
	// written (docs/SPEC.md §4.1); default DefaultRefusalInterval.
	RefusalInterval time.Duration
	// LoginInterval is how often the login records' root is committed
	// (docs/SPEC.md §11.7); default DefaultLoginInterval.
	LoginInterval time.Duration
	// LoginRetention is how long the hub keeps login records once their
	// batch is on the ledger (provable by GET /auth/logins/{record});
	// default DefaultLoginRetention.
	LoginRetention time.Duration
	// Owner is the hub's owner, who may read every login record of the
	// hub (GET /auth/logins/{record}) and the hub's integrations status
	// (GET /integrations); zero: nobody but each record's address, and
	// no one the status.
	Owner  keys.Address
	Logger *slog.Logger
	// LedgerAdmitAll: tests only, the ledger's CheckTx admits every
	// transaction (ledger.Config.AdmitAll), so blocks can hold refused ones.
	LedgerAdmitAll bool
	// PublicOrigin is the origin (scheme://host[:port]) users reach the API
	// at, which sign-in messages must name; default http(s):// and the
	// bound address.
	PublicOrigin string
	// TLS serves the API over HTTPS even on 127.0.0.1, ::1 or localhost.
	// Any other listen address serves HTTPS only, whatever TLS says
	// (apitls.PlainHTTPAllowed).
	TLS bool
	// TLSCertFile and TLSKeyFile are the user's own certificate (PEM chain)
	// and key; both or neither. Without them an HTTPS hub generates one
	// certificate once and keeps it in <DataDir>/keys/api-tls.pem.
	TLSCertFile, TLSKeyFile string
	// AuthLimits are the failed-login rate limits; zero fields take the
	// defaults of internal/auth.
	AuthLimits auth.Limits
	// BenchNoAuthz: benchmarks only, to measure what authorization costs:
	// every token check is skipped and the caller is treated as the owner.
	BenchNoAuthz bool

	// Integrations (internal/integrations, docs/SPEC.md §13): an MQTT
	// broker, webhook receivers and their shared secret's file (default
	// <data>/integrations/webhook.secret, made at the first start), and the
	// loopback address of /metrics.
	MQTT              integrations.MQTTConfig
	Webhooks          []string
	WebhookSecretFile string
	MetricsAddr       string
	// Delivery backoff, MQTT state interval and the shortest time between
	// two MQTT states that differ only in progress; zero: the defaults of
	// internal/integrations (tests shorten them).
	IntegrationRetryMin, IntegrationRetryMax time.Duration
	IntegrationStateInterval                 time.Duration
	IntegrationHeadInterval                  time.Duration

	// Witnesses are the tlog witnesses the hub publishes each camera's
	// checkpoints to (docs/SPEC.md §16); WitnessInterval is how often it
	// looks for new ones (default DefaultWitnessInterval).
	Witnesses       []WitnessTarget
	WitnessInterval time.Duration
	// WitnessLogs are other hubs' logs (their signed-note verifier keys,
	// named by origin) that this hub witnesses: it cosigns their
	// checkpoints at POST /witness/add-checkpoint (docs/SPEC.md §16.6),
	// keeping each log's last tree, and every log added before, in
	// <data>/witness/server/. WitnessName names its cosigning key (default
	// DefaultWitnessName of the hub's address).
	WitnessLogs []string
	WitnessName string
	// TSAs are the RFC 3161 Time-Stamping Authorities (their URLs) that
	// timestamp each camera's checkpoints (docs/SPEC.md §16.5).
	TSAs []string
	// Recordings is where the hub keeps its copy of recordings (segments
	// and records): RecordingsDisk (<DataDir>/recordings) and/or one
	// s3://bucket/prefix; default the disk alone. With a bucket alone, the
	// disk keeps the chains' records logs (the index) but no segments.
	Recordings []string
	// S3Endpoint overrides the object store's endpoint (default
	// AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS's).
	S3Endpoint string

	// Tailnet, when set, puts the UI and API on the owner's tailnet too
	// (tailnet.go, docs/SPEC.md §11.12), joined by TailnetJoin (cmd/camchaind
	// passes internal/tailnet/tsnode's); its Dir defaults to
	// <DataDir>/tailscale. The camera link is never served there.
	Tailnet     *tailnet.Config
	TailnetJoin tailnet.Joiner
}

// Validate fills defaults and checks the configuration.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("no data directory: pass --data DIR")
	}
	if _, err := parseRecordings(c.Recordings); err != nil {
		return err
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = DefaultHTTPAddr
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return fmt.Errorf("--http %q: want host:port (e.g. %s)", c.HTTPAddr, DefaultHTTPAddr)
	}
	host, _, _ := net.SplitHostPort(c.HTTPAddr)
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.TLSCertFile != "" || !apitls.PlainHTTPAllowed(host) {
		c.TLS = true
	}
	if c.PublicOrigin != "" {
		o, err := signin.ParseOrigin(c.PublicOrigin)
		if err != nil {
			return fmt.Errorf("--public-origin: %w", err)
		}
		if c.TLS && o.Scheme != "https" {
			return fmt.Errorf("--public-origin %s: the API is served over HTTPS (on %s), so the origin is https://", c.PublicOrigin, c.HTTPAddr)
		}
		c.PublicOrigin = o.String()
	} else if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		return fmt.Errorf("--http %s listens on every address: set --public-origin https://<the name or address users type>", c.HTTPAddr)
	}
	if c.LinkAddr == "" {
		c.LinkAddr = DefaultLinkAddr
	}
	if _, _, err := net.SplitHostPort(c.LinkAddr); err != nil {
		return fmt.Errorf("--link %q: want host:port (e.g. %s)", c.LinkAddr, DefaultLinkAddr)
	}
	if c.RefusalInterval == 0 {
		c.RefusalInterval = DefaultRefusalInterval
	}
	if c.WitnessInterval == 0 {
		c.WitnessInterval = DefaultWitnessInterval
	}
	if c.RefusalInterval < time.Second {
		return fmt.Errorf("--refusal-interval %s: at least 1s", c.RefusalInterval)
	}
	if c.LoginInterval == 0 {
		c.LoginInterval = DefaultLoginInterval
	}
	if c.LoginInterval < time.Second {
		return fmt.Errorf("--login-interval %s: at least 1s", c.LoginInterval)
	}
	if c.LoginRetention == 0 {
		c.LoginRetention = DefaultLoginRetention
	}
	if c.LoginRetention < c.LoginInterval {
		return fmt.Errorf("--login-retention %s: at least the login interval %s", c.LoginRetention, c.LoginInterval)
	}
	if c.MinFree == 0 {
		c.MinFree = DefaultMinFree
	}
	if c.DiskFree == nil {
		c.DiskFree = statfsFree
	}
	if c.RetentionInterval == 0 {
		c.RetentionInterval = DefaultRetentionInterval
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.PassphraseFile == "" {
		c.PassphraseFile = filepath.Join(c.DataDir, "keys", "hub.passphrase")
	}
	if c.MaxEvidenceRequests == 0 {
		c.MaxEvidenceRequests = DefaultMaxEvidenceRequests
	}
	if c.MaxEvidenceRequests < 0 {
		return fmt.Errorf("MaxEvidenceRequests %d: want at least 1", c.MaxEvidenceRequests)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Tailnet != nil {
		if c.TailnetJoin == nil {
			return errors.New("--tailscale: this camchaind was built without Tailscale")
		}
		t := *c.Tailnet
		if t.Dir == "" {
			t.Dir = filepath.Join(c.DataDir, "tailscale")
		}
		if t.Logger == nil {
			t.Logger = c.Logger
		}
		if err := t.Validate(); err != nil {
			return err
		}
		c.Tailnet = &t
	}
	return nil
}

func (c *Config) keystoreDir() string { return filepath.Join(c.DataDir, "keys", "hub") }
func (c *Config) ledgerHome() string  { return filepath.Join(c.DataDir, "ledger") }
func (c *Config) formatFile() string  { return filepath.Join(c.DataDir, "FORMAT") }
func (c *Config) storeDir() string    { return filepath.Join(c.DataDir, "recordings") }
func (c *Config) authDir() string     { return filepath.Join(c.DataDir, "auth") }
func (c *Config) linkKeyFile() string { return filepath.Join(c.DataDir, "keys", "link-tls.pem") }
func (c *Config) alarmDir() string    { return filepath.Join(c.DataDir, "alarms") }
func (c *Config) apiTLSFile() string  { return filepath.Join(c.DataDir, "keys", "api-tls.pem") }
