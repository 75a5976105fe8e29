package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/apitls"
	"github.com/camchain/camchain/internal/auth"
	"github.com/camchain/camchain/internal/integrations"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/objstore"
	"github.com/camchain/camchain/internal/store"
	"github.com/camchain/camchain/internal/wallet"
)

// Hub is a running camchaind: identity, ledger node and API server.
type Hub struct {
	cfg           Config
	key           *keys.PrivateKey
	node          *ledger.Node
	srv           *http.Server
	ln            net.Listener
	done          chan error
	store         *store.Store
	linkID        *link.Identity
	linkSrv       *link.Server
	linkLn        net.Listener
	linkAdvertise string
	trees         trees
	auditQ        chan auditEvent
	alarms        *alarmLog
	budgets       *budgets
	refusals      *refusals
	wg            sync.WaitGroup // the audit and alarm loops
	evidenceSlots chan struct{}  // one per evidence bundle being served (Config.MaxEvidenceRequests)
	witnesses     *witnesses     // the witness publisher's keys, store and clients
	stop          context.CancelFunc
	auth          *auth.Service
	logins        *auth.LoginLog
	relaySlots    chan struct{}      // one per pairing relayed for a browser (maxRelays)
	sockets       sockets            // open authenticated WebSockets (wsauth.go)
	tlsOn         bool               // the API is served over HTTPS
	tlsFP         apitls.Fingerprint // its certificate's fingerprint
	tailnet       *hubTailnet        // the API on the owner's tailnet, if asked (tailnet.go)
	integ         *integrations.Service
	appends       appendSignal // wakes playback sessions (playback.go)
	parts         liveParts    // open segments' parts for live playback (liveparts.go)
	access        accessCache  // what the link forwards to cameras (access.go)
	// emergencyKick asks the emergency loop for a pass: every stored
	// segment that leaves the disk below MinFree sends one (emergency.go).
	emergencyKick chan struct{}
	emergencyMu   sync.Mutex // one emergency pass at a time (the retention loop's or a write's)
}

// Start opens the data directory, unlocks the hub key, starts the ledger
// node and begins serving the API. It returns when the hub is ready.
func Start(cfg Config) (*Hub, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkFormat(&cfg); err != nil {
		return nil, err
	}
	pass, err := readPassphrase(cfg.PassphraseFile)
	if err != nil {
		return nil, err
	}
	key, err := wallet.NewKeystore(cfg.keystoreDir(), hubScrypt).Load(pass)
	if err != nil {
		return nil, fmt.Errorf("unlock hub key: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("API address %s: %w (is another camchaind running? use --http)", cfg.HTTPAddr, err)
	}
	node, err := ledger.StartNode(ledger.NodeConfig{
		Home:          cfg.ledgerHome(),
		P2PListen:     cfg.P2PListen,
		TimeoutCommit: cfg.TimeoutCommit,
		Logger:        cfg.Logger,
		AdmitAll:      cfg.LedgerAdmitAll,
	})
	if err != nil {
		ln.Close()
		return nil, err
	}
	if ok, err := node.App.IsHub(key.Address()); err != nil || !ok {
		peers, _ := ledger.ReadPeers(cfg.ledgerHome())
		if err != nil || len(peers) == 0 {
			node.Close()
			ln.Close()
			return nil, fmt.Errorf("hub key %s is not registered in this ledger's genesis (data directory mixed up?)", key.Address().Hex())
		}
		// A hub that joined a network as a full node: it follows the
		// ledger and answers queries; cameras bind to it once the
		// validators vote it in.
		cfg.Logger.Warn("this hub is not (yet) a registered hub of the network: it follows the ledger and answers queries, but no camera can bind to it until the validators vote it in (camchaind validator vote)",
			"hub", key.Address().Hex())
	}
	h := &Hub{cfg: cfg, key: key, node: node, ln: ln, done: make(chan error, 2),
		auditQ: make(chan auditEvent, auditQueueLen), budgets: newBudgets(), refusals: newRefusals(),
		evidenceSlots: make(chan struct{}, cfg.MaxEvidenceRequests), relaySlots: make(chan struct{}, maxRelays),
		emergencyKick: make(chan struct{}, 1)}
	handler, err := h.routes()
	if err != nil {
		node.Close()
		ln.Close()
		return nil, err
	}
	if err := h.startTLS(); err != nil {
		node.Close()
		ln.Close()
		return nil, err
	}
	if err := h.startTailnet(); err != nil {
		node.Close()
		ln.Close()
		return nil, err
	}
	if h.alarms, err = openAlarmLog(cfg.alarmDir()); err != nil {
		h.closeTailnet()
		node.Close()
		ln.Close()
		return nil, err
	}
	if err := h.startAuth(); err != nil {
		h.alarms.Close()
		h.closeTailnet()
		node.Close()
		ln.Close()
		return nil, err
	}
	if err := h.startWitnesses(); err != nil {
		h.auth.Close()
		h.alarms.Close()
		h.closeTailnet()
		node.Close()
		ln.Close()
		return nil, err
	}
	if err := h.startLink(); err != nil {
		h.witnesses.store.Close()
		h.auth.Close()
		h.alarms.Close()
		h.closeTailnet()
		node.Close()
		ln.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	h.wg.Add(6)
	go h.auditLoop(ctx)
	go h.alarmLoop(ctx)
	go h.loginLoop(ctx)
	go h.retentionLoop(ctx)
	go h.emergencyLoop(ctx)
	go h.witnessLoop(ctx)
	h.srv = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// WriteTimeout bounds every response: a submission waits up to
		// submitTimeout for its block, a bundle up to evidenceTimeout to be
		// built; a bundle's stream then sets its own deadline per write
		// (evidenceWriteIdle), so a large one to a reader that keeps up is
		// not cut off.
		WriteTimeout: evidenceTimeout + 30*time.Second,
		IdleTimeout:  2 * time.Minute,
		// TLS handshake failures (a client that refused the pin, a port
		// scan) go to the hub's log at debug level, not to stderr.
		ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	go func() { h.done <- h.srv.Serve(h.ln) }()
	if h.tailnet != nil {
		go func() { h.done <- h.srv.Serve(h.tailnet.ln) }()
	}
	cfg.Logger.Info("hub ready", "hub", key.Address().Hex(), "api", h.BaseURL(), "chain", node.App.EVMChainID())
	return h, nil
}

// Addr returns the API's listening address (host:port).
func (h *Hub) Addr() string { return h.ln.Addr().String() }

// Address returns the hub's ledger identity.
func (h *Hub) Address() keys.Address { return h.key.Address() }

// Auth returns the login service.
func (h *Hub) Auth() *auth.Service { return h.auth }

// Node returns the ledger node.
func (h *Hub) Node() *ledger.Node { return h.node }

// Done is closed-with-error when the API server stops on its own.
func (h *Hub) Done() <-chan error { return h.done }

// Close stops the API (letting requests in flight finish, up to a bound),
// then the ledger node.
func (h *Hub) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := h.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = h.srv.Close()
	}
	err = errors.Join(err, h.closeTailnet())
	linkErr := h.linkSrv.Close()
	h.stop()
	h.wg.Wait()
	linkErr = errors.Join(linkErr, h.integ.Close())
	storeErr := h.store.Close()
	authErr := h.auth.Close()
	return errors.Join(err, linkErr, storeErr, authErr, h.logins.Shutdown(), h.alarms.Close(), h.witnesses.store.Close(), h.node.Close())
}

// startLink opens the recording store and starts the camera link server.
func (h *Hub) startLink() error {
	var err error
	if h.linkID, err = link.LoadOrCreateIdentity(h.cfg.linkKeyFile()); err != nil {
		return err
	}
	octx, cancel := context.WithTimeout(context.Background(), 2*objstore.OpTimeout)
	opts, err := h.storeOptions(octx)
	cancel()
	if err != nil {
		return err
	}
	h.store, err = store.Open(h.cfg.storeDir(), opts)
	if err != nil {
		return err
	}
	h.linkLn, err = net.Listen("tcp", h.cfg.LinkAddr)
	if err != nil {
		h.store.Close()
		return fmt.Errorf("camera link address %s: %w (use --link)", h.cfg.LinkAddr, err)
	}
	h.linkAdvertise = h.cfg.LinkAdvertise
	if h.linkAdvertise == "" {
		h.linkAdvertise = h.linkLn.Addr().String()
	}
	h.linkSrv = &link.Server{Identity: h.linkID, Key: h.key, Backend: linkBackend{h}, Logger: h.cfg.Logger, Limits: h.cfg.LinkLimits, Resyncs: hubResyncs{h}, Parts: &h.parts,
		Access: hubAccess{h}, Envelopes: hubEnvelopes{h}}
	// The integrations read the store and the link's live cameras, and
	// observe the link from its first session.
	if err := h.startIntegrations(); err != nil {
		h.linkLn.Close()
		h.store.Close()
		return err
	}
	h.linkSrv.Observer = h.integ.Observer()
	go h.linkSrv.Serve(h.linkLn)
	return nil
}

// LinkAddr returns the camera link's listening address.
func (h *Hub) LinkAddr() string { return h.linkLn.Addr().String() }

// Store returns the recording store.
func (h *Hub) Store() *store.Store { return h.store }
